package cmd

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// SetupGitOptions are the inputs of `oauthctl setup-git`.
type SetupGitOptions struct {
	IO        *iostreams.IOStreams
	Catalogue func() (*auth.Catalogue, error)
	Paths     func() (keyring.Paths, error)
	State     func() (keyring.StateStore, error)
	Getenv    func(string) string
	// Environ is git's environment (os.Environ): HOME or GIT_CONFIG_GLOBAL
	// decide which file `git config --global` writes.
	Environ func() []string
	// Executable is this program's path (os.Executable), LookPath finds
	// programs on $PATH (exec.LookPath): the helper command names
	// "oauthctl" when that is this program, else its absolute path.
	Executable func() (string, error)
	LookPath   func(string) (string, error)

	Provider string
}

// NewCmdSetupGit builds `oauthctl setup-git`.
func NewCmdSetupGit(f *Factory, runF func(*SetupGitOptions) error) *cobra.Command {
	opts := &SetupGitOptions{IO: f.IO, Catalogue: f.Catalogue, Paths: f.Paths, State: f.State, Getenv: f.Getenv,
		Environ: os.Environ, Executable: executable, LookPath: exec.LookPath}
	c := &cobra.Command{
		Use:   "setup-git [PROVIDER]",
		Short: "Configure git to use oauthctl for the provider's git hosts",
		Long: `Add "oauthctl git-credential" as git's credential helper for every git host
of PROVIDER (its git_hosts: github.com for github, gitlab.com for gitlab), in
your global git config (git config --global), and say what was written.
Without PROVIDER: every provider with git hosts and a stored account.

Each host gets one entry, credential.https://HOST.helper; running setup-git
again changes nothing. Other helpers stay configured: when oauthctl has no
token for a request, git asks them next. Loopback hosts get an http:// entry
as well. Remove an entry with: git config --global --unset-all
credential.https://HOST.helper`,
		Example: `  oauthctl setup-git github
  oauthctl setup-git`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return setupGitRun(c.Context(), opts)
		},
	}
	return c
}

// setupGitRun writes the helper entries. Its steps:
//  1. pick the providers: PROVIDER, or those with git hosts and a stored
//     account;
//  2. build the helper command: "!oauthctl git-credential --provider NAME",
//     with this program's absolute path when "oauthctl" on $PATH is another
//     program (or none);
//  3. per host and URL, read the entry's current values with git config
//     --global --get-all; add ours unless it is there, replacing an older
//     oauthctl entry for the same provider (moved binary);
//  4. report each entry on stderr.
func setupGitRun(ctx context.Context, opts *SetupGitOptions) error {
	git, err := opts.LookPath("git")
	if err != nil {
		return fmt.Errorf("git is not installed (or not on $PATH): %w", err)
	}
	providers, err := setupGitProviders(ctx, opts)
	if err != nil {
		return err
	}
	self, err := helperProgram(opts)
	if err != nil {
		return err
	}
	for _, p := range providers {
		value := "!" + self + " git-credential --provider " + p.Name
		for _, host := range p.GitHosts {
			schemes := []string{"https"}
			if h := hostOnly(host); auth.IsLoopbackHost(h) {
				schemes = append(schemes, "http")
			}
			for _, scheme := range schemes {
				key := "credential." + scheme + "://" + host + ".helper"
				changed, err := setGitHelper(ctx, opts, git, key, value, p.Name)
				if err != nil {
					return err
				}
				if changed {
					fmt.Fprintf(opts.IO.ErrOut, "Set %s = %s (git config --global)\n", key, value)
				} else {
					fmt.Fprintf(opts.IO.ErrOut, "Already set: %s = %s\n", key, value)
				}
			}
		}
	}
	return nil
}

// setupGitProviders returns the providers to configure.
func setupGitProviders(ctx context.Context, opts *SetupGitOptions) ([]*auth.Provider, error) {
	cat, err := opts.Catalogue()
	if err != nil {
		return nil, err
	}
	if opts.Provider != "" {
		p, err := cat.Get(opts.Provider)
		if err != nil {
			return nil, err
		}
		if len(p.GitHosts) == 0 {
			return nil, withHint(usageErrorf("%s has no git hosts", p.Name),
				"add git_hosts: [HOST] to %s in %s", p.Name, UserConfigPath(opts.Getenv))
		}
		return []*auth.Provider{p}, nil
	}
	ix, err := openIndex(ctx, opts.State, opts.Paths)
	if err != nil {
		return nil, err
	}
	var out []*auth.Provider
	for _, p := range cat.All() {
		if len(p.GitHosts) > 0 && len(ix.ProviderAccounts(p.Name)) > 0 {
			out = append(out, p)
		}
	}
	if len(out) == 0 {
		return nil, withHint(fmt.Errorf("%w: no account is logged in to a provider with git hosts", keyring.ErrNotFound),
			"run: oauthctl login github (or name a provider: oauthctl setup-git PROVIDER)")
	}
	return out, nil
}

// helperProgram is how the helper command names this program: "oauthctl"
// when that resolves on $PATH to this very file, else the absolute path,
// shell-quoted (git runs "!..." helpers with the shell).
func helperProgram(opts *SetupGitOptions) (string, error) {
	self, err := opts.Executable()
	if err != nil {
		return "", fmt.Errorf("finding the oauthctl program: %w", err)
	}
	resolve := func(p string) string {
		if r, err := filepath.EvalSymlinks(p); err == nil {
			return r
		}
		return p
	}
	self = resolve(self)
	if onPath, err := opts.LookPath("oauthctl"); err == nil && resolve(onPath) == self {
		return "oauthctl", nil
	}
	return shellQuote(self), nil
}

// hostOnly strips the port from HOST:PORT (and the brackets of [IPv6]).
func hostOnly(host string) string {
	if strings.HasPrefix(host, "[") {
		if i := strings.Index(host, "]"); i > 0 {
			return host[1:i]
		}
	}
	h, _, _ := strings.Cut(host, ":")
	return h
}

// setGitHelper makes value one of key's values in the global git config
// and reports whether it changed anything. An older oauthctl entry for the
// same provider (another path to the program) is replaced, others are kept.
func setGitHelper(ctx context.Context, opts *SetupGitOptions, git, key, value, provider string) (bool, error) {
	out, err := runGit(ctx, opts, git, "config", "--global", "--get-all", key)
	var ee *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &ee) && ee.ExitCode() == 1: // the key is not set
	default:
		return false, err
	}
	var values []string
	if s := strings.TrimRight(out, "\n"); s != "" {
		values = strings.Split(s, "\n")
	}
	if slices.Contains(values, value) {
		return false, nil
	}
	suffix := " git-credential --provider " + provider
	old := slices.IndexFunc(values, func(v string) bool { return strings.Contains(v, "oauthctl") && strings.HasSuffix(v, suffix) })
	args := []string{"config", "--global", "--add", key, value}
	if old >= 0 {
		args = []string{"config", "--global", "--fixed-value", "--replace-all", key, value, values[old]}
	}
	if _, err := runGit(ctx, opts, git, args...); err != nil {
		return false, err
	}
	return true, nil
}

// runGit runs git with argv (no shell) and returns its stdout; a failure
// carries git's stderr.
func runGit(ctx context.Context, opts *SetupGitOptions, git string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, git, args...)
	cmd.Env = opts.Environ()
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 1 && len(args) > 2 && args[2] == "--get-all" {
		return "", err
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return "", fmt.Errorf("git %s: %s", strings.Join(args[:2], " "), auth.Sanitize(msg, 300))
	}
	return stdout.String(), nil
}
