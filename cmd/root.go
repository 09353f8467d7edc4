// Package cmd holds oauthctl's cobra commands, the Factory that wires their
// dependencies, and the single mapping from errors to exit codes.
package cmd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/suggest"
)

// Main runs oauthctl with args (without the program name) and returns the
// exit code. It prints every error once, as "oauthctl: ...", on stderr, and
// turns a panic into exit 1 without a Go stack.
func Main(ctx context.Context, args []string, builtinProviders []byte, version string) (code int) {
	io := iostreams.System()
	f := NewFactory(ctx, io, builtinProviders, version)
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
		if opts, ok := parseTokenFast(args[1:]); ok {
			opts.IO, opts.Factory = f.IO, f
			return finish(ctx, f, args, "token", tokenRun(ctx, opts))
		}
		// `oauthctl token` is what scripts run many times a minute: build
		// only its command, so that a fresh process does not fault in the
		// code of every other command (TestTokenFastPathTree checks that
		// the result is indistinguishable).
		root = newRootCommand(f)
		root.AddCommand(NewCmdToken(f, nil))
	} else {
		root = NewCmdRoot(f)
	}
	if wantsVersion(args) {
		// Reading the build info costs a little: only --version pays it.
		root.Version = versionString(f.Version, debug.ReadBuildInfo)
	}
	root.SetArgs(args)
	ran, err := root.ExecuteContextC(ctx)
	name := ""
	if ran != nil {
		name = commandName(ran)
	}
	return finish(ctx, f, args, name, err)
}

// finish prints the error of a command run, if any, and returns the
// exit code. command is the command that ran ("client set"), which an
// unavailable keychain's message names.
func finish(ctx context.Context, f *Factory, args []string, command string, err error) int {
	if err == nil && ctx.Err() != nil {
		err = ctx.Err()
	}
	err = usageFromCobra(err, args)
	if err != nil {
		fmt.Fprint(f.IO.ErrOut, errorTextFor(err, command))
	}
	return ExitCode(err)
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
		NewCmdKubeCredential(f, nil),
		NewCmdSetupKube(f, nil),
		NewCmdGitCredential(f, nil),
		NewCmdSetupGit(f, nil),
		NewCmdDocs(f, nil),
	)
	root.SetHelpCommand(newHelpCommand(f))
	// The default completion command prints its help and exits 0 for a
	// shell it does not know (`completion tcsh`): make that a usage error.
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		if c.Name() == "completion" {
			c.Args = func(c *cobra.Command, args []string) error {
				if len(args) > 0 {
					var shells []string
					for _, sh := range c.Commands() {
						if sh.IsAvailableCommand() {
							shells = append(shells, sh.Name())
						}
					}
					return usageErrorf("completion: unknown shell %q (supported: %s)", args[0], strings.Join(shells, ", "))
				}
				return nil
			}
			c.RunE = func(c *cobra.Command, args []string) error { return c.Help() }
		}
	}
	markCommandInUse(root)
	return root
}

// newRootCommand is the root command without subcommands.
func newRootCommand(f *Factory) *cobra.Command {
	root := &cobra.Command{
		Use:   "oauthctl COMMAND",
		Short: "Sign in to OAuth 2.0 / OpenID Connect providers and hand access tokens to scripts",
		Long: `oauthctl signs you in to an OAuth 2.0 or OpenID Connect provider from the
terminal, keeps the tokens in the OS keychain, and prints fresh access tokens
for scripts, refreshing them when needed.

Built-in providers: google, github, microsoft, gitlab; add your own with
"oauthctl providers add" or in your providers.yaml (see "oauthctl help
environment" for where it is).`,
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
	root.SetFlagErrorFunc(flagError)
	root.SetUsageTemplate(usageTemplate(root.UsageTemplate()))
	root.CompletionOptions.HiddenDefaultCmd = false

	return root
}

// commandInUseAnnotation marks a command whose Use line names its
// subcommand already ("client COMMAND"); see usageTemplate.
const commandInUseAnnotation = "oauthctl/command-in-use"

// usageTemplate is cobra's usage template def without the second usage line
// "oauthctl client [command]" under "oauthctl client COMMAND [flags]", for
// the commands marked with commandInUseAnnotation (markCommandInUse): it
// would say the same thing twice. (cobra compiles a template only when it
// prints one: `token` pays nothing for it.)
func usageTemplate(def string) string {
	const line = "{{if .HasAvailableSubCommands}}\n  {{.CommandPath}} [command]{{end}}"
	return strings.Replace(def, line,
		"{{if and .HasAvailableSubCommands (not (index .Annotations \""+commandInUseAnnotation+"\"))}}\n  {{.CommandPath}} [command]{{end}}", 1)
}

// markCommandInUse marks c and its descendants whose Use line names a
// COMMAND and that have subcommands (usageTemplate).
func markCommandInUse(c *cobra.Command) {
	if c.HasSubCommands() && strings.Contains(" "+c.Use+" ", " COMMAND ") {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[commandInUseAnnotation] = "true"
	}
	for _, sub := range c.Commands() {
		markCommandInUse(sub)
	}
}

// flagError is the usage error for a command line cobra could not parse. An
// unknown long flag close to one of the command's own gets a "did you mean"
// line instead of the pointer to --help.
func flagError(c *cobra.Command, err error) error {
	msg := flagErrorMsg(err)
	if name, ok := strings.CutPrefix(msg, "unknown flag: --"); ok {
		if s := suggest.Names(name, flagNames(c)); len(s) > 0 {
			return withHint(&UsageError{Msg: "unknown flag: --" + auth.Sanitize(name, 40)}, "%s", suggest.Hint("--"+s[0]))
		}
	}
	return &UsageError{Msg: msg + " (see: " + c.CommandPath() + " --help)"}
}

// flagNames are the long flags c accepts and shows: its own and those it
// inherits, without hidden or deprecated ones.
func flagNames(c *cobra.Command) []string {
	var names []string
	add := func(f *pflag.Flag) {
		if !f.Hidden && f.Deprecated == "" {
			names = append(names, f.Name)
		}
	}
	c.LocalFlags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	return names
}

// flagErrorMsg is a flag parse error in words, not pflag's and strconv's
// ("invalid argument "5" for "--min-ttl" flag: time: missing unit in
// duration "5""). The value is quoted as given (shownValue), so a stray
// space shows; a duration that is well formed but beyond time.Duration's
// range (about 292 years) is said to be too large, not malformed.
func flagErrorMsg(err error) string {
	var ive *pflag.InvalidValueError
	if !errors.As(err, &ive) {
		return err.Error()
	}
	name, raw := "--"+ive.GetFlag().Name, ive.GetValue()
	value := shownValue(raw)
	switch ive.GetFlag().Value.Type() {
	case "duration":
		if durationSyntax(raw) {
			if strings.HasPrefix(raw, "-") {
				return fmt.Sprintf("%s %s is too large a negative duration (the limit is -%s)", name, value, maxDurationHours)
			}
			return fmt.Sprintf("%s %s is too large: at most %s", name, value, maxDurationHours)
		}
		return fmt.Sprintf("%s %s is not a duration: give a number and a unit, e.g. 30s, 5m or 1h", name, value)
	case "bool":
		return fmt.Sprintf("%s=%s: use %s, %s=true or %s=false", name, value, name, name, name)
	case "int", "int64", "uint", "uint64":
		return fmt.Sprintf("%s %s is not a whole number", name, value)
	}
	return err.Error()
}

// maxDurationHours is the largest duration a flag takes, in whole hours
// (math.MaxInt64 nanoseconds is 2562047h47m16.854775807s).
const maxDurationHours = "2562047h"

// shownValue is a flag value as the user gave it, for an error message: cut
// to 40 runes and Go-quoted, so that spaces, tabs and control characters
// show as such (strconv escapes every rune that is not printable, bidi
// controls included) rather than disappear.
func shownValue(v string) string {
	if r := []rune(v); len(r) > 40 {
		v = string(r[:40]) + "…"
	}
	return strconv.Quote(v)
}

// durationSyntax reports whether s has time.ParseDuration's syntax: an
// optional sign, then "0" or one or more decimal numbers each with a unit
// (ns, us, µs, μs, ms, s, m, h). time.ParseDuration gives the same error
// for a malformed duration and for one out of range; a string with this
// syntax that it rejects is out of range.
func durationSyntax(s string) bool {
	// Compiled here, on the error path only: no start-up cost.
	return regexp.MustCompile(`^[-+]?(0|((\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$`).MatchString(s)
}

// noArgs rejects positional arguments with a usage error.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		if cmd.HasSubCommands() {
			return unknownCommand(cmd, args[0])
		}
		return usageErrorf("%s takes no arguments", commandName(cmd))
	}
	return nil
}

// unknownCommand is the usage error for a subcommand name cmd does not
// have, with a "did you mean" hint when a command's name is close.
func unknownCommand(cmd *cobra.Command, name string) error {
	var names []string
	for _, c := range cmd.Commands() {
		if c.IsAvailableCommand() || c.Name() == "help" {
			names = append(names, c.Name())
			names = append(names, c.Aliases...)
		}
	}
	if s := suggest.Names(name, names); len(s) > 0 {
		return withHint(usageErrorf("unknown command %q for %q", name, cmd.CommandPath()),
			"%s", suggest.Hint(s[0]))
	}
	return usageErrorf("unknown command %q for %q (see: %s --help)", name, cmd.CommandPath(), cmd.CommandPath())
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

// usageFromCobra turns cobra's own plain errors (unknown command, flag
// problems it reports without the flag error func) into usage errors, in
// our words where cobra's read like a library's: mutually exclusive flags
// become "--json and --header cannot be used together", naming the flags in
// the order args gave them.
func usageFromCobra(err error, args []string) error {
	var ue *UsageError
	if err == nil || errors.As(err, &ue) {
		return err
	}
	msg := err.Error()
	if setList, ok := exclusiveFlags(msg); ok {
		set := strings.Fields(setList)
		pos := func(name string) int {
			for i, a := range args {
				if a == "--" {
					break
				}
				if a == "--"+name || strings.HasPrefix(a, "--"+name+"=") {
					return i
				}
			}
			return len(args)
		}
		sort.SliceStable(set, func(i, j int) bool { return pos(set[i]) < pos(set[j]) })
		for i := range set {
			set[i] = "--" + set[i]
		}
		return &UsageError{Msg: joinAnd(set) + " cannot be used together"}
	}
	for _, p := range []string{"unknown command", "unknown flag", "unknown shorthand flag", "flag needs an argument",
		"invalid argument", "required flag", "if any flags in the group", "accepts ", "requires at least"} {
		if strings.HasPrefix(msg, p) {
			return &UsageError{Msg: msg}
		}
	}
	return err
}

// exclusiveFlags parses cobra's error for flags marked mutually exclusive
// ("if any flags in the group [a b c] are set none of the others can be;
// [a b] were all set") and returns the flags that were set: "a b". (Plain
// string parsing: a package-level regexp would be compiled at start-up by
// every command, `token` included.)
func exclusiveFlags(msg string) (string, bool) {
	rest, ok := strings.CutPrefix(msg, "if any flags in the group [")
	if !ok {
		return "", false
	}
	_, rest, ok = strings.Cut(rest, "] are set none of the others can be; [")
	if !ok {
		return "", false
	}
	set, ok := strings.CutSuffix(rest, "] were all set")
	return set, ok
}

// err2usage is usageFromCobra without the command line.
func err2usage(err error) error { return usageFromCobra(err, nil) }

// joinAnd joins words as "a and b" or "a, b and c".
func joinAnd(w []string) string {
	if len(w) <= 1 {
		return strings.Join(w, "")
	}
	return strings.Join(w[:len(w)-1], ", ") + " and " + w[len(w)-1]
}
