package cmd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/session"
)

// DefaultExecEnv is the variable `oauthctl exec` puts the access token in.
const DefaultExecEnv = "OAUTHCTL_ACCESS_TOKEN"

// ExecOptions are the inputs of `oauthctl exec`.
type ExecOptions struct {
	IO      *iostreams.IOStreams
	Factory *Factory
	// Environ is the environment the command inherits (os.Environ).
	Environ func() []string

	Provider string
	Account  string
	Env      string
	MinTTL   time.Duration
	// MinTTLSet is true when --min-ttl was given; otherwise the margin
	// adapts to the token's lifetime (session.AcquireOptions.MinTTLSet).
	MinTTLSet bool
	Command   []string

	// LockWait and Retry are as in TokenOptions.
	LockWait time.Duration
	Retry    auth.RetryPolicy
}

// ExitStatusError makes oauthctl exit with Code: `exec` passes on its
// command's status this way. With Err nil nothing is printed (the command
// spoke for itself).
type ExitStatusError struct {
	Code int
	Err  error
}

func (e *ExitStatusError) Error() string {
	if e.Err != nil {
		return e.Err.Error()
	}
	return fmt.Sprintf("the command exited with status %d", e.Code)
}

// Unwrap returns the cause, if any.
func (e *ExitStatusError) Unwrap() error { return e.Err }

// NewCmdExec builds `oauthctl exec`.
func NewCmdExec(f *Factory, runF func(*ExecOptions) error) *cobra.Command {
	opts := &ExecOptions{IO: f.IO, Factory: f, Environ: os.Environ}
	c := &cobra.Command{
		Use:   "exec [PROVIDER] [flags] -- COMMAND [ARG...]",
		Short: "Run a command with a fresh access token in its environment",
		Long: `Run COMMAND with a fresh access token in the environment variable
OAUTHCTL_ACCESS_TOKEN (or the one --env names), with stdin, stdout and stderr
passed through. oauthctl exits with the command's status (128+N when a signal
N killed it); SIGTERM and SIGHUP sent to oauthctl are passed on to it.

The token is got exactly as by "oauthctl token" (refreshed or minted when
needed) and never appears in oauthctl's own output, or in any process's
argv. It is fixed for the command's lifetime: use --min-ttl so that it
outlives the command. Errors before the command starts use token's exit
codes; 127 means the command was not found, 126 that it could not be run.`,
		Example: `  oauthctl exec google -- sh -c 'curl -H "Authorization: Bearer $OAUTHCTL_ACCESS_TOKEN" https://openidconnect.googleapis.com/v1/userinfo'
  oauthctl exec github --env GH_TOKEN -- gh repo list
  oauthctl exec myapi --min-ttl 30m -- ./long-job.sh`,
		Args: func(c *cobra.Command, args []string) error {
			dash := c.ArgsLenAtDash()
			if dash < 0 && len(args) <= 1 || dash >= 0 && len(args) == dash {
				return usageErrorf("no command given: oauthctl exec PROVIDER -- COMMAND [ARG...]")
			}
			if dash < 0 {
				return usageErrorf("put -- before the command (usage: %s)", c.UseLine())
			}
			if dash > 1 {
				return usageErrorf("exec takes one PROVIDER before -- (usage: %s)", c.UseLine())
			}
			return nil
		},
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			dash := c.ArgsLenAtDash()
			if dash == 1 {
				opts.Provider = args[0]
			}
			opts.Command = args[dash:]
			if err := checkExecEnv(opts.Env); err != nil {
				return err
			}
			opts.MinTTLSet = c.Flags().Changed("min-ttl")
			if !opts.MinTTLSet {
				opts.MinTTL = DefaultMinTTL
			}
			if opts.MinTTL < 0 {
				return usageErrorf("--min-ttl must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return execRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "the account `NAME` (default: the provider's default account)")
	fl.StringVar(&opts.Env, "env", DefaultExecEnv, "the environment variable `NAME` that carries the token")
	fl.DurationVar(&opts.MinTTL, "min-ttl", 0, "refresh unless the access token stays valid at least this long (default: 1m, or half the lifetime the provider grants its tokens if that is shorter)")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// checkExecEnv refuses a variable name that is not portable, or one whose
// replacement by a token would break the command or change what runs
// (PATH, the dynamic loader's variables).
func checkExecEnv(name string) error {
	if !isEnvName(name) {
		return usageErrorf("--env %q is not a valid environment variable name (letters, digits and _, not starting with a digit)", name)
	}
	up := strings.ToUpper(name)
	switch {
	case up == "PATH", up == "HOME", up == "IFS", up == "SHELL", up == "ENV", up == "BASH_ENV",
		strings.HasPrefix(up, "LD_"), strings.HasPrefix(up, "DYLD_"):
		return usageErrorf("--env %s would replace a variable the command needs; choose another name", name)
	}
	return nil
}

// isEnvName reports whether name is a portable environment variable name:
// letters, digits and '_', not starting with a digit.
func isEnvName(name string) bool {
	for i, r := range name {
		switch {
		case r == '_', r >= 'A' && r <= 'Z', r >= 'a' && r <= 'z':
		case r >= '0' && r <= '9' && i > 0:
		default:
			return false
		}
	}
	return name != ""
}

// execRun gets a fresh token like `token`, then runs the command with it in
// the environment. Steps:
//  1. get a fresh access token (session.Token; warnings to stderr);
//  2. start the command with the inherited environment plus the token
//     variable (any inherited value of it removed);
//  3. pass SIGTERM and SIGHUP on to it: they are usually sent to one PID (a
//     supervisor, `timeout`, a closed terminal). SIGINT from the terminal
//     reaches the whole process group already, and oauthctl's own context
//     cancellation is ignored once the command runs, so the command decides
//     how to end;
//  4. wait and return its status as an *ExitStatusError.
func execRun(ctx context.Context, opts *ExecOptions) error {
	f := opts.Factory
	res, warnings, err := f.Session().Token(ctx, session.TokenRequest{Provider: opts.Provider, Account: opts.Account,
		Acquire: session.AcquireOptions{MinTTL: opts.MinTTL, MinTTLSet: opts.MinTTLSet, LockWait: opts.LockWait, Retry: opts.Retry}})
	printWarnings(opts.IO.ErrOut, warnings)
	if err != nil {
		return err
	}

	cmd := exec.Command(opts.Command[0], opts.Command[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = opts.IO.In, opts.IO.Out, opts.IO.ErrOut
	cmd.Env = withEnv(opts.Environ(), opts.Env, res.Token)

	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	if err := cmd.Start(); err != nil {
		return startError(opts.Command[0], err)
	}
	done := make(chan struct{})
	defer close(done)
	go func() {
		for {
			select {
			case s := <-sigs:
				_ = cmd.Process.Signal(s)
			case <-done:
				return
			}
		}
	}()
	if err := exitStatus(cmd.Wait()); err != nil {
		return err
	}
	if ctx.Err() != nil {
		// Ctrl-C reached the command too and it ended cleanly: its 0, not
		// the 130 that Run would report for an interrupted oauthctl.
		return &ExitStatusError{Code: 0}
	}
	return nil
}

// withEnv returns env with name=value, dropping inherited values of name.
func withEnv(env []string, name, value string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		if k, _, _ := strings.Cut(kv, "="); k == name {
			continue
		}
		out = append(out, kv)
	}
	return append(out, name+"="+value)
}

// startError is a command that could not start, with the shell's codes: 127
// not found, 126 found but not runnable.
func startError(name string, err error) error {
	code := 126
	if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
		code = 127
	}
	return &ExitStatusError{Code: code, Err: fmt.Errorf("cannot run %s: %w", name, unwrapExecErr(err))}
}

// unwrapExecErr drops exec.Error's wrapper, which repeats the command name.
func unwrapExecErr(err error) error {
	var ee *exec.Error
	if errors.As(err, &ee) {
		return ee.Err
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// exitStatus turns the command's end into oauthctl's: nil for 0, else an
// *ExitStatusError with its code, or 128+N for a command killed by signal N.
func exitStatus(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return fmt.Errorf("waiting for the command: %w", err)
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return &ExitStatusError{Code: 128 + int(ws.Signal())}
	}
	return &ExitStatusError{Code: ee.ExitCode()}
}
