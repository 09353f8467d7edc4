package hot

import (
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// The kernel keyring cache (keyring.KernelCache) lets `token` answer without
// the keychain: FromCache reads it, Fill writes it after the store answered,
// and every use case that replaces or removes a token (refresh and mint under
// the account's lock, login, logout, `client set`/`unset`) invalidates it
// before it touches the store, so that no process prints a token that
// another one has replaced or revoked. A writer binds each copy to the bytes
// of the account index as it read them before it read the store; those
// writers also change the index, so a copy written from the old state
// meanwhile is a miss afterwards.

// Token is a token the hot path answered with: the account it belongs to
// (from the cache: provider, account name, grant, client ID and scopes
// only), the record to print (from the cache: the access token, its expiry
// and scopes, no refresh or ID token) and the warnings to print with it.
type Token struct {
	Account  *keyring.Account
	Record   *keyring.Record
	Warnings []Warning
}

// FromCache answers `token [PROVIDER] [--account NAME]` from the kernel
// cache c when it holds a copy written under index (the account index
// file's bytes as the caller read them), the token stays valid for the
// margin o asks (as Fresh judges a stored one) and, for a
// client_credentials account, the environment names no other client.
// Steps: one keyctl search, describe and read. nil means a miss.
func FromCache(c *keyring.KernelCache, index []byte, provider, account string, o Options, now time.Time, getenv func(string) string) *Token {
	if !c.Enabled() || index == nil {
		return nil
	}
	t, ok := c.Get(keyring.CacheRequest{Provider: provider, Account: account}, index)
	if !ok {
		return nil
	}
	acct := &keyring.Account{Provider: t.Provider, Account: t.Account, Scopes: t.Scopes, Grant: t.Grant, ClientID: t.ClientID}
	rec := &keyring.Record{AccessToken: t.AccessToken, TokenType: "Bearer", Expiry: t.Expiry, IssuedAt: t.IssuedAt, Scopes: t.Scopes}
	if !Fresh(rec, o, now) || !SameClient(acct, getenv) {
		return nil
	}
	tok := &Token{Account: acct, Record: rec}
	if w, ok := RefreshExpiring(t.Key(), t.RefreshExpiry, now); ok {
		tok.Warnings = []Warning{w}
	}
	return tok
}

// Fill copies the access token of rec, which the store (or a refresh)
// just gave for acct, into the kernel cache as the answer to
// `token provider --account account` under index (read before the store
// was). It copies nothing when index is nil, for an account whose refresh
// token was rejected, or when a warning other than an expiring refresh
// token went with the token (FromCache repeats only that one): a token
// those warnings accompany must keep taking the full path.
func Fill(c *keyring.KernelCache, index []byte, provider, account string, acct *keyring.Account, rec *keyring.Record, warnings []Warning) {
	if !c.Enabled() || index == nil || acct.LoginRequired {
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
	_ = c.Put(keyring.CacheRequest{Provider: provider, Account: account}, index, t)
}
