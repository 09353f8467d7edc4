package cmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/session"
)

// SwitchOptions are the inputs of `oauthctl switch`.
type SwitchOptions struct {
	IO *iostreams.IOStreams
	// Session carries the use cases (Factory.Session).
	Session *session.Service

	Provider string
	Account  string
}

// NewCmdSwitch builds `oauthctl switch`.
func NewCmdSwitch(f *Factory, runF func(*SwitchOptions) error) *cobra.Command {
	opts := &SwitchOptions{IO: f.IO, Session: f.Session()}
	c := &cobra.Command{
		Use:   "switch PROVIDER ACCOUNT",
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

// switchRun sets the default (session.Switch) and says so on stderr.
func switchRun(ctx context.Context, opts *SwitchOptions) error {
	chosen, previous, err := opts.Session.Switch(ctx, opts.Provider, opts.Account)
	if err != nil {
		return err
	}
	if chosen == previous {
		fmt.Fprintf(opts.IO.ErrOut, "%s is already the default %s account.\n", chosen, opts.Provider)
	} else {
		fmt.Fprintln(opts.IO.ErrOut, opts.IO.ErrColorScheme().Success(fmt.Sprintf("%s is now the default %s account.", chosen, opts.Provider)))
	}
	return nil
}
