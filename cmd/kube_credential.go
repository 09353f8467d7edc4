package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/kube"
	"github.com/oauthctl/oauthctl/session"
)

// KubeCredentialOptions are the inputs of `oauthctl kube-credential`.
type KubeCredentialOptions struct {
	IO      *iostreams.IOStreams
	Factory *Factory

	Provider    string
	Account     string
	AccessToken bool
	MinTTL      time.Duration
	// MinTTLSet is true when --min-ttl was given; otherwise the margin
	// adapts to the token's lifetime (session.AcquireOptions.MinTTLSet).
	MinTTLSet bool
	// Login allows a browser login when kubectl says the plugin may use
	// the terminal (spec.interactive); `setup-kube --interactive` sets it.
	Login bool

	// LockWait and Retry are as in TokenOptions.
	LockWait time.Duration
	Retry    auth.RetryPolicy
}

// NewCmdKubeCredential builds `oauthctl kube-credential`.
func NewCmdKubeCredential(f *Factory, runF func(*KubeCredentialOptions) error) *cobra.Command {
	opts := &KubeCredentialOptions{IO: f.IO, Factory: f}
	c := &cobra.Command{
		Use:   "kube-credential PROVIDER",
		Short: "Hand kubectl a token (an exec credential plugin)",
		Long: `Print an ExecCredential for kubectl on stdout: the account's OpenID Connect
ID token (what API servers started with --oidc-issuer-url and
--oidc-client-id accept), refreshed first when it expires within --min-ttl,
and its expiry, so that kubectl asks again only then. With --access-token
the access token is handed out instead.

kubectl runs this command itself: "oauthctl setup-kube PROVIDER" writes the
kubeconfig user that does. The answer uses the apiVersion that kubectl names
in KUBERNETES_EXEC_INFO (client.authentication.k8s.io/v1 or v1beta1), v1
when it is unset.

kube-credential never prompts and never opens a browser, unless --login is
given and kubectl says that it runs in a terminal (interactiveMode
IfAvailable, which "setup-kube --interactive" writes). Otherwise, when the
session has expired, it prints nothing on stdout and tells you, through
kubectl, to run oauthctl login PROVIDER. Exit codes are those of token.`,
		Example: `  oauthctl setup-kube google
  KUBERNETES_EXEC_INFO='{"apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}' oauthctl kube-credential google`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			opts.MinTTLSet = c.Flags().Changed("min-ttl")
			if opts.MinTTL < 0 {
				return usageErrorf("--min-ttl must not be negative")
			}
			if runF != nil {
				return runF(opts)
			}
			return kubeCredentialRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "the account `NAME` (default: the provider's default account)")
	fl.BoolVar(&opts.AccessToken, "access-token", false, "hand out the access token instead of the ID token")
	fl.DurationVar(&opts.MinTTL, "min-ttl", DefaultMinTTL, "refresh unless the token stays valid at least this long")
	fl.BoolVar(&opts.Login, "login", false, "sign in in the browser when the session has expired and kubectl runs in a terminal")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// kubeCredentialRun answers kubectl. Steps:
//  1. read KUBERNETES_EXEC_INFO: the apiVersion to answer with and whether
//     kubectl gave the plugin the terminal;
//  2. get a fresh token as `token` (--id-token unless --access-token) does;
//  3. when sign-in is required, --login was given and kubectl said
//     interactive, run the browser login and get the token again;
//  4. print the ExecCredential in one write. Nothing reaches stdout unless
//     the whole operation succeeded.
func kubeCredentialRun(ctx context.Context, opts *KubeCredentialOptions) error {
	f := opts.Factory
	info, err := kube.ParseExecInfo(f.Getenv(kube.ExecInfoEnv))
	if err != nil {
		return &UsageError{Msg: err.Error()}
	}
	cred, err := kubeCredential(ctx, opts)
	if err != nil && opts.Login && info.Interactive && ExitCode(err) == ExitSignIn {
		fmt.Fprintf(opts.IO.ErrOut, "oauthctl: %s\nSigning in to %s for kubectl.\n", errorLine(err), opts.Provider)
		if lerr := kubeLogin(ctx, opts); lerr != nil {
			return lerr
		}
		cred, err = kubeCredential(ctx, opts)
	}
	if err != nil {
		return err
	}
	out, err := kube.MarshalExecCredential(info, cred)
	if err != nil {
		return err
	}
	if _, err := opts.IO.Out.Write(out); err != nil {
		return fmt.Errorf("writing the credential: %w", err)
	}
	return nil
}

// kubeCredential gets the token kubectl asks for (session.Token: the ID
// token, or the access token with --access-token) with its expiry,
// printing the warnings on stderr (kubectl shows them).
func kubeCredential(ctx context.Context, opts *KubeCredentialOptions) (kube.Credential, error) {
	res, warnings, err := opts.Factory.Session().Token(ctx, session.TokenRequest{Provider: opts.Provider, Account: opts.Account,
		Acquire: session.AcquireOptions{
			MinTTL:    opts.MinTTL,
			MinTTLSet: opts.MinTTLSet,
			IDToken:   !opts.AccessToken,
			LockWait:  opts.LockWait,
			Retry:     opts.Retry,
		}})
	printWarnings(opts.IO.ErrOut, warnings)
	var noID *session.NoIDTokenError
	if errors.As(err, &noID) {
		return kube.Credential{}, withHint(err, "run: oauthctl login %s, or use kube-credential --access-token if the cluster accepts access tokens", noID.Key.Provider)
	}
	if err != nil {
		return kube.Credential{}, err
	}
	return kube.Credential{Token: res.Token, Expiry: res.Expiry}, nil
}

// kubeLogin runs `oauthctl login PROVIDER [--account NAME]` with the
// factory's browser; its messages go to stderr, which kubectl shows.
func kubeLogin(ctx context.Context, opts *KubeCredentialOptions) error {
	f := opts.Factory
	lo := f.loginOptions()
	lo.Provider, lo.Account = opts.Provider, opts.Account
	if err := loginRun(ctx, lo); err != nil {
		return err
	}
	return nil
}

// errorLine is err's message on one line, without its hint.
func errorLine(err error) string {
	var he *HintError
	if errors.As(err, &he) {
		err = he.Err
	}
	return err.Error()
}
