package session

import (
	"fmt"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// The kernel keyring cache (keyring.KernelCache) lets `token` answer without
// the keychain: Cached reads it, Fill writes it after the normal path, and
// every use case that replaces or removes a token (refresh and mint under
// the account's lock, login, logout; cmd's `client set`/`unset`) calls
// invalidateCache before it touches the store, so that no process prints a
// token that another one has replaced or revoked. A writer binds each copy
// to the bytes of the account index as it read them before it read the
// store; those writers also change the index, so a copy written from the
// old state meanwhile is a miss afterwards.

// cache returns the kernel cache, or nil (disabled) when there is none.
func (s *Service) cache() *keyring.KernelCache {
	if s == nil || s.Cache == nil {
		return nil
	}
	return s.Cache()
}

// invalidateCache drops the cached copies of key's token.
func (s *Service) invalidateCache(key keyring.Key) { s.cache().Invalidate(key) }

// InvalidateProviderCache drops the cached tokens of all of a provider's
// accounts: `client set` and `client unset` call it.
func (s *Service) InvalidateProviderCache(provider string) {
	c := s.cache()
	if !c.Enabled() {
		return
	}
	var names []string
	// The cache exists only with the local keychain store, whose index is
	// the file under Paths.
	if p, err := s.Paths(); err == nil {
		if ix, err := keyring.LoadIndex(p.Index); err == nil {
			for _, a := range ix.ProviderAccounts(provider) {
				names = append(names, a.Account)
			}
		}
	}
	c.InvalidateProvider(provider, names)
}

// CachedToken is a token the kernel cache answered with: the account it
// belongs to (provider, account name and scopes only), the record to print
// (the access token, its expiry and scopes; no refresh or ID token) and the
// warnings the normal path would have printed with it.
type CachedToken struct {
	Account  *keyring.Account
	Record   *keyring.Record
	Warnings []Warning
}

// Cached answers `token [PROVIDER] [--account NAME]` from the kernel cache
// when it can: o asks for the access token (not --id-token, not
// --force-refresh), the cache holds a copy written under the current account
// index, the token stays valid for the margin Acquire would require (o.MinTTL,
// or less for a short-lived token without --min-ttl), and for a client_credentials
// account the environment names no other client. Steps: read the index
// file, one keyctl search, describe and read. A nil token means: run
// ResolveAccount and Acquire, then Fill with index, the index file's bytes
// this call read (nil when there is nothing to fill). The file is read once
// and before ResolveAccount, so that a copy is bound to the state from
// before the store was read.
func (s *Service) Cached(provider, account string, o AcquireOptions) (ct *CachedToken, index []byte) {
	c := s.cache()
	if !c.Enabled() || o.Force || o.IDToken {
		return nil, nil
	}
	index = s.cacheIndex()
	if index == nil {
		return nil, nil
	}
	t, ok := c.Get(keyring.CacheRequest{Provider: provider, Account: account}, index)
	if !ok {
		return nil, index
	}
	now := s.Now()
	rec := &keyring.Record{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry, IssuedAt: t.IssuedAt, Scopes: t.Scopes}
	if !rec.Expiry.IsZero() && rec.Expiry.Sub(now) < o.margin(recLifetime(rec)) {
		return nil, index // as Acquire's fresh judges it
	}
	if t.Grant == auth.GrantClientCredentials {
		if id := s.Getenv(auth.ClientIDEnv(t.Provider)); id != "" && id != t.ClientID {
			return nil, index
		}
	}
	ct = &CachedToken{
		Account: &keyring.Account{Provider: t.Provider, Account: t.Account, Scopes: t.Scopes, Grant: t.Grant, ClientID: t.ClientID},
		Record:  rec,
	}
	if w, ok := refreshExpiring(t.Key(), t.RefreshExpiry, now); ok {
		ct.Warnings = []Warning{w}
	}
	return ct, index
}

// cacheIndex returns the account index file's bytes; nil when there is no
// cache (or no index).
func (s *Service) cacheIndex() []byte {
	if !s.cache().Enabled() {
		return nil
	}
	paths, err := s.Paths()
	if err != nil {
		return nil
	}
	index, err := keyring.ReadIndexFile(paths.Index)
	if err != nil {
		return nil
	}
	return index
}

// Fill copies the access token that Acquire returned for acct into the
// kernel cache as the answer to `token provider --account account` under
// index (from Cached). It copies nothing for --id-token or
// --force-refresh, for an account whose refresh token was rejected, or when
// Acquire warned about anything but an expiring refresh token (Cached
// repeats that one): a served token those warnings accompany must keep
// taking the normal path.
func (s *Service) Fill(provider, account string, index []byte, acct *keyring.Account, rec *keyring.Record, o AcquireOptions, warnings []Warning) {
	if index == nil || o.IDToken || o.Force || acct.LoginRequired {
		return
	}
	for _, w := range warnings {
		if w.Kind != WarnRefreshExpiring {
			return
		}
	}
	scopes := rec.Scopes
	if scopes == nil {
		scopes = acct.Scopes
	}
	t := &keyring.CachedToken{Provider: acct.Provider, Account: acct.Account, Grant: acct.Grant, ClientID: acct.ClientID,
		AccessToken: rec.AccessToken, Expiry: rec.Expiry, IssuedAt: rec.IssuedAt, Scopes: scopes}
	if rec.RefreshToken != "" {
		t.RefreshExpiry = rec.RefreshExpiry
	}
	_ = s.cache().Put(keyring.CacheRequest{Provider: provider, Account: account}, index, t)
}

// refreshExpiring is the warning about a refresh token that runs out within
// refreshExpiryWarning, as Acquire gives it with a served token.
func refreshExpiring(key keyring.Key, refreshExpiry, now time.Time) (Warning, bool) {
	if refreshExpiry.IsZero() || refreshExpiry.Sub(now) >= refreshExpiryWarning {
		return Warning{}, false
	}
	return Warning{Kind: WarnRefreshExpiring, Msg: fmt.Sprintf("the refresh token of %s expires in %s; run: oauthctl login %s",
		key, human.Duration(refreshExpiry.Sub(now)), key.Provider)}, true
}
