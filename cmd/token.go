package cmd

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/session"
)

// TokenOptions are the inputs of `oauthctl token`.
type TokenOptions struct {
	IO      *iostreams.IOStreams
	Factory *Factory

	Provider string
	Account  string
	MinTTL   time.Duration
	// MinTTLSet is true when --min-ttl was given; otherwise the margin
	// adapts to the token's lifetime (session.AcquireOptions.MinTTLSet).
	MinTTLSet bool
	Force     bool
	Header    bool
	JSON      bool
	IDToken   bool

	// LockWait bounds the wait for another process's refresh (default
	// keyring.DefaultLockWait); tests shorten it.
	LockWait time.Duration
	// Retry bounds the retries of a failing refresh; tests shorten it.
	Retry auth.RetryPolicy
}

// NewCmdToken builds `oauthctl token`.
func NewCmdToken(f *Factory, runF func(*TokenOptions) error) *cobra.Command {
	opts := &TokenOptions{IO: f.IO, Factory: f}
	c := &cobra.Command{
		Use:   "token [PROVIDER]",
		Short: "Print a fresh access token for scripts",
		Long: `Print an access token of a stored account, and nothing else, on stdout.

If the stored access token is valid for at least --min-ttl it is printed at
once, with no network: on Linux from a copy in the kernel keyring (cleared at
expiry, refresh, login and logout; OAUTHCTL_KERNEL_CACHE=0 turns it off),
else after one keychain read. Otherwise it is refreshed first, under a
per-account lock so that concurrent calls refresh only once, and the rotated
refresh token is stored before the new access token is printed.

With no PROVIDER the only stored account is used; --account picks one of
several accounts of a provider (default: the provider's default account).
For a provider with "grant: client_credentials" the token is minted with the
client ID and secret, cached in the keychain and minted again when it nears
expiry; no login is needed.

token never prompts and never opens a browser. Exit codes: 0 printed; 2 usage
or configuration error; 4 sign-in required (nothing stored, or the refresh
token was rejected: run oauthctl login PROVIDER); 5 provider unreachable or
another process held the refresh lock for 60s; 6 keychain unavailable or the
new tokens could not be stored (nothing printed).`,
		Example: `  curl -H "Authorization: Bearer $(oauthctl token google)" https://openidconnect.googleapis.com/v1/userinfo
  curl -H "$(oauthctl token github --header)" https://api.github.com/user
  oauthctl token google --account work@example.com --min-ttl 10m
  oauthctl token google --json | jq -r .expiry
  oauthctl token google --id-token`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
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
			return tokenRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "the account `NAME` (default: the provider's default account)")
	fl.DurationVar(&opts.MinTTL, "min-ttl", 0, "refresh unless the access token stays valid at least this long (default: 1m, or half the lifetime the provider grants its tokens if that is shorter)")
	fl.BoolVar(&opts.Force, "force-refresh", false, "refresh even if the stored access token is still valid")
	fl.BoolVar(&opts.Header, "header", false, "print an HTTP header: Authorization: Bearer TOKEN")
	fl.BoolVar(&opts.JSON, "json", false, "print a JSON object: access_token, token_type, expiry, expires_in, scopes")
	fl.BoolVar(&opts.IDToken, "id-token", false, "print the OpenID Connect ID token instead (refreshed when it nears its exp)")
	c.MarkFlagsMutuallyExclusive("header", "json", "id-token")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// tokenRun prints the token: from the kernel keyring cache when it holds a
// fresh copy (cmd/front.Serve, as the front binary does: the index file and
// a few keyctl calls), else through session.Token, which resolves the
// account from the index, gets a fresh token through session.Acquire (whose
// first step is one keychain read) and copies it into the cache under the
// index bytes Serve read. It prints the warnings on stderr and then the
// payload on stdout. Nothing reaches stdout unless the whole operation
// succeeded.
func tokenRun(ctx context.Context, opts *TokenOptions) error {
	f := opts.Factory
	req := session.TokenRequest{Provider: opts.Provider, Account: opts.Account, Acquire: session.AcquireOptions{
		MinTTL:    opts.MinTTL,
		MinTTLSet: opts.MinTTLSet,
		Force:     opts.Force,
		IDToken:   opts.IDToken,
		LockWait:  opts.LockWait,
		Retry:     opts.Retry,
	}}
	if !opts.Force && !opts.IDToken {
		var served bool
		var err error
		served, req.Index, err = front.Serve(ctx, f.frontDeps(), opts.request(), opts.IO.Out, opts.IO.ErrOut)
		if served {
			return err
		}
	}
	res, warnings, err := f.Session().Token(ctx, req)
	printWarnings(opts.IO.ErrOut, warnings)
	var noID *session.NoIDTokenError
	if errors.As(err, &noID) {
		return withHint(err, "run: oauthctl login %s", noID.Key.Provider)
	}
	if err != nil {
		return err
	}
	return writeToken(opts, f.Now(), res)
}

// writeToken prints the token Token handed out in the format the flags ask
// for.
func writeToken(opts *TokenOptions, now time.Time, res *session.TokenResult) error {
	if !opts.IDToken {
		// Acquire refused malformed stored tokens (session.checkServable); a
		// kernel-cache hit holds only what an earlier Acquire served.
		return front.Write(opts.IO.Out, opts.request(), now, res.Account, res.Record)
	}
	if _, err := fmt.Fprintln(opts.IO.Out, res.Token); err != nil {
		return fmt.Errorf("writing the token: %w", err)
	}
	return nil
}

// request is the hot path's view of opts (cmd/front).
func (opts *TokenOptions) request() front.Request {
	return front.Request{Provider: opts.Provider, Account: opts.Account, MinTTL: opts.MinTTL, MinTTLSet: opts.MinTTLSet,
		Header: opts.Header, JSON: opts.JSON}
}
