package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// LogoutOptions are the inputs of `oauthctl logout`.
type LogoutOptions struct {
	IO *iostreams.IOStreams
	// Session carries the use cases (Factory.Session).
	Session *session.Service

	Provider string
	Account  string
	All      bool
}

// NewCmdLogout builds `oauthctl logout`.
func NewCmdLogout(f *Factory, runF func(*LogoutOptions) error) *cobra.Command {
	opts := &LogoutOptions{IO: f.IO, Session: f.Session()}
	c := &cobra.Command{
		Use:   "logout PROVIDER",
		Short: "Revoke an account's tokens at the provider and delete them from this machine",
		Long: `Sign out of a provider for real: revoke the account's refresh token (and access
token) at the provider's revocation endpoint (RFC 7009), then delete the tokens
from the store (the keychain, or Vault for every machine that shares it) and
the account from the index.

The stored tokens are deleted whatever the provider answers. When the provider has
no revocation endpoint (Microsoft Entra ID), or revocation fails (provider
down, timeout, rejected client), oauthctl says so on stderr with the page where
you can remove the app's access yourself.

GitHub has no RFC 7009 endpoint: oauthctl deletes the OAuth app's grant
(DELETE /applications/{client_id}/grant), which needs the client secret and
revokes every token of that app for your GitHub user, on every machine.

Without --account the provider's default account is logged out; another
account then becomes the default. Nothing is printed on stdout.

Exit status: 0 once the stored tokens are gone (even if revocation failed); 4 when
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
	c.Flags().StringVarP(&opts.Account, "account", "a", "", "the account `NAME` to log out (default: the provider's default account)")
	c.Flags().BoolVar(&opts.All, "all", false, "log out every account of the provider")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// logoutRun logs out the chosen accounts one after the other. Its steps:
//  1. pick the accounts and look the provider up (session.PlanLogout);
//  2. per account, log it out (session.LogoutAccount: revoke, delete) and
//     report on stderr, with the provider's page for removing access when
//     revocation did not happen.
//
// It stops at the first account whose stored tokens could not be deleted.
func logoutRun(ctx context.Context, opts *LogoutOptions) error {
	svc := opts.Session
	plan, err := svc.PlanLogout(ctx, session.LogoutRequest{Provider: opts.Provider, Account: opts.Account, All: opts.All})
	if err != nil {
		return err
	}
	var moved *session.LogoutResult // the last logout that moved the default
	defer func() {
		if moved != nil {
			logoutDefaultReport(opts.IO.ErrOut, moved)
		}
	}()
	for _, a := range plan.Accounts {
		res, err := svc.LogoutAccount(ctx, plan, a)
		if err != nil {
			return err
		}
		printWarnings(opts.IO.ErrOut, res.Warnings)
		logoutReport(opts.IO.ErrOut, plan.Provider, res)
		if res.WasDefault {
			moved = res
		}
	}
	return nil
}

// logoutDefaultReport says which account is the provider's default after
// the default was logged out: `oauthctl token PROVIDER` now prints its
// token, which must not come as a surprise.
func logoutDefaultReport(w io.Writer, res *session.LogoutResult) {
	p := res.Account.Provider
	if res.NewDefault == "" {
		fmt.Fprintf(w, "%s has no accounts left.\n", p)
		return
	}
	fmt.Fprintf(w, "The default account of %s is now %s: `oauthctl token %s` prints its token.\n", p, res.NewDefault, p)
}

// logoutReport says on stderr what logging out an account did.
func logoutReport(w io.Writer, p *auth.Provider, res *session.LogoutResult) {
	a, key, revokeErr := res.Account, res.Account.Key(), res.RevokeErr
	var notBound *session.BindingError
	var noSecret *session.MissingSecretError
	switch {
	case revokeErr == nil:
		fmt.Fprintf(w, "Revoked the tokens of %s at %s.\n", a.Account, a.Provider)
	case errors.Is(revokeErr, session.ErrNothingToRevoke):
		fmt.Fprintf(w, "note: no tokens of %s were stored; nothing to revoke\n", key)
	case errors.As(revokeErr, &notBound):
		fmt.Fprintf(w, "warning: the tokens of %s were not sent to the provider to revoke them: %s\n", key, auth.Sanitize(notBound.Detail(), 500))
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
	fmt.Fprintf(w, "Logged out of %s (%s); the stored tokens are deleted.\n", a.Provider, a.Account)
}

// logoutManageHint points at the page where the user removes the app's
// access by hand.
func logoutManageHint(w io.Writer, p *auth.Provider, provider string) {
	if p != nil && p.ManageURL != "" {
		fmt.Fprintf(w, "Remove the app's access by hand at %s\n", p.ManageURL)
		return
	}
	fmt.Fprintf(w, "Remove the app's access by hand in your %s account settings.\n", provider)
}
