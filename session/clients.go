package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// ResolveClientSecret returns p's client secret and where it came from:
// OAUTHCTL_<NAME>_CLIENT_SECRET ("env"), else the keychain ("keychain"),
// else "" and "" (a public client). A secret missing from the keychain is
// not an error; a keychain that cannot be read is (exit 6). A keychain
// secret stored for another client ID than p's (the environment or
// providers.yaml overrides the stored client ID) is not p's: it is treated
// as missing, never sent with p's client ID.
func ResolveClientSecret(ctx context.Context, getenv func(string) string, store func() (keyring.Store, error), p *auth.Provider) (secret, source string, err error) {
	if s := getenv(auth.ClientSecretEnv(p.Name)); s != "" {
		return s, "env", nil
	}
	if p.ClientSecretOtherClientID != "" {
		return "", "", nil
	}
	st, err := store()
	if err != nil {
		return "", "", err
	}
	s, err := st.ClientSecret(ctx, p.Name)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("reading the %s client secret: %w", p.Name, err)
	}
	return s, "keychain", nil
}

// SetClientResult is what SetClient reports besides an error.
type SetClientResult struct {
	// State is where the registration was recorded: the files under Paths
	// (keyring.FileState) or Vault. cmd names it in its message.
	State keyring.StateStore
	// Effective is the client ID the provider now uses: the environment's
	// or providers.yaml's when one is configured (they take precedence),
	// else the one just stored.
	Effective string
	// OtherClientAccounts are the provider's accounts that were signed in
	// with another client ID than Effective: each needs a new login.
	OtherClientAccounts []string
}

// SetClient records the OAuth client of `oauthctl client set` for p:
// clientID, or "" to keep the client ID configured in the environment or
// providers.yaml (the caller checks there is one; the secret is then
// recorded as that client's), and secret, or "" for a public client. Its
// steps, in this order:
//
//  1. open the secret store and the state store and read the current
//     registrations (nothing is written when one of them fails);
//  2. drop p's tokens from the kernel cache: they were minted for the old
//     client, and from now on `token` takes the normal path, which checks
//     the account's client ID;
//  3. delete the stored secret, unless a new secret replaces one recorded
//     for the same client ID (then step 5 overwrites it); a secret the old
//     registration names is read first, to be put back if a later step
//     fails;
//  4. record the registration: the client ID, whether a secret is stored,
//     and for which client ID; when that fails, put back the secret of
//     step 3;
//  5. store the secret; when that fails, delete it (the write may have
//     landed; not needed when it replaced the same client's secret), then
//     put back the old registration, then its secret;
//  6. drop p's tokens from the kernel cache again, in case a `token`
//     running during steps 2-5 filled it from the old registration;
//  7. list p's accounts signed in with another client than the one now in
//     effect (a read; its failure is ignored).
//
// Why this order: the secret (keychain or Vault) and the registration
// (clients.json or Vault) are two writes that no transaction joins, and the
// process can be stopped between any two steps. Readers pair the stored
// secret with the client ID the registration records (ResolveClientSecret
// and Acquire read it unless the registration names another client), so a
// secret may sit in the store only while the registration names the client
// it belongs to. Deleting first and storing last keeps that true after
// every step, and the put-backs write the registration before the secret
// it names: a stop after step 3 leaves the old registration without its
// secret, a stop after step 4 the new one without its secret. Both fail
// closed: no secret goes out with a client ID it was not issued for; a
// provider that needs one reports it missing (exit 2, with the hint to run
// `client set`), `providers --secrets` shows "keychain (missing)", and
// `client set` or `client unset` run again completes or undoes the change.
// An error (not a stop) in step 4 or 5 puts back what was there, as far
// as the store still takes writes. Storing the secret first, as oauthctl
// did before, could leave it under no recorded client ID, or under the
// old one, and login or refresh would send it with that.
//
// Two `client set` of one provider running at once are not serialized
// across the two stores.
//
// The errors wrap the store's (keyring.ErrUnavailable and friends: exit 6).
func (s *Service) SetClient(ctx context.Context, p *auth.Provider, clientID, secret string) (*SetClientResult, error) {
	st, err := s.Store()
	if err != nil {
		return nil, err
	}
	state, err := s.state()
	if err != nil {
		return nil, err
	}
	clients, err := state.LoadClients(ctx)
	if err != nil {
		return nil, fmt.Errorf("saving the client ID: %w", err)
	}
	old, registered := clients.Providers[p.Name]
	reg := keyring.ClientRegistration{ClientID: clientID, SecretStored: secret != "", UpdatedAt: s.Now().UTC()}
	if clientID == "" && secret != "" {
		// The secret is for the client ID configured elsewhere: record
		// which, so that it is never sent with another one.
		reg.SecretClientID = p.ClientID
	}

	s.invalidateProviderCache(p.Name)
	// Overwriting in place (step 5) is safe only when the stored secret
	// already belongs to the new registration's client: then the store
	// holds that client's old or new secret at every moment.
	replaceInPlace := secret != "" && registered && old.SecretStored && old.SecretOwner() != "" && old.SecretOwner() == reg.SecretOwner()
	// oldSecret is the secret the old registration names, deleted in step
	// 3; a secret no registration names is never put back.
	var oldSecret string
	if !replaceInPlace {
		if registered && old.SecretStored {
			oldSecret, _ = st.ClientSecret(ctx, p.Name)
		}
		if err := st.DeleteClientSecret(ctx, p.Name); err != nil {
			return nil, fmt.Errorf("storing the client secret: %w", err)
		}
	}
	err = state.UpdateClients(ctx, func(c *keyring.Clients) error {
		c.Providers[p.Name] = reg
		return nil
	})
	if err != nil {
		// A failed write may still have landed (a timeout): the old
		// secret goes back only under the old registration.
		if oldSecret != "" && registeredAs(ctx, state, p.Name, old) {
			_ = st.SetClientSecret(ctx, p.Name, oldSecret)
		}
		return nil, fmt.Errorf("saving the client ID: %w", err)
	}
	if secret != "" {
		if err := st.SetClientSecret(ctx, p.Name, secret); err != nil {
			// Best effort, each step only if the one before it worked:
			// what is left without them fails closed too. The new secret
			// may have landed all the same, so it goes before the
			// registration that names it (unless both are one client's).
			var prev *keyring.ClientRegistration
			if registered {
				prev = &old
			}
			undone := replaceInPlace || st.DeleteClientSecret(ctx, p.Name) == nil
			if undone && restoreClient(ctx, state, p.Name, reg, prev) == nil && oldSecret != "" {
				_ = st.SetClientSecret(ctx, p.Name, oldSecret)
			}
			return nil, fmt.Errorf("storing the client secret: %w", err)
		}
	}
	s.invalidateProviderCache(p.Name)

	res := &SetClientResult{State: state, Effective: clientID}
	if p.ClientIDSource == "env" || p.ClientIDSource == "config" {
		res.Effective = p.ClientID
	}
	if ix, err := state.LoadIndex(ctx); err == nil {
		for _, a := range ix.ProviderAccounts(p.Name) {
			if a.ClientID != "" && a.ClientID != res.Effective {
				res.OtherClientAccounts = append(res.OtherClientAccounts, a.Account)
			}
		}
	}
	return res, nil
}

// restoreClient puts provider's registration back to prev (nil: none) if it
// is still the one this process wrote; a `client set` that ran since is
// left alone (then it returns errNotRestored).
func restoreClient(ctx context.Context, state keyring.StateStore, provider string, written keyring.ClientRegistration, prev *keyring.ClientRegistration) error {
	return state.UpdateClients(ctx, func(c *keyring.Clients) error {
		cur, ok := c.Providers[provider]
		if !ok || !sameRegistration(cur, written) {
			return errNotRestored
		}
		if prev == nil {
			delete(c.Providers, provider)
		} else {
			c.Providers[provider] = *prev
		}
		return nil
	})
}

var errNotRestored = errors.New("the registration changed meanwhile")

// registeredAs reports whether provider's recorded registration is r.
func registeredAs(ctx context.Context, state keyring.StateStore, provider string, r keyring.ClientRegistration) bool {
	c, err := state.LoadClients(ctx)
	if err != nil {
		return false
	}
	cur, ok := c.Providers[provider]
	return ok && sameRegistration(cur, r)
}

func sameRegistration(a, b keyring.ClientRegistration) bool {
	return a.ClientID == b.ClientID && a.SecretStored == b.SecretStored && a.SecretClientID == b.SecretClientID && a.UpdatedAt.Equal(b.UpdatedAt)
}

// UnsetClient removes what `oauthctl client set` stored for provider: the
// client secret and the registration. A provider no longer in the
// catalogue (removed from providers.yaml) may still have a registration to
// clean up; one with neither is an *auth.UnknownProviderError. Its steps,
// in this order:
//
//  1. read the catalogue and the registrations, open the secret store;
//  2. drop the provider's tokens from the kernel cache (as in SetClient);
//  3. delete the secret (also one no registration records);
//  4. delete the registration, if there is one;
//  5. drop the provider's tokens from the kernel cache again.
//
// The secret goes first for the reason given at SetClient: a stop between
// steps 3 and 4 leaves a registration whose secret is gone (fails closed;
// `client unset` again finishes), never a secret that no registration
// names.
func (s *Service) UnsetClient(ctx context.Context, provider string) error {
	cat, err := s.Catalogue()
	if err != nil {
		return err
	}
	state, err := s.state()
	if err != nil {
		return err
	}
	clients, err := state.LoadClients(ctx)
	if err != nil {
		return err
	}
	_, registered := clients.Providers[provider]
	var unknown *auth.UnknownProviderError
	if _, err := cat.Get(provider); errors.As(err, &unknown) && !registered {
		return err
	}
	st, err := s.Store()
	if err != nil {
		return err
	}
	s.invalidateProviderCache(provider)
	if err := st.DeleteClientSecret(ctx, provider); err != nil {
		return fmt.Errorf("removing the client secret: %w", err)
	}
	if registered {
		err = state.UpdateClients(ctx, func(c *keyring.Clients) error {
			delete(c.Providers, provider)
			return nil
		})
		if err != nil {
			return fmt.Errorf("removing the client ID: %w", err)
		}
	}
	s.invalidateProviderCache(provider)
	return nil
}
