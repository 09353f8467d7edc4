package session

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// LogoutRequest names the accounts to log out: the provider's default
// account, Account, or with All every account of the provider.
type LogoutRequest struct {
	Provider string
	Account  string
	All      bool
}

// LogoutPlan is what PlanLogout settled: the accounts to log out and the
// provider's configuration to revoke with.
type LogoutPlan struct {
	paths keyring.Paths
	state keyring.StateStore
	// Accounts are the accounts to log out, in order.
	Accounts []keyring.Account
	// Provider is the provider's configuration, nil when it has none (a
	// provider removed from providers.yaml can still be logged out of,
	// without revocation).
	Provider    *auth.Provider
	providerErr error
}

// LogoutResult says what LogoutAccount did besides deleting the local copy.
type LogoutResult struct {
	Account keyring.Account
	// RevokeErr is nil when the tokens were revoked; else why not:
	// ErrNothingToRevoke, a *BindingError (nothing was sent),
	// auth.ErrNoRevocationEndpoint, a *MissingSecretError, or the failure.
	RevokeErr error
	// Warnings are to be printed before the result.
	Warnings []Warning
	// WasDefault is set when the account was the provider's default;
	// NewDefault then names the account that is the default now, "" when
	// the provider has none left. A logout must say so: the next
	// `oauthctl token PROVIDER` prints the new default's token.
	WasDefault bool
	NewDefault string
}

// PlanLogout picks the accounts from the index (the default, Account or
// All; an account missing from the index but present in the keychain is
// cleaned up too) and looks the provider up.
func (s *Service) PlanLogout(ctx context.Context, req LogoutRequest) (*LogoutPlan, error) {
	paths, err := s.Paths()
	if err != nil {
		return nil, err
	}
	state, err := s.state()
	if err != nil {
		return nil, err
	}
	ix, err := state.LoadIndex(ctx)
	if err != nil {
		return nil, err
	}
	targets, err := s.logoutTargets(ctx, req, ix)
	if err != nil {
		return nil, err
	}
	p, perr := lookupProvider(s.Catalogue, req.Provider)
	return &LogoutPlan{paths: paths, state: state, Accounts: targets, Provider: p, providerErr: perr}, nil
}

// revokeTimeout bounds the revocation of one account at logout: two
// requests (refresh and access token) and one Retry-After pause. Logout
// must end even when the provider does not answer.
const revokeTimeout = 45 * time.Second

// logoutTargets resolves which accounts to log out.
func (s *Service) logoutTargets(ctx context.Context, req LogoutRequest, ix *keyring.Index) ([]keyring.Account, error) {
	accts := ix.ProviderAccounts(req.Provider)
	switch {
	case req.All && len(accts) > 0:
		return accts, nil
	case req.Account != "":
		if a := ix.Find(req.Provider, req.Account); a != nil {
			return []keyring.Account{*a}, nil
		}
		// Not in the index: a leftover in the keychain (an index that was
		// deleted or restored from a backup) is still worth deleting.
		if st, err := s.Store(); err == nil {
			if _, err := st.Load(ctx, keyring.Key{Provider: req.Provider, Account: req.Account}); err == nil || errors.Is(err, keyring.ErrCorrupt) {
				return []keyring.Account{{Provider: req.Provider, Account: req.Account}}, nil
			}
		}
		if len(accts) > 0 {
			names := make([]string, len(accts))
			for i, a := range accts {
				names[i] = a.Account
			}
			return nil, fmt.Errorf("%w: no %s account %q (accounts: %s)", keyring.ErrNotFound, req.Provider, req.Account, strings.Join(names, ", "))
		}
	case len(accts) > 0:
		if a := ix.Find(req.Provider, ix.Defaults[req.Provider]); a != nil {
			return []keyring.Account{*a}, nil
		}
		return accts[:1], nil
	}
	// Nothing stored: an unknown provider name is a usage error listing
	// the known ones.
	if cat, err := s.Catalogue(); err == nil {
		if _, err := cat.Get(req.Provider); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: not logged in to %s", keyring.ErrNotFound, req.Provider)
}

// LogoutAccount logs out one account of plan. Its steps:
//  1. take the account's refresh lock, so that a concurrent `token` cannot
//     write refreshed tokens back after the delete;
//  2. read the tokens (a missing or unreadable record has nothing to
//     revoke);
//  3. revoke them, best effort and bounded, only at the endpoint of the
//     configuration the tokens were issued for (docs/security.md §3.6): when
//     providers.yaml changed since the login, nothing is sent and the result
//     says why;
//  4. delete the keychain record, then the index entry, whatever step 3
//     gave; a keychain that cannot delete is an error (exit 6);
//  5. return what happened for the caller to report (LogoutResult).
//
// An error means the local copy may not be deleted.
func (s *Service) LogoutAccount(ctx context.Context, plan *LogoutPlan, a keyring.Account) (*LogoutResult, error) {
	key := a.Key()
	unlock, err := keyring.Lock(ctx, plan.paths.AccountLockPath(key), keyring.DefaultLockWait)
	if err != nil {
		return nil, fmt.Errorf("logging out %s: %w", key, err)
	}
	defer unlock()

	st, err := s.Store()
	if err != nil {
		return nil, err
	}
	rec, lerr := st.Load(ctx, key)
	switch {
	case lerr == nil, errors.Is(lerr, keyring.ErrNotFound), errors.Is(lerr, keyring.ErrCorrupt):
	case ctx.Err() != nil:
		return nil, ctx.Err()
	default:
		return nil, fmt.Errorf("logging out %s: %w", key, lerr)
	}

	// Before the tokens are revoked, and again once they are deleted: no
	// process may print a revoked token from the kernel cache.
	s.invalidateCache(key)
	defer s.invalidateCache(key)
	res := &LogoutResult{Account: a}
	switch {
	case rec == nil:
		res.RevokeErr = ErrNothingToRevoke
	case CheckRecordBinding(&a, rec) != nil:
		// The index was changed outside oauthctl: send nothing, but still
		// delete the local copy (docs/security.md §3.6).
		res.RevokeErr = CheckRecordBinding(&a, rec)
	case plan.providerErr != nil:
		res.RevokeErr = fmt.Errorf("the provider's configuration is not usable: %w", plan.providerErr)
	default:
		res.RevokeErr = s.logoutRevoke(ctx, plan.Provider, a, rec)
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}

	if err := st.Delete(ctx, key); err != nil {
		return nil, fmt.Errorf("deleting the tokens of %s: %w", key, err)
	}
	err = plan.state.UpdateIndex(ctx, func(ix *keyring.Index) error {
		res.WasDefault = ix.Defaults[a.Provider] == a.Account
		ix.Remove(a.Provider, a.Account)
		res.NewDefault = ix.Defaults[a.Provider]
		return nil
	})
	if err != nil {
		// The secrets are gone; a stale index entry only shows in status
		// and makes `token` exit 4.
		res.Warnings = append(res.Warnings, Warning{Kind: WarnIndex,
			Msg: fmt.Sprintf("the tokens of %s are deleted, but the account index could not be updated: %s", key, err)})
	}
	return res, nil
}

// ErrNothingToRevoke means the keychain held no tokens for the account.
var ErrNothingToRevoke = errors.New("no tokens stored")

// logoutRevoke revokes rec's tokens with the client they were issued to, at
// the revocation endpoint of the current configuration, only if that
// configuration still matches the one at login (issuer, token endpoint,
// client ID, and the revocation endpoints recorded at login: bindEndpoints):
// an edited providers.yaml must not be able to collect tokens. A mismatch is
// a *BindingError, and nothing is sent.
func (s *Service) logoutRevoke(ctx context.Context, p *auth.Provider, a keyring.Account, rec *keyring.Record) error {
	if a.ClientID == "" {
		return errors.New("the account index has no metadata for this account; not sending its tokens anywhere")
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	client := s.HTTPClient()
	p, err := BindEndpoints(ctx, client, &a, p, EndpointRevocation, EndpointGrantRevocation)
	if err != nil {
		return err
	}
	secret, _, err := ResolveClientSecret(ctx, s.Getenv, s.Store, p)
	if err != nil {
		return err
	}
	creds := auth.ClientCreds{ID: a.ClientID, Secret: secret, Auth: auth.ClientAuth(a.ClientAuth)}
	err = auth.RevokeGrant(ctx, client, p, creds, rec.RefreshToken, rec.AccessToken)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("the provider did not answer within %s", human.Duration(revokeTimeout))
	}
	if secret == "" && clientRejected(err) {
		return missingSecret(p, err)
	}
	return err
}

// clientRejected reports whether err is the provider refusing the client's
// authentication (RFC 6749 §5.2 invalid_client / unauthorized_client, or an
// HTTP 401).
func clientRejected(err error) bool {
	var pe *auth.ProviderError
	return errors.As(err, &pe) && (pe.Code == "invalid_client" || pe.Code == "unauthorized_client" || pe.Status == http.StatusUnauthorized)
}

// MissingSecretError is a revocation the provider refused because it was
// sent without a client secret: none is configured for the client (or the
// stored one belongs to another client ID).
type MissingSecretError struct {
	provider string
	// otherClientID is the client ID the stored secret belongs to, if any.
	otherClientID string
	err           error
}

func missingSecret(p *auth.Provider, err error) error {
	return &MissingSecretError{provider: p.Name, otherClientID: p.ClientSecretOtherClientID, err: err}
}

func (e *MissingSecretError) Error() string {
	why := "no client secret is set"
	if e.otherClientID != "" {
		why = fmt.Sprintf("the client secret in the keychain is for another client ID (%s)", auth.Sanitize(e.otherClientID, 80))
	}
	return fmt.Sprintf("the provider needs the client secret to revoke them, and %s (%s)", why, auth.Sanitize(e.err.Error(), 200))
}

func (e *MissingSecretError) Unwrap() error { return e.err }
