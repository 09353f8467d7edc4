package session

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// ResolveAccount finds the account that `[PROVIDER] [--account NAME]` means
// from the index alone (no YAML, no keychain): with no provider the only
// stored account, with no account name the provider's default. Only when the
// index has no match does it consult the catalogue: a `grant:
// client_credentials` provider needs no login, so its account is made up
// (named ClientCredentialsAccount unless --account names another) and minted
// on first use; an unknown provider is a usage error that lists the known
// ones; a known one is exit 4 with the login hint.
func (s *Service) ResolveAccount(ctx context.Context, provider, account string) (*keyring.Account, error) {
	ix, err := s.openIndex(ctx)
	if err != nil {
		return nil, err
	}
	acct, err := ix.Resolve(provider, account)
	if err == nil {
		return acct, nil
	}
	if !errors.Is(err, keyring.ErrNotFound) {
		return nil, err
	}
	if provider == "" {
		return nil, WithHint(err, "run: oauthctl login PROVIDER (see: oauthctl providers)")
	}
	cat, cerr := s.Catalogue()
	if cerr != nil {
		return nil, cerr
	}
	p, cerr := cat.Get(provider)
	if cerr != nil {
		return nil, cerr
	}
	if p.Grant == auth.GrantClientCredentials {
		if account == "" {
			account = ClientCredentialsAccount
		}
		if verr := keyring.ValidateAccount(account); verr != nil {
			return nil, &UsageError{Msg: verr.Error()}
		}
		return &keyring.Account{Provider: p.Name, Account: account, Issuer: p.Issuer, TokenURL: p.TokenURL,
			ClientID: p.ClientID, Scopes: p.Scopes, Grant: auth.GrantClientCredentials, Refreshable: true}, nil
	}
	if account != "" {
		// The account named on the command line: the hint signs in to it,
		// not to the provider's default.
		return nil, WithHint(err, "run: oauthctl login %s --account %s", provider, auth.Sanitize(account, 128))
	}
	return nil, WithHint(err, "run: oauthctl login %s", provider)
}

// lookupProvider loads the catalogue and returns a copy of the named
// provider, or an error that lists the known names.
func lookupProvider(catalogue func() (*auth.Catalogue, error), name string) (*auth.Provider, error) {
	cat, err := catalogue()
	if err != nil {
		return nil, err
	}
	return cat.Get(name)
}

// Index reads the account index (`status`): the files under Paths, or
// State's.
func (s *Service) Index(ctx context.Context) (*keyring.Index, error) { return s.openIndex(ctx) }

// ListAccounts returns the accounts of provider in ix (all when ""),
// sorted by provider and account name.
func ListAccounts(ix *keyring.Index, provider string) []keyring.Account {
	var out []keyring.Account
	for _, a := range ix.Accounts {
		if provider == "" || a.Provider == provider {
			out = append(out, a)
		}
	}
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Provider != out[j].Provider {
			return out[i].Provider < out[j].Provider
		}
		return out[i].Account < out[j].Account
	})
	return out
}

// LoginRequired returns a sign-in error (a *LoginRequiredError, exit 4) for
// an account that produced a token (Acquire, which returned warnings) but
// whose refresh token the provider rejected: the index says so before or
// after the check, or the check warned about it. A client_credentials
// account mints tokens without a login and never qualifies. `status
// --check` calls it after each account's check.
func (s *Service) LoginRequired(ctx context.Context, a *keyring.Account, warnings []Warning) error {
	if a.Grant == auth.GrantClientCredentials {
		return nil
	}
	rejected := a.LoginRequired
	for _, w := range warnings {
		rejected = rejected || w.Kind == WarnRefreshRejected
	}
	cur := a
	if ix, err := s.openIndex(ctx); err == nil {
		if f := ix.Find(a.Provider, a.Account); f != nil {
			cur = f
			rejected = rejected || f.LoginRequired
		}
	}
	if !rejected {
		return nil
	}
	reason := "the provider rejected the refresh token"
	if now := s.Now(); !cur.Expiry.IsZero() && now.Before(cur.Expiry) {
		reason += "; the current access token expires in " + HumanDuration(cur.Expiry.Sub(now))
	}
	return &LoginRequiredError{Provider: a.Provider, Account: a.Account, Reason: reason}
}

// LoginRequiredError is the check result of an account that still has an
// access token but needs a new login; it matches auth.ErrReauthRequired
// (exit 4). Its text carries the login command.
type LoginRequiredError struct{ Provider, Account, Reason string }

func (e *LoginRequiredError) Error() string {
	return fmt.Sprintf("login required (%s); run: oauthctl login %s --account %s", e.Reason, e.Provider, e.Account)
}

// Unwrap returns auth.ErrReauthRequired.
func (e *LoginRequiredError) Unwrap() error { return auth.ErrReauthRequired }

// HumanDuration renders a positive duration the way people read a clock:
// "45s", "12m", "3h5m", "2d4h": to the minute, or to the hour from
// a day on (human.Duration).
func HumanDuration(d time.Duration) string {
	switch {
	case d < time.Minute:
		d = d.Truncate(time.Second)
	case d < 24*time.Hour:
		d = d.Truncate(time.Minute)
	default:
		d = d.Truncate(time.Hour)
	}
	return human.Duration(d)
}

// Switch makes the account name (an account name, or the identity of one
// account) the provider's default, and returns it and the previous default.
// It updates the index under the index lock, so a concurrent login or
// logout is not lost.
func (s *Service) Switch(ctx context.Context, provider, name string) (chosen, previous string, err error) {
	st, err := s.state()
	if err != nil {
		return "", "", err
	}
	noAccounts := false
	err = st.UpdateIndex(ctx, func(ix *keyring.Index) error {
		accts := ix.ProviderAccounts(provider)
		if len(accts) == 0 {
			noAccounts = true
			return errSwitchNothing
		}
		a, err := matchAccount(accts, provider, name)
		if err != nil {
			return err
		}
		chosen, previous = a.Account, ix.Defaults[provider]
		ix.Defaults[provider] = a.Account
		return nil
	})
	if noAccounts {
		cat, cerr := s.Catalogue()
		if cerr != nil {
			return "", "", cerr
		}
		if _, cerr := cat.Get(provider); cerr != nil {
			return "", "", cerr
		}
		return "", "", WithHint(fmt.Errorf("%w: not logged in to %s", keyring.ErrNotFound, provider),
			"run: oauthctl login %s --account %s", provider, name)
	}
	if err != nil {
		return "", "", err
	}
	return chosen, previous, nil
}

// errSwitchNothing aborts the index update when the provider has no account.
var errSwitchNothing = fmt.Errorf("%w: no accounts", keyring.ErrNotFound)

// matchAccount finds name among a provider's accounts: an exact account
// name, else the one account whose identity is name. Anything else is a
// usage error that lists the accounts.
func matchAccount(accts []keyring.Account, provider, name string) (*keyring.Account, error) {
	var byIdentity []*keyring.Account
	for i := range accts {
		if accts[i].Account == name {
			return &accts[i], nil
		}
		if accts[i].Identity != "" && accts[i].Identity == name {
			byIdentity = append(byIdentity, &accts[i])
		}
	}
	if len(byIdentity) == 1 {
		return byIdentity[0], nil
	}
	names := make([]string, len(accts))
	for i, a := range accts {
		names[i] = a.Account
	}
	return nil, &UsageError{Msg: fmt.Sprintf("no %s account %q (accounts: %s)", provider, name, strings.Join(names, ", "))}
}
