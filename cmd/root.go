// Package cmd holds oauthctl's cobra commands, the Factory that wires their
// dependencies, and the single mapping from errors to exit codes.
package cmd

import (
	"context"
	"fmt"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/internal/iostreams"
)

// Main runs oauthctl with args (without the program name) and returns the
// exit code. It prints every error once, as "oauthctl: ...", on stderr, and
// turns a panic into exit 1 without a Go stack.
func Main(ctx context.Context, args []string, builtinProviders []byte, version string) (code int) {
	io := iostreams.System()
	f := NewFactory(io, builtinProviders, version)
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(io.ErrOut, "oauthctl: internal error: %v\n", r)
			if f.Getenv("OAUTHCTL_DEBUG") != "" {
				fmt.Fprintf(io.ErrOut, "%s\n", debug.Stack())
			}
			code = ExitError
		}
	}()
	return Run(ctx, f, args)
}

// Run executes the command line against a Factory and returns the exit code.
func Run(ctx context.Context, f *Factory, args []string) int {
	var root *cobra.Command
	if len(args) > 0 && args[0] == "token" {
		// `oauthctl token` is what scripts run many times a minute: build
		// only its command, so that a fresh process does not fault in the
		// code of every other command (TestTokenFastPathTree checks that
		// the result is indistinguishable).
		root = newRootCommand(f)
		root.AddCommand(NewCmdToken(f, nil))
	} else {
		root = NewCmdRoot(f)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	if err != nil {
		fmt.Fprint(f.IO.ErrOut, errorText(classifyCobraError(err)))
	}
	return ExitCode(err2usage(err))
}

// NewCmdRoot builds the command tree.
func NewCmdRoot(f *Factory) *cobra.Command {
	root := newRootCommand(f)
	root.AddCommand(
		NewCmdProviders(f, nil),
		NewCmdLogin(f, nil),
		NewCmdToken(f, nil),
		NewCmdExec(f, nil),
		NewCmdStatus(f, nil),
		NewCmdSwitch(f, nil),
		NewCmdLogout(f, nil),
		NewCmdWhoami(f, nil),
		NewCmdClient(f, nil),
	)
	return root
}

// newRootCommand is the root command without subcommands.
func newRootCommand(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "oauthctl <command>",
		Short: "Sign in to OAuth 2.0 / OpenID Connect providers and hand access tokens to scripts",
		Long: `oauthctl signs you in to an OAuth 2.0 or OpenID Connect provider from the
terminal, keeps the tokens in the OS keychain, and prints fresh access tokens
for scripts, refreshing them when needed.

Built-in providers: google, github, microsoft, gitlab; add your own in
~/.config/oauthctl/providers.yaml.`,
		Example: `  oauthctl login google
  curl -H "Authorization: Bearer $(oauthctl token google)" https://openidconnect.googleapis.com/v1/userinfo
  oauthctl providers`,
		Version:       f.Version,
		SilenceErrors: true,
		SilenceUsage:  true,
		Args:          noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			return c.Help()
		},
	}
	root.SetOut(f.IO.Out)
	root.SetErr(f.IO.ErrOut)
	root.SetIn(f.IO.In)
	root.SetVersionTemplate("oauthctl {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &UsageError{Msg: err.Error() + " (see: " + c.CommandPath() + " --help)"}
	})
	root.CompletionOptions.HiddenDefaultCmd = false

	return root
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return usageErrorf("unknown command %q for %q (see: %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
		}
		return usageErrorf("%s takes no arguments", commandName(cmd))
	}
	return nil
}

// rangeArgs accepts between min and max positional arguments. The error
// names the command without the program name (errorText adds "oauthctl: ")
// and the arguments from its Use line, e.g. "login takes 1 argument,
// PROVIDER (usage: oauthctl login PROVIDER [flags])".
func rangeArgs(min, max int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= min && len(args) <= max {
			return nil
		}
		var n string
		switch {
		case min == max:
			n = plural(min, "argument")
		case min == 0:
			n = "at most " + plural(max, "argument")
		default:
			n = fmt.Sprintf("%d to %d arguments", min, max)
		}
		what := commandName(cmd) + " takes " + n
		if names := argNames(cmd); names != "" {
			what += ", " + names
		}
		return usageErrorf("%s (usage: %s)", what, cmd.UseLine())
	}
}

// commandName is cmd's path without the program name: "client set".
func commandName(cmd *cobra.Command) string {
	if cmd.HasParent() {
		return strings.TrimPrefix(cmd.CommandPath(), cmd.Root().Name()+" ")
	}
	return cmd.Name()
}

// argNames are the positional arguments of cmd's Use line.
func argNames(cmd *cobra.Command) string {
	f := strings.Fields(cmd.Use)
	if len(f) < 2 {
		return ""
	}
	var names []string
	for _, a := range f[1:] {
		if a != "[flags]" {
			names = append(names, a)
		}
	}
	return strings.Join(names, " ")
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return fmt.Sprintf("%d %ss", n, what)
}

// classifyCobraError turns cobra's own plain errors (unknown command,
// flag problems it reports without the flag error func) into usage errors.
func classifyCobraError(err error) error { return err2usage(err) }

func err2usage(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "required flag", "if any flags in the group", "accepts ", "requires at least"} {
		if strings.HasPrefix(msg, p) {
			return &UsageError{Msg: msg}
		}
	}
	return err
}
