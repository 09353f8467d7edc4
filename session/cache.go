package session

import (
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// The kernel keyring cache's rules are in session/hot (see FromCache and
// Fill there); these methods wire it to the Service's dependencies.

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

// CachedToken is a token the kernel cache answered with (hot.Token).
type CachedToken = hot.Token

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
	return hot.FromCache(c, index, provider, account, o.hot(), s.Now(), s.Getenv), index
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
	if index == nil || o.IDToken || o.Force {
		return
	}
	hot.Fill(s.cache(), index, provider, account, acct, rec, warnings)
}
