package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/picker"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// DefaultLoginTimeout bounds a login's wait for the browser (`--timeout`).
const DefaultLoginTimeout = 5 * time.Minute

// LoginOptions are the inputs of `oauthctl login`.
type LoginOptions struct {
	IO *iostreams.IOStreams
	// Browser opens the authorization URL; --browser-command replaces it.
	Browser browser.Opener
	// Session carries the use cases and their dependencies
	// (Factory.Session): the environment, clock, HTTP client, store,
	// catalogue, index and kernel cache. `login` without a PROVIDER that
	// adds one replaces its Catalogue.
	Session *session.Service

	Provider string
	// Account names the account to store the login under; empty means the
	// identity the provider reports (email, else preferred_username, else
	// login, else subject).
	Account string
	// Scopes replace the provider's default scopes.
	Scopes []string
	// AddScopes asks for the account's granted scopes plus these.
	AddScopes []string
	// Prompt is the OIDC prompt to send (--prompt), replacing oauthctl's
	// choice.
	Prompt string
	// NoBrowser prints the URL instead of opening a browser and reads
	// pasted redirect addresses from stdin.
	NoBrowser      bool
	BrowserCommand string
	// Device uses the device authorization grant (RFC 8628) instead of the
	// browser and the loopback listener.
	Device  bool
	Timeout time.Duration

	// Pick shows the provider picker on the terminal (`login` with no
	// PROVIDER) and returns the chosen index; tests replace it.
	Pick func(ctx context.Context, title string, items []picker.Item) (int, error)
	// Builtin is the embedded providers.yaml, for the picker's "add a
	// provider" entry.
	Builtin []byte
}

// loginOptions returns the dependencies of a login, wired once for every
// front-end that signs in (login, git-credential --login, kube-credential
// --login), the use cases from Factory.Session: a copy that left out State
// would write the index to local files while the tokens go to Vault, and
// one without the kernel cache would skip the cache invalidation around the
// store write.
func (f *Factory) loginOptions() *LoginOptions {
	return &LoginOptions{IO: f.IO, Browser: f.Browser, Session: f.Session(), Timeout: DefaultLoginTimeout}
}

// NewCmdLogin builds `oauthctl login`.
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := f.loginOptions()
	opts.Builtin = f.BuiltinProviders
	opts.Pick = func(ctx context.Context, title string, items []picker.Item) (int, error) {
		return picker.Pick(ctx, f.IO.In, f.IO.ErrOut, os.Environ(), title, items)
	}
	c := &cobra.Command{
		Use:   "login [PROVIDER]",
		Short: "Sign in to a provider in the browser and keep the tokens in the OS keychain",
		Long: `Sign in to PROVIDER and store its tokens in the OS keychain. Without
PROVIDER, on a terminal, choose it from a list (type to filter), or add a new
one by its issuer URL.

oauthctl opens your browser at the provider's sign-in page and waits for the
provider to send the browser back to a one-shot listener on
http://127.0.0.1:PORT/callback. The request uses PKCE (S256), a random state
and, for OpenID Connect providers, a nonce; the answer is checked (state,
issuer, ID token signature and claims) before anything is stored. Nothing is
written to stdout.

The account is named after the identity the provider reports (email, else
user name) unless --account names it. Logging in again to the same identity
replaces its tokens; the first account of a provider becomes its default.

oauthctl asks the provider for consent (prompt=consent) when it needs a
refresh token for whoever signs in, and not when --account names an account
that already holds one; --prompt replaces that choice: consent, login (sign
in again), select_account (choose among signed-in accounts) or none.

On a machine without a browser use --no-browser: open the printed address on
any machine, sign in, and paste the address the browser ends up at (it starts
with http://127.0.0.1:PORT/callback) back into the terminal. Or use --device
to sign in with a code on another device.

Exit status: 0 signed in, 2 usage or configuration error, 3 sign-in failed
(cancelled, timed out, state/issuer mismatch, bad ID token), 5 provider
unreachable, 6 keychain unavailable, 130 interrupted.`,
		Example: `  oauthctl login
  oauthctl login google
  oauthctl login google --account work
  oauthctl login google --add-scopes https://www.googleapis.com/auth/drive.readonly
  oauthctl login github --no-browser
  oauthctl login microsoft --device`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) > 0 {
				opts.Provider = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			if opts.Provider == "" {
				if err := pickLoginProvider(c.Context(), opts); err != nil {
					return err
				}
			}
			return loginRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "store the login under this account `NAME` (default: the identity the provider reports)")
	fl.StringSliceVar(&opts.Scopes, "scopes", nil, "scopes to request, replacing the provider's defaults (comma-separated)")
	fl.StringSliceVar(&opts.AddScopes, "add-scopes", nil, "add these scopes to an existing account's granted ones (comma-separated)")
	fl.StringVar(&opts.Prompt, "prompt", "", "the sign-in page's behaviour: consent, login, select_account or none (default: consent when a refresh token is needed)")
	fl.BoolVar(&opts.NoBrowser, "no-browser", false, "print the sign-in address instead of opening a browser, and accept the pasted redirect address on stdin")
	fl.StringVar(&opts.BrowserCommand, "browser-command", "", "command that opens the sign-in address, e.g. wslview (default: $BROWSER, else the system's)")
	fl.BoolVar(&opts.Device, "device", false, "sign in with a code on another device (OAuth device flow) instead of a local browser")
	fl.DurationVar(&opts.Timeout, "timeout", DefaultLoginTimeout, "how long to wait for the sign-in")
	c.MarkFlagsMutuallyExclusive("scopes", "add-scopes")
	c.MarkFlagsMutuallyExclusive("device", "no-browser")
	c.MarkFlagsMutuallyExclusive("device", "browser-command")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// loginRun signs in with the browser. Its steps:
//  1. hand --device to the device flow;
//  2. check the provider, the flags and the client registration (client ID,
//     and the client secret from the environment or the keychain, which
//     also proves the keychain usable before the user signs in);
//  3. read the account index: the account a re-login or --add-scopes
//     updates decides the scopes, prompt=consent and login_hint;
//  4. discover the endpoints of an issuer-only provider;
//  5. start the loopback listener and show the URL; open the browser, or
//     with --no-browser read pasted redirect addresses from stdin;
//  6. wait for the first valid response (bounded by --timeout and Ctrl-C);
//  7. close the listener, exchange the code once, verify the ID token;
//  8. name the account and persist it (saveLogin), then report on stderr.
func loginRun(ctx context.Context, opts *LoginOptions) (err error) {
	if opts.Device {
		return loginDeviceRun(ctx, opts)
	}
	// Every human message goes through one synchronized writer: the stdin
	// reader reports refused lines from its own goroutine.
	errOut := &lockedWriter{w: opts.IO.ErrOut}
	defer errOut.stop()
	o := *opts
	ios := *opts.IO
	ios.ErrOut = errOut
	o.IO = &ios
	opts = &o

	svc := opts.Session
	p, err := loginProvider(opts, svc)
	if err != nil {
		return err
	}
	if err := checkLoginFlags(opts); err != nil {
		return err
	}
	secret, err := svc.LoginClientSecret(ctx, p)
	if err != nil {
		return err
	}
	plan, err := svc.PlanLogin(ctx, opts.request(), p)
	if err != nil {
		return err
	}
	rp, md, client, scopes := plan.Provider, plan.Metadata, plan.Client, plan.Scopes
	l, err := auth.StartLogin(ctx, auth.LoginRequest{
		Provider: rp, ClientSecret: secret, Scopes: scopes, Params: plan.Params,
		Metadata: md, ClientAuth: plan.ClientAuth, HTTPClient: client, Now: opts.Session.Now,
	})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, w := range l.Warnings {
		fmt.Fprintln(errOut, "warning: "+w)
	}
	waited := make(chan struct{})
	live := announceLogin(ctx, opts, rp, l, waited)

	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err = l.Wait(wctx)
	cancel()
	if live != nil {
		live.Stop()
	}
	close(waited)
	for _, who := range l.ForeignVisits() {
		// docs/security.md §3.1: someone else tried to use this sign-in.
		fmt.Fprintf(errOut, "warning: %s tried to open this sign-in's local address and was refused\n", who)
	}
	if err != nil {
		return loginWaitError(ctx, opts, rp, err)
	}
	l.Close() // the port closes before the exchange: nothing else is taken
	tok, ident, err := l.Finish(ctx)
	if err != nil {
		return loginFinishError(ctx, rp, err)
	}
	if ctx.Err() != nil {
		return ctx.Err() // Ctrl-C during the exchange: nothing is stored
	}
	return completeLogin(ctx, opts, svc, plan, tok, ident)
}

// request is what the flags ask the login to do.
func (opts *LoginOptions) request() session.LoginRequest {
	return session.LoginRequest{Account: opts.Account, Scopes: opts.Scopes, AddScopes: opts.AddScopes, Prompt: opts.Prompt}
}

// loginProvider returns the named provider after checking that it can be
// logged in to (session.LoginProvider), printing the catalogue's warnings.
func loginProvider(opts *LoginOptions, svc *session.Service) (*auth.Provider, error) {
	p, warnings, err := svc.LoginProvider(opts.Provider)
	printWarnings(opts.IO.ErrOut, warnings)
	return p, err
}

// completeLogin names the account and persists the tokens
// (session.CompleteLogin), then reports on stderr: the last steps of both
// login flows.
func completeLogin(ctx context.Context, opts *LoginOptions, svc *session.Service, plan *session.LoginPlan, tok *auth.Token, ident *auth.Identity) error {
	acct, warnings, err := svc.CompleteLogin(ctx, plan, tok, ident)
	printWarnings(opts.IO.ErrOut, warnings)
	if err != nil {
		return err
	}
	prompt := plan.Params["prompt"]
	if opts.Device {
		prompt = "consent" // the device flow has no prompt to suggest
	}
	printLoginSummary(opts.IO.ErrOut, opts.IO.ErrColorScheme(), plan.Provider, acct, plan.Scopes, tok, svc.AccountArgs(ctx, acct), prompt)
	return nil
}

// clientAuthHint is the hint for a client the provider refused. It does not
// blame an ID and secret that may well be right: when the secret went one
// way (HTTP Basic or the form) and no method is configured, the client may
// be registered for the other one.
func clientAuthHint(p *auth.Provider, cae *auth.ClientAuthError) string {
	oneWay := len(cae.Tried) == 1 && cae.Tried[0] != auth.ClientAuthNone
	switch {
	case len(cae.Tried) > 0 && cae.Tried[0] == auth.ClientAuthNone:
		return fmt.Sprintf("this client may need a secret: set %s or run: oauthctl client set %s", auth.ClientSecretEnv(p.Name), p.Name)
	case oneWay && p.TokenEndpointAuthMethod != "":
		return fmt.Sprintf("check the client ID (%s) and secret (%s), and whether the client is registered for token_endpoint_auth_method %s (set in providers.yaml)",
			auth.ClientIDEnv(p.Name), auth.ClientSecretEnv(p.Name), p.TokenEndpointAuthMethod)
	case oneWay:
		return fmt.Sprintf("if the client ID and secret are right, the client may expect the other method: set token_endpoint_auth_method for %s in providers.yaml", p.Name)
	}
	return fmt.Sprintf("check the client ID (%s) and secret (%s, or: oauthctl client set %s)", auth.ClientIDEnv(p.Name), auth.ClientSecretEnv(p.Name), p.Name)
}

// checkLoginFlags validates the flags both login flows share.
func checkLoginFlags(opts *LoginOptions) error {
	if opts.Account != "" {
		if err := keyring.ValidateAccount(opts.Account); err != nil {
			return usageErrorf("--account: %v", err)
		}
	}
	if opts.Timeout <= 0 {
		return usageErrorf("--timeout must be positive, e.g. 5m")
	}
	if opts.Prompt != "" && !slices.Contains(session.Prompts, opts.Prompt) {
		return usageErrorf("--prompt must be one of %s, not %q", strings.Join(session.Prompts, ", "), auth.Sanitize(opts.Prompt, 40))
	}
	if opts.Prompt != "" && opts.Device {
		return usageErrorf("--prompt applies to the browser sign-in, not to --device")
	}
	return nil
}

// waitingMessage is the live line while the browser login waits.
const waitingMessage = "Waiting for you to finish signing in in the browser… (Ctrl-C to cancel)"

// announceLogin shows the URL and opens the browser, or with --no-browser
// starts reading pasted redirect addresses. The URL is printed in every
// case: the browser may open on the wrong screen or not at all. When the
// browser opened, it returns the live waiting line (a spinner with the
// elapsed time on a terminal, one plain line otherwise) for the caller to
// stop. When the launcher fails and stdin is a terminal, it switches to the
// paste-back prompt at once instead of waiting silently. waited is closed
// when the wait for the browser ends.
func announceLogin(ctx context.Context, opts *LoginOptions, p *auth.Provider, l *auth.Login, waited <-chan struct{}) *iostreams.Live {
	w := opts.IO.ErrOut
	pasteBack := func() {
		fmt.Fprintf(w, "After you sign in, the browser goes to %s?... If that page does not load\n", l.RedirectURI())
		fmt.Fprintf(w, "(the browser runs on another machine), copy its whole address from the address bar,\n")
		fmt.Fprintf(w, "paste it here and press Enter. Waiting up to %s...\n", human.Duration(opts.Timeout))
		go readPasted(opts.IO.In, w, l, waited)
	}
	if opts.NoBrowser {
		fmt.Fprintf(w, "To sign in to %s, open this address in a browser on any machine:\n\n  %s\n\n", p.Name, l.AuthURL())
		pasteBack()
		return nil
	}
	// The launcher gets the one-time loopback address, never the
	// authorization URL: its command line is readable by every local user
	// (docs/security.md §3.1). The same address is printed: if the browser
	// did not open, its first visit is the user's.
	launch := l.LaunchURL()
	fmt.Fprintf(w, "Opening your browser to sign in to %s...\n", p.Name)
	fmt.Fprintf(w, "If your browser did not open, visit:\n\n  %s\n\n", launch)
	opener := opts.Browser
	if opts.BrowserCommand != "" {
		opener = browser.NewWithCommand(w, opts.Session.Getenv, opts.BrowserCommand)
	}
	if opener == nil {
		opener = browser.New(w, opts.Session.Getenv)
	}
	if err := opener(ctx, launch); err != nil {
		// No browser opened it: the one-time address is retired and the
		// provider's own URL, which no command line saw, works anywhere.
		l.LaunchFailed()
		fmt.Fprintln(w, opts.IO.ErrColorScheme().Warning("could not open a browser: "+auth.Sanitize(err.Error(), 200)))
		if opts.IO.InTTY {
			fmt.Fprintf(w, "The address above no longer works; open this one instead, in a browser on any machine, and sign in:\n\n  %s\n\n", l.AuthURL())
			pasteBack()
			return nil
		}
		// Keep listening all the same: a forwarded port (ssh -L) may
		// still bring the redirect.
		fmt.Fprintf(w, "no browser and stdin is not a terminal: use --device or --no-browser. "+
			"Still waiting up to %s (--timeout) for the redirect to %s (a forwarded port may bring it)...\n", human.Duration(opts.Timeout), l.RedirectURI())
		fmt.Fprintf(w, "The address above no longer works; open this one in a browser instead:\n\n  %s\n\n", l.AuthURL())
		return nil
	}
	return opts.IO.StartLive(waitingMessage, opts.Session.Now)
}

// readPasted feeds pasted lines to the login until one ends it. A refused
// line is reported and the next one read; stdin may be a terminal or a
// pipe. The goroutine ends with stdin's EOF or the flow. When stdin ends
// (</dev/null, a closed pipe) before the wait does, it says once that the
// loopback listener is still waiting, instead of going silent.
func readPasted(in io.Reader, w io.Writer, l *auth.Login, waited <-chan struct{}) {
	if in == nil {
		return
	}
	defer func() {
		select {
		case <-waited:
		default:
			fmt.Fprintf(w, "stdin closed; still waiting for the browser redirect on %s (Ctrl-C to cancel)\n", l.RedirectURI())
		}
	}()
	sc := bufio.NewScanner(in)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		err := l.Submit(line)
		switch {
		case err == nil, errors.Is(err, auth.ErrAlreadyCompleted):
			<-waited // the flow ended: nothing more to say
			return
		case errors.Is(err, auth.ErrStateMismatch):
			fmt.Fprintln(w, "oauthctl: refused the pasted address: it belongs to another or an older sign-in (state does not match); paste the address of this one")
		default:
			fmt.Fprintf(w, "oauthctl: refused the pasted address: %v\n", err)
		}
	}
}

// loginTimeoutError is a login that saw no valid response in time (exit 3).
type loginTimeoutError struct{ msg string }

func (e *loginTimeoutError) Error() string { return e.msg }

// Is makes loginTimeoutError match auth.ErrTimeout.
func (e *loginTimeoutError) Is(target error) bool { return target == auth.ErrTimeout }

// loginWaitError explains why the wait for the browser ended without a code.
func loginWaitError(ctx context.Context, opts *LoginOptions, p *auth.Provider, err error) error {
	var ae *auth.AuthorizationError
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.Is(err, context.DeadlineExceeded):
		var alt []string
		if !opts.NoBrowser {
			alt = append(alt, "--no-browser")
		}
		if p.HasDevice() {
			alt = append(alt, "--device")
		}
		msg := fmt.Sprintf("timed out after %s", human.Duration(opts.Timeout))
		if len(alt) > 0 {
			msg += "; try " + strings.Join(alt, " or ")
		}
		return &loginTimeoutError{msg: msg}
	case errors.As(err, &ae) && ae.Transient():
		return withHint(err, "the provider reported a temporary problem; try again in a moment")
	case errors.As(err, &ae) && ae.Code == "access_denied":
		return err
	case errors.As(err, &ae):
		return withHint(err, "check the provider entry and the OAuth client's settings, then run: oauthctl login %s", p.Name)
	}
	return err
}

// loginFinishError adds the hint that fits a failed exchange or ID token.
func loginFinishError(ctx context.Context, p *auth.Provider, err error) error {
	var (
		cre *auth.CodeRejectedError
		cae *auth.ClientAuthError
		ite *auth.IDTokenError
	)
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &cre):
		return withHint(err, "rerun login: oauthctl login %s", p.Name)
	case errors.As(err, &cae):
		return withHint(err, "%s", clientAuthHint(p, cae))
	case errors.As(err, &ite) && ite.Clock:
		return withHint(err, "check the system clock: it differs from the provider's by more than %s", human.Duration(auth.IDTokenLeeway))
	}
	return err
}

// printLoginSummary reports a stored login on stderr: who, which account,
// which scopes were granted, and warnings when fewer scopes than requested
// were granted or no refresh token is available.
//
// tokenArgs names the stored account for `oauthctl token` (with --account
// unless it is the default), prompt is the prompt the login sent.
func printLoginSummary(w io.Writer, cs *iostreams.ColorScheme, p *auth.Provider, acct *keyring.Account, requested []string, tok *auth.Token, tokenArgs, prompt string) {
	// Identity and scopes come from the provider: shown only through the
	// one sanitizer (docs/security.md §4.3).
	who := auth.Sanitize(acct.Identity, 200)
	if who == "" {
		who = "an unnamed account"
	}
	line := fmt.Sprintf("Logged in to %s as %s", p.Name, who)
	if acct.Account != acct.Identity {
		line += fmt.Sprintf(" (account %q)", auth.Sanitize(acct.Account, 128))
	}
	fmt.Fprintln(w, cs.Success(line+"."))
	if len(acct.Scopes) > 0 {
		fmt.Fprintln(w, "Granted scopes: "+sanitizeList(acct.Scopes))
	}
	if tok.Scopes != nil {
		var missing []string
		for _, s := range requested {
			if !scopeGranted(s, tok.Scopes, acct.Refreshable) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "warning: %s granted fewer scopes than requested; not granted: %s\n", p.Name, sanitizeList(missing))
		}
	}
	switch {
	case acct.Refreshable:
	case acct.Expiry.IsZero():
		// GitHub OAuth apps: a token without expiry needs no refresh.
		fmt.Fprintf(w, "note: %s issued an access token without an expiry date and no refresh token; it works until revoked\n", p.Name)
	default:
		fmt.Fprintf(w, "warning: %s issued no refresh token: `oauthctl token %s` works until the access token expires (%s), then needs a new login\n",
			p.Name, tokenArgs, acct.Expiry.UTC().Format("2006-01-02 15:04 MST"))
		if prompt != "consent" {
			fmt.Fprintf(w, "To get one, sign in again with consent: oauthctl login %s --account %s --prompt consent\n", p.Name, acct.Account)
		}
	}
}

// sanitizeList shows a list of provider strings (scopes) on one line, each
// through the one sanitizer and the whole bounded.
func sanitizeList(items []string) string {
	out := make([]string, 0, len(items))
	for _, it := range items {
		if it = auth.Sanitize(it, 200); it != "" {
			out = append(out, it)
		}
	}
	return auth.Sanitize(strings.Join(out, " "), 2000)
}

// scopeGranted reports whether a requested scope is among the granted ones,
// allowing for the ways providers echo scopes back: Google expands email
// and profile to .../auth/userinfo.email, Entra qualifies resource scopes
// with the resource URI, and offline_access shows as a refresh token rather
// than in the list.
func scopeGranted(s string, granted []string, refreshable bool) bool {
	if s == "offline_access" && refreshable {
		return true
	}
	return slices.ContainsFunc(granted, func(g string) bool { return session.ScopeMatches(s, g) })
}

// lockedWriter serializes writes from several goroutines and, once
// stopped, drops late ones (a stdin reader that outlives the command).
type lockedWriter struct {
	mu      sync.Mutex
	w       io.Writer
	stopped bool
}

func (lw *lockedWriter) Write(b []byte) (int, error) {
	lw.mu.Lock()
	defer lw.mu.Unlock()
	if lw.stopped {
		return len(b), nil
	}
	return lw.w.Write(b)
}

func (lw *lockedWriter) stop() {
	lw.mu.Lock()
	lw.stopped = true
	lw.mu.Unlock()
}
