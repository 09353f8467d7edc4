package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// revokeTimeout bounds the revocation of one account at logout: two
// requests (refresh and access token) and one Retry-After pause. Logout
// must end even when the provider does not answer.
const revokeTimeout = 45 * time.Second

// LogoutOptions are the inputs of `oauthctl logout`.
type LogoutOptions struct {
	IO         *iostreams.IOStreams
	Getenv     func(string) string
	HTTPClient func() *http.Client
	Store      func() (keyring.Store, error)
	Paths      func() (keyring.Paths, error)
	Catalogue  func() (*auth.Catalogue, error)

	Provider string
	Account  string
	All      bool
}

// NewCmdLogout builds `oauthctl logout`.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO, Getenv: f.Getenv, HTTPClient: f.HTTPClient, Store: f.Store, Paths: f.Paths, Catalogue: f.Catalogue}
	c := &cobra.Command{
		Use:   "logout <provider>",
		Short: "Revoke an account's tokens at the provider and delete them from this machine",
		Long: `Sign out of a provider for real: revoke the account's refresh token (and access
token) at the provider's revocation endpoint (RFC 7009), then delete the tokens
from the keychain and the account from the index.

The local copy is deleted whatever the provider answers. When the provider has
no revocation endpoint (Microsoft Entra ID), or revocation fails (provider
down, timeout, rejected client), oauthctl says so on stderr with the page where
you can remove the app's access yourself.

GitHub has no RFC 7009 endpoint: oauthctl deletes the OAuth app's grant
(DELETE /applications/{client_id}/grant), which needs the client secret and
revokes every token of that app for your GitHub user, on every machine.

Without --account the provider's default account is logged out; another
account then becomes the default. Nothing is printed on stdout.

Exit status: 0 once the local copy is gone (even if revocation failed); 4 when
no such account is stored; 5 when another oauthctl held the account's refresh
lock for too long; 6 when the keychain could not be changed.`,
		Example: `  oauthctl logout google
  oauthctl logout google --account work@example.com
  oauthctl logout github --all`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			if opts.All && opts.Account != "" {
				return usageErrorf("--account and --all cannot be used together")
			}
			if opts.Account != "" {
				if err := keyring.ValidateAccount(opts.Account); err != nil {
					return &UsageError{Msg: err.Error()}
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return logoutRun(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Account, "account", "a", "", "log out this account instead of the provider's default")
	c.Flags().BoolVar(&opts.All, "all", false, "log out every account of the provider")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// logoutRun logs out the chosen accounts one after the other. Its steps:
//  1. pick the accounts from the index (the default, --account or --all); an
//     account missing from the index but present in the keychain is
//     cleaned up too;
//  2. look the provider up (a provider removed from providers.yaml can
//     still be logged out of, without revocation);
//  3. per account, logoutAccount.
//
// It stops at the first account whose local copy could not be deleted.
func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	paths, ix, err := openIndex(opts.Paths)
	if err != nil {
		return err
	}
	targets, err := logoutTargets(ctx, opts, ix)
	if err != nil {
		return err
	}
	p, perr := logoutProvider(opts)
	for _, a := range targets {
		if err := logoutAccount(ctx, opts, paths, p, perr, a); err != nil {
			return err
		}
	}
	return nil
}

// logoutTargets resolves which accounts to log out.
func logoutTargets(ctx context.Context, opts *LogoutOptions, ix *keyring.Index) ([]keyring.Account, error) {
	accts := ix.ProviderAccounts(opts.Provider)
	switch {
	case opts.All && len(accts) > 0:
		return accts, nil
	case opts.Account != "":
		if a := ix.Find(opts.Provider, opts.Account); a != nil {
			return []keyring.Account{*a}, nil
		}
		// Not in the index: a leftover in the keychain (an index that was
		// deleted or restored from a backup) is still worth deleting.
		if st, err := opts.Store(); err == nil {
			if _, err := st.Load(ctx, keyring.Key{Provider: opts.Provider, Account: opts.Account}); err == nil || errors.Is(err, keyring.ErrCorrupt) {
				return []keyring.Account{{Provider: opts.Provider, Account: opts.Account}}, nil
			}
		}
		if len(accts) > 0 {
			names := make([]string, len(accts))
			for i, a := range accts {
				names[i] = a.Account
			}
			return nil, fmt.Errorf("%w: no %s account %q (accounts: %s)", keyring.ErrNotFound, opts.Provider, opts.Account, strings.Join(names, ", "))
		}
	case len(accts) > 0:
		if a := ix.Find(opts.Provider, ix.Defaults[opts.Provider]); a != nil {
			return []keyring.Account{*a}, nil
		}
		return accts[:1], nil
	}
	// Nothing stored: an unknown provider name is a usage error listing
	// the known ones.
	if cat, err := opts.Catalogue(); err == nil {
		if _, err := cat.Get(opts.Provider); err != nil {
			return nil, err
		}
	}
	return nil, fmt.Errorf("%w: not logged in to %s", keyring.ErrNotFound, opts.Provider)
}

// logoutProvider returns the provider's configuration, or why there is none
// to revoke with.
func logoutProvider(opts *LogoutOptions) (*auth.Provider, error) {
	return lookupProvider(opts.Catalogue, opts.Provider)
}

// logoutAccount logs out one account. Its steps:
//  1. take the account's refresh lock, so that a concurrent `token` cannot
//     write refreshed tokens back after the delete;
//  2. read the tokens (a missing or unreadable record has nothing to
//     revoke);
//  3. revoke them, best effort and bounded, only at the endpoint of the
//     configuration the tokens were issued for (SECURITY.md B.2): when
//     providers.yaml changed since the login, nothing is sent and step 5
//     says why;
//  4. delete the keychain record, then the index entry, whatever step 3
//     gave; a keychain that cannot delete is an error (exit 6);
//  5. report on stderr, with the provider's page for removing access when
//     revocation did not happen.
func logoutAccount(ctx context.Context, opts *LogoutOptions, paths keyring.Paths, p *auth.Provider, perr error, a keyring.Account) error {
	key := a.Key()
	unlock, err := keyring.Lock(ctx, paths.AccountLockPath(key), keyring.DefaultLockWait)
	if err != nil {
		return fmt.Errorf("logging out %s: %w", key, err)
	}
	defer unlock()

	st, err := opts.Store()
	if err != nil {
		return err
	}
	rec, lerr := st.Load(ctx, key)
	switch {
	case lerr == nil, errors.Is(lerr, keyring.ErrNotFound), errors.Is(lerr, keyring.ErrCorrupt):
	case ctx.Err() != nil:
		return ctx.Err()
	default:
		return fmt.Errorf("logging out %s: %w", key, lerr)
	}

	var revokeErr error
	switch {
	case rec == nil:
		revokeErr = errNothingToRevoke
	case perr != nil:
		revokeErr = fmt.Errorf("the provider's configuration is not usable: %w", perr)
	default:
		revokeErr = logoutRevoke(ctx, opts, p, a, rec)
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}

	if err := st.Delete(ctx, key); err != nil {
		return fmt.Errorf("deleting the tokens of %s: %w", key, err)
	}
	err = keyring.UpdateIndex(ctx, paths, func(ix *keyring.Index) error {
		ix.Remove(a.Provider, a.Account)
		return nil
	})
	if err != nil {
		// The secrets are gone; a stale index entry only shows in status
		// and makes `token` exit 4.
		fmt.Fprintf(opts.IO.ErrOut, "warning: the tokens of %s are deleted, but the account index could not be updated: %s\n", key, err)
	}

	w := opts.IO.ErrOut
	var notBound *bindingError
	var noSecret *missingSecretError
	switch {
	case revokeErr == nil:
		fmt.Fprintf(w, "Revoked the tokens of %s at %s.\n", a.Account, a.Provider)
	case errors.Is(revokeErr, errNothingToRevoke):
		fmt.Fprintf(w, "note: no tokens of %s were stored in the keychain; nothing to revoke\n", key)
	case errors.As(revokeErr, &notBound):
		fmt.Fprintf(w, "warning: the tokens of %s were not sent to the provider to revoke them: %s\n", key, auth.Sanitize(notBound.detail, 500))
		logoutManageHint(w, p, a.Provider)
	case errors.Is(revokeErr, auth.ErrNoRevocationEndpoint):
		fmt.Fprintf(w, "note: %s has no token revocation endpoint; the tokens stay valid at the provider until they expire\n", a.Provider)
		logoutManageHint(w, p, a.Provider)
	case errors.As(revokeErr, &noSecret):
		fmt.Fprintf(w, "warning: could not revoke the tokens of %s at the provider: %s\n", key, noSecret.Error())
		fmt.Fprintf(w, "Set %s or run: oauthctl client set %s, so that logouts can revoke tokens.\n", auth.ClientSecretEnv(a.Provider), a.Provider)
		logoutManageHint(w, p, a.Provider)
	default:
		fmt.Fprintf(w, "warning: could not revoke the tokens of %s at the provider: %s\n", key, auth.Sanitize(revokeErr.Error(), 300))
		logoutManageHint(w, p, a.Provider)
	}
	fmt.Fprintf(w, "Logged out of %s (%s); the local copy is deleted.\n", a.Provider, a.Account)
	return nil
}

// errNothingToRevoke means the keychain held no tokens for the account.
var errNothingToRevoke = errors.New("no tokens stored")

// logoutRevoke revokes rec's tokens with the client they were issued to, at
// the revocation endpoint of the current configuration, only if that
// configuration still matches the one at login (issuer, token endpoint,
// client ID, and the revocation endpoints recorded at login: bindEndpoints):
// an edited providers.yaml must not be able to collect tokens. A mismatch is
// a *bindingError, and nothing is sent.
func logoutRevoke(ctx context.Context, opts *LogoutOptions, p *auth.Provider, a keyring.Account, rec *keyring.Record) error {
	if a.ClientID == "" {
		return errors.New("the account index has no metadata for this account; not sending its tokens anywhere")
	}
	ctx, cancel := context.WithTimeout(ctx, revokeTimeout)
	defer cancel()
	client := opts.HTTPClient()
	p, err := bindEndpoints(ctx, client, &a, p, endpointRevocation, endpointGrantRevocation)
	if err != nil {
		return err
	}
	secret, _, err := resolveClientSecret(ctx, opts.Getenv, opts.Store, p)
	if err != nil {
		return err
	}
	creds := auth.ClientCreds{ID: a.ClientID, Secret: secret}
	err = auth.RevokeGrant(ctx, client, p, creds, rec.RefreshToken, rec.AccessToken)
	if errors.Is(err, context.DeadlineExceeded) && ctx.Err() != nil {
		return fmt.Errorf("the provider did not answer within %s", revokeTimeout)
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

// missingSecretError is a revocation the provider refused because it was
// sent without a client secret: none is configured for the client (or the
// stored one belongs to another client ID).
type missingSecretError struct {
	provider string
	// otherClientID is the client ID the stored secret belongs to, if any.
	otherClientID string
	err           error
}

func missingSecret(p *auth.Provider, err error) error {
	return &missingSecretError{provider: p.Name, otherClientID: p.ClientSecretOtherClientID, err: err}
}

func (e *missingSecretError) Error() string {
	why := "no client secret is set"
	if e.otherClientID != "" {
		why = fmt.Sprintf("the client secret in the keychain is for another client ID (%s)", auth.Sanitize(e.otherClientID, 80))
	}
	return fmt.Sprintf("the provider needs the client secret to revoke them, and %s (%s)", why, auth.Sanitize(e.err.Error(), 200))
}

func (e *missingSecretError) Unwrap() error { return e.err }

// logoutManageHint points at the page where the user removes the app's
// access by hand.
func logoutManageHint(w io.Writer, p *auth.Provider, provider string) {
	if p != nil && p.ManageURL != "" {
		fmt.Fprintf(w, "Remove the app's access by hand at %s\n", p.ManageURL)
		return
	}
	fmt.Fprintf(w, "Remove the app's access by hand in your %s account settings.\n", provider)
}
