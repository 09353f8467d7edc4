package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/kube"
	"github.com/oauthctl/oauthctl/keyring"
)

// SetupKubeOptions are the inputs of `oauthctl setup-kube`.
type SetupKubeOptions struct {
	IO      *iostreams.IOStreams
	Factory *Factory
	// Executable returns the running oauthctl's path (os.Executable), the
	// command kubectl will run.
	Executable func() (string, error)

	Provider    string
	Account     string
	Kubeconfig  string
	User        string
	AccessToken bool
	Interactive bool
	APIVersion  string
}

// NewCmdSetupKube builds `oauthctl setup-kube`.
func NewCmdSetupKube(f *Factory, runF func(*SetupKubeOptions) error) *cobra.Command {
	opts := &SetupKubeOptions{IO: f.IO, Factory: f, Executable: executable}
	c := &cobra.Command{
		Use:   "setup-kube PROVIDER",
		Short: "Make kubectl get its credentials from oauthctl",
		Long: `Add a user to your kubeconfig whose credentials kubectl gets by running
"oauthctl kube-credential PROVIDER" (an exec credential plugin), or update
the user of that name. Everything else in the file is kept; running it again
changes nothing. Nothing is written to stdout.

The user is named oauthctl-PROVIDER (oauthctl-PROVIDER-ACCOUNT with
--account) unless --user names it; point a context at it with
"kubectl config set-context --current --user=NAME". The kubeconfig is
--kubeconfig, else the one $KUBECONFIG names (with several files: the one
that has the user, else the first that exists), else ~/.kube/config; it is
written with mode 0600.

kubectl runs oauthctl by its absolute path, never with a terminal
(interactiveMode: Never): when the session has expired, kubectl fails with
oauthctl's message and you run "oauthctl login PROVIDER". With --interactive
kubectl lets oauthctl open the browser to sign in again when kubectl itself
runs in a terminal (kubectl 1.22 and later).`,
		Example: `  oauthctl setup-kube google
  kubectl config set-context --current --user=oauthctl-google
  oauthctl setup-kube corp --account me@example.com --kubeconfig ~/.kube/prod
  oauthctl setup-kube corp --interactive`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			switch opts.APIVersion {
			case "v1", "v1beta1":
			default:
				return usageErrorf("--api-version must be v1 or v1beta1, not %q", opts.APIVersion)
			}
			if opts.Account != "" {
				if err := keyring.ValidateAccount(opts.Account); err != nil {
					return &UsageError{Msg: err.Error()}
				}
			}
			if c.Flags().Changed("user") && strings.TrimSpace(opts.User) == "" {
				return usageErrorf("--user must not be empty")
			}
			if runF != nil {
				return runF(opts)
			}
			return setupKubeRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "the account `NAME` kubectl uses (default: the provider's default account)")
	fl.StringVar(&opts.Kubeconfig, "kubeconfig", "", "the kubeconfig `FILE` to edit (default: $KUBECONFIG, else ~/.kube/config)")
	fl.StringVar(&opts.User, "user", "", "the kubeconfig user `NAME` (default: oauthctl-PROVIDER[-ACCOUNT])")
	fl.BoolVar(&opts.AccessToken, "access-token", false, "hand kubectl the access token instead of the ID token")
	fl.BoolVar(&opts.Interactive, "interactive", false, "let kubectl-run oauthctl sign in again in the browser when kubectl has a terminal")
	fl.StringVar(&opts.APIVersion, "api-version", "v1", "the exec credential API `VERSION`, v1 or v1beta1 (kubectl before 1.22)")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// setupKubeRun writes the kubeconfig user. Steps:
//  1. check the provider (an unknown one is a usage error listing the
//     known names) and find the oauthctl binary kubectl will run;
//  2. pick the kubeconfig and read it (a missing file is a new one);
//  3. add or update the users[] entry and write the file atomically, unless
//     it is already as wanted;
//  4. say what it did, and how to use it, on stderr.
func setupKubeRun(_ context.Context, opts *SetupKubeOptions) error {
	f := opts.Factory
	p, err := lookupProvider(f.Catalogue, opts.Provider)
	if err != nil {
		return err
	}
	exe, err := opts.Executable()
	if err != nil {
		return fmt.Errorf("finding the oauthctl binary for kubectl to run: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("finding the oauthctl binary for kubectl to run: %w", err)
	}
	name := opts.User
	if name == "" {
		name = "oauthctl-" + p.Name
		if opts.Account != "" {
			name += "-" + opts.Account
		}
	}
	path := opts.Kubeconfig
	if path == "" {
		if path, err = kube.Path(f.Getenv, name); err != nil {
			return err
		}
	}
	args := []string{"kube-credential", p.Name}
	if opts.Account != "" {
		args = append(args, "--account", opts.Account)
	}
	if opts.AccessToken {
		args = append(args, "--access-token")
	}
	user := kube.ExecUser{
		Name:            name,
		APIVersion:      kube.APIVersionV1,
		Command:         exe,
		Args:            args,
		InteractiveMode: kube.InteractiveNever,
		InstallHint:     fmt.Sprintf("kubectl runs %s for the kubeconfig user %s; reinstall oauthctl there, or run oauthctl setup-kube %s again", exe, name, p.Name),
	}
	if opts.APIVersion == "v1beta1" {
		user.APIVersion = kube.APIVersionV1beta1
	}
	if opts.Interactive {
		user.Args = append(user.Args, "--login")
		user.InteractiveMode = kube.InteractiveIfAvailable
	}

	data, err := kube.ReadFile(path)
	if errors.Is(err, kube.ErrKubeconfig) {
		return &UsageError{Msg: err.Error()}
	}
	if err != nil {
		return fmt.Errorf("reading %s: %s", path, pathErrMsg(err))
	}
	out, change, err := kube.SetExecUser(data, user)
	if err != nil {
		// A file that is not a kubeconfig is a configuration error (exit 2).
		return &UsageError{Msg: path + ": " + err.Error()}
	}
	errOut := opts.IO.ErrOut
	if change == kube.Unchanged {
		fmt.Fprintf(errOut, "%s already has the user %s: kubectl runs %s.\n", path, name, shellLine(exe, args))
	} else {
		if err := kube.WriteFile(path, out); err != nil {
			return err
		}
		verb := "Added"
		if change == kube.Updated {
			verb = "Updated"
		}
		fmt.Fprintf(errOut, "%s the user %s in %s: kubectl runs %s.\n", verb, name, path, shellLine(exe, user.Args))
	}
	if tmp := os.TempDir(); strings.HasPrefix(exe, tmp+string(filepath.Separator)) || strings.Contains(exe, "go-build") {
		fmt.Fprintf(errOut, "warning: %s looks like a temporary build; install oauthctl and run setup-kube with the installed binary\n", exe)
	}
	if !opts.AccessToken && !p.IsOIDC() {
		fmt.Fprintf(errOut, "warning: %s is not set up for OpenID Connect (issuer and the openid scope), so it gives no ID token; use --access-token if the cluster accepts its access tokens\n", p.Name)
	}
	if p.IsOIDC() && !opts.AccessToken && p.ClientID != "" {
		fmt.Fprintf(errOut, "The API server must trust its ID tokens: --oidc-issuer-url=%s --oidc-client-id=%s\n", p.Issuer, p.ClientID)
	}
	if change != kube.Unchanged {
		data = out
	}
	if kube.CurrentContext(data) == "" {
		// set-context --current fails without a current context.
		fmt.Fprintf(errOut, "Use it (%s has no current context): kubectl config set-context CONTEXT --cluster=CLUSTER --user=%s && kubectl config use-context CONTEXT\n",
			path, shellQuote(name))
		return nil
	}
	fmt.Fprintf(errOut, "Use it: kubectl config set-context --current --user=%s\n", shellQuote(name))
	return nil
}

// shellLine renders a command line for a message.
func shellLine(exe string, args []string) string {
	q := make([]string, 0, len(args)+1)
	for _, a := range append([]string{exe}, args...) {
		q = append(q, shellQuote(a))
	}
	return strings.Join(q, " ")
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
