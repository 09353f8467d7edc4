package cmd

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// SwitchOptions are the inputs of `oauthctl switch`.
type SwitchOptions struct {
	IO        *iostreams.IOStreams
	Paths     func() (keyring.Paths, error)
	Catalogue func() (*auth.Catalogue, error)

	Provider string
	Account  string
}

// NewCmdSwitch builds `oauthctl switch`.
func NewCmdSwitch(f *Factory, runF func(*SwitchOptions) error) *cobra.Command {
	opts := &SwitchOptions{IO: f.IO, Paths: f.Paths, Catalogue: f.Catalogue}
	c := &cobra.Command{
		Use:   "switch <provider> <account>",
		Short: "Make another stored account the provider's default",
		Long: `Make ACCOUNT the default account of PROVIDER: the one "oauthctl token PROVIDER"
(and whoami, exec, logout) uses when --account is not given.

ACCOUNT is an account name as "oauthctl status" lists it, or the identity
(e.g. the email address) of exactly one of the provider's accounts. Only the
account index changes; no token is read or sent.

Exit status: 0; 2 when the provider has no such account (the error lists its
accounts); 4 when nothing is stored for the provider.`,
		Example: `  oauthctl switch google work@example.com
  oauthctl switch github octocat`,
		Args:              rangeArgs(2, 2),
		ValidArgsFunction: completeProviderThenAccount(f),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider, opts.Account = args[0], args[1]
			if runF != nil {
				return runF(opts)
			}
			return switchRun(c.Context(), opts)
		},
	}
	return c
}

// switchRun sets the default under the index lock, so a concurrent login or
// logout is not lost.
func switchRun(ctx context.Context, opts *SwitchOptions) error {
	paths, err := opts.Paths()
	if err != nil {
		return err
	}
	var chosen, previous string
	noAccounts := false
	err = keyring.UpdateIndex(ctx, paths, func(ix *keyring.Index) error {
		accts := ix.ProviderAccounts(opts.Provider)
		if len(accts) == 0 {
			noAccounts = true
			return errSwitchNothing
		}
		a, err := matchAccount(accts, opts.Provider, opts.Account)
		if err != nil {
			return err
		}
		chosen, previous = a.Account, ix.Defaults[opts.Provider]
		ix.Defaults[opts.Provider] = a.Account
		return nil
	})
	if noAccounts {
		cat, cerr := opts.Catalogue()
		if cerr != nil {
			return cerr
		}
		if _, cerr := cat.Get(opts.Provider); cerr != nil {
			return cerr
		}
		return withHint(fmt.Errorf("%w: not logged in to %s", keyring.ErrNotFound, opts.Provider),
			"run: oauthctl login %s --account %s", opts.Provider, opts.Account)
	}
	if err != nil {
		return err
	}
	if chosen == previous {
		fmt.Fprintf(opts.IO.ErrOut, "%s is already the default %s account.\n", chosen, opts.Provider)
	} else {
		fmt.Fprintf(opts.IO.ErrOut, "%s is now the default %s account.\n", chosen, opts.Provider)
	}
	return nil
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
	return nil, usageErrorf("no %s account %q (accounts: %s)", provider, name, strings.Join(names, ", "))
}
