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

// invalidateProviderCache drops the cached tokens of all of a provider's
// accounts: `client set` and `client unset` call it.
func (s *Service) invalidateProviderCache(provider string) {
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

// fill copies the access token that Acquire returned for acct into the
// kernel cache as the answer to `token provider --account account` under
// index (the account index file's bytes as cmd/front.Serve read them before
// the store was read): Token's last step. It copies nothing for --id-token
// or --force-refresh; hot.Fill says what else it leaves out.
func (s *Service) fill(provider, account string, index []byte, acct *keyring.Account, rec *keyring.Record, o AcquireOptions, warnings []Warning) {
	if index == nil || o.IDToken || o.Force {
		return
	}
	hot.Fill(s.cache(), index, provider, account, acct, rec, warnings)
}
