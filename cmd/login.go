package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// DefaultLoginTimeout bounds a login's wait for the browser (`--timeout`).
const DefaultLoginTimeout = 5 * time.Minute

// LoginOptions are the inputs of `oauthctl login`.
type LoginOptions struct {
	IO         *iostreams.IOStreams
	Getenv     func(string) string
	Now        func() time.Time
	HTTPClient func() *http.Client
	// Browser opens the authorization URL; --browser-command replaces it.
	Browser   browser.Opener
	Store     func() (keyring.Store, error)
	Catalogue func() (*auth.Catalogue, error)
	Paths     func() (keyring.Paths, error)

	Provider string
	// Account names the account to store the login under; empty means the
	// identity the provider reports (email, else preferred_username, else
	// login, else subject).
	Account string
	// Scopes replace the provider's default scopes.
	Scopes []string
	// AddScopes asks for the account's granted scopes plus these.
	AddScopes []string
	// NoBrowser prints the URL instead of opening a browser and reads
	// pasted redirect addresses from stdin.
	NoBrowser      bool
	BrowserCommand string
	// Device uses the device authorization grant (RFC 8628) instead of the
	// browser and the loopback listener.
	Device  bool
	Timeout time.Duration
}

// NewCmdLogin builds `oauthctl login`.
func NewCmdLogin(f *Factory, runF func(*LoginOptions) error) *cobra.Command {
	opts := &LoginOptions{
		IO: f.IO, Getenv: f.Getenv, Now: f.Now, HTTPClient: f.HTTPClient, Browser: f.Browser,
		Store: f.Store, Catalogue: f.Catalogue, Paths: f.Paths,
	}
	c := &cobra.Command{
		Use:   "login PROVIDER",
		Short: "Sign in to a provider in the browser and keep the tokens in the OS keychain",
		Long: `Sign in to PROVIDER and store its tokens in the OS keychain.

oauthctl opens your browser at the provider's sign-in page and waits for the
provider to send the browser back to a one-shot listener on
http://127.0.0.1:PORT/callback. The request uses PKCE (S256), a random state
and, for OpenID Connect providers, a nonce; the answer is checked (state,
issuer, ID token signature and claims) before anything is stored. Nothing is
written to stdout.

The account is named after the identity the provider reports (email, else
user name) unless --account names it. Logging in again to the same identity
replaces its tokens; the first account of a provider becomes its default.

On a machine without a browser use --no-browser: open the printed address on
any machine, sign in, and paste the address the browser ends up at (it starts
with http://127.0.0.1:PORT/callback) back into the terminal. Or use --device
to sign in with a code on another device.

Exit status: 0 signed in, 2 usage or configuration error, 3 sign-in failed
(cancelled, timed out, state/issuer mismatch, bad ID token), 5 provider
unreachable, 6 keychain unavailable, 130 interrupted.`,
		Example: `  oauthctl login google
  oauthctl login google --account work
  oauthctl login google --add-scopes https://www.googleapis.com/auth/drive.readonly
  oauthctl login github --no-browser
  oauthctl login microsoft --device`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			if runF != nil {
				return runF(opts)
			}
			return loginRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVarP(&opts.Account, "account", "a", "", "store the login under this account `NAME` (default: the identity the provider reports)")
	fl.StringSliceVar(&opts.Scopes, "scopes", nil, "scopes to request, replacing the provider's defaults (comma-separated)")
	fl.StringSliceVar(&opts.AddScopes, "add-scopes", nil, "add these scopes to an existing account's granted ones (comma-separated)")
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

	p, err := loginProvider(opts)
	if err != nil {
		return err
	}
	if err := checkLoginFlags(opts); err != nil {
		return err
	}
	secret, err := loginClientSecret(ctx, opts, p)
	if err != nil {
		return err
	}
	plan, err := planLogin(ctx, opts, p)
	if err != nil {
		return err
	}
	rp, md, client, scopes, target := plan.provider, plan.metadata, plan.client, plan.scopes, plan.target
	l, err := auth.StartLogin(ctx, auth.LoginRequest{
		Provider: rp, ClientSecret: secret, Scopes: scopes, Params: loginParams(opts, rp, scopes, target),
		Metadata: md, HTTPClient: client, Now: opts.Now,
	})
	if err != nil {
		return err
	}
	defer l.Close()
	for _, w := range l.Warnings {
		fmt.Fprintln(errOut, "warning: "+w)
	}
	waited := make(chan struct{})
	announceLogin(ctx, opts, rp, l, waited)

	wctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	err = l.Wait(wctx)
	cancel()
	close(waited)
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
	return completeLogin(ctx, opts, plan, tok, ident)
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
	return nil
}

// loginPlan is what the browser and the device login settle before they
// involve the user.
type loginPlan struct {
	paths keyring.Paths
	// target is the stored account a re-login or --add-scopes updates, or nil.
	target *keyring.Account
	scopes []string
	client *http.Client
	// provider has its endpoints resolved (discovery for issuer-only
	// entries) and Scopes set to the requested scopes.
	provider *auth.Provider
	metadata *auth.Metadata
}

// planLogin reads the account index for the account being updated, picks
// the scopes, and resolves the provider's endpoints.
func planLogin(ctx context.Context, opts *LoginOptions, p *auth.Provider) (*loginPlan, error) {
	paths, ix, err := openIndex(opts.Paths)
	if err != nil {
		return nil, err
	}
	target, err := loginTarget(opts, ix, p)
	if err != nil {
		return nil, err
	}
	scopes := loginScopes(opts, p, target)
	client := opts.HTTPClient()
	rp, md, err := auth.ResolveEndpoints(ctx, client, p)
	if err != nil {
		return nil, err
	}
	rp.Scopes = scopes
	return &loginPlan{paths: paths, target: target, scopes: scopes, client: client, provider: rp, metadata: md}, nil
}

// completeLogin names the account, persists the tokens (saveLogin) and
// reports on stderr: the last steps of both login flows.
func completeLogin(ctx context.Context, opts *LoginOptions, plan *loginPlan, tok *auth.Token, ident *auth.Identity) error {
	if ident.Note != "" {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+ident.Note)
	}
	account, err := chooseAccount(opts, plan.paths, plan.provider, plan.target, ident)
	if err != nil {
		return err
	}
	acct, err := saveLogin(ctx, opts, plan.provider, account, tok, ident)
	if err != nil {
		return err
	}
	printLoginSummary(opts.IO.ErrOut, plan.provider, acct, plan.scopes, tok)
	return nil
}

// loginProvider returns the named provider after checking that it can be
// logged in to: the authorization code grant and a client ID.
func loginProvider(opts *LoginOptions) (*auth.Provider, error) {
	cat, err := opts.Catalogue()
	if err != nil {
		return nil, err
	}
	for _, w := range cat.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
	}
	p, err := cat.Get(opts.Provider)
	if err != nil {
		return nil, err
	}
	if p.Grant == auth.GrantClientCredentials {
		return nil, withHint(usageErrorf("%s uses the client_credentials grant: there is no user to sign in", p.Name),
			"run: oauthctl token %s", p.Name)
	}
	if p.ClientID == "" {
		return nil, withHint(&loginConfigError{fmt.Sprintf("no client ID for %s: set %s, or client_id under %s in %s",
			p.Name, auth.ClientIDEnv(p.Name), p.Name, UserConfigPath(opts.Getenv))},
			"register an OAuth client with the provider first (see README), or run: oauthctl client set %s", p.Name)
	}
	return p, nil
}

// loginClientSecret returns the client secret from the environment or the
// keychain ("" for a public client). A provider that requires one and has
// none is a configuration error naming where the secret belongs. Reading
// the keychain here also fails fast, before the user signs in, when it is
// unavailable.
func loginClientSecret(ctx context.Context, opts *LoginOptions, p *auth.Provider) (string, error) {
	secret, _, err := resolveClientSecret(ctx, opts.Getenv, opts.Store, p)
	if err != nil {
		return "", err
	}
	if secret == "" && p.ClientSecretRequired {
		return "", withHint(&loginConfigError{fmt.Sprintf("%s requires a client secret: set %s or run: oauthctl client set %s",
			p.Name, auth.ClientSecretEnv(p.Name), p.Name)},
			"the secret never goes on the command line or in providers.yaml")
	}
	return secret, nil
}

// loginConfigError is a client registration problem (exit 2).
type loginConfigError struct{ msg string }

func (e *loginConfigError) Error() string { return e.msg }

// Is makes loginConfigError match auth.ErrConfig.
func (e *loginConfigError) Is(target error) bool { return target == auth.ErrConfig }

// loginTarget returns the stored account this login updates, if known
// beforehand: --account's, else (for --add-scopes) the provider's default,
// else the default when it is the provider's only candidate for a re-login.
// --add-scopes needs one.
func loginTarget(opts *LoginOptions, ix *keyring.Index, p *auth.Provider) (*keyring.Account, error) {
	name := opts.Account
	if name == "" {
		name = ix.Defaults[p.Name]
	}
	a := ix.Find(p.Name, name)
	if len(opts.AddScopes) > 0 && a == nil {
		what := "no account of " + p.Name
		if opts.Account != "" {
			what = fmt.Sprintf("no account %q of %s", opts.Account, p.Name)
		}
		return nil, withHint(fmt.Errorf("--add-scopes: %w: %s to add scopes to", keyring.ErrNotFound, what),
			"log in first: oauthctl login %s", p.Name)
	}
	if a == nil {
		return nil, nil
	}
	c := *a
	return &c, nil
}

// loginScopes is what to request: --scopes, else the provider's defaults;
// with --add-scopes the account's granted scopes plus the new ones.
func loginScopes(opts *LoginOptions, p *auth.Provider, target *keyring.Account) []string {
	var scopes []string
	switch {
	case len(opts.AddScopes) > 0:
		scopes = append(slices.Clone(target.Scopes), opts.AddScopes...)
	case len(opts.Scopes) > 0:
		scopes = slices.Clone(opts.Scopes)
	default:
		scopes = slices.Clone(p.Scopes)
	}
	out := scopes[:0]
	for _, s := range scopes {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out
}

// loginParams are the authorization parameters the situation calls for:
//   - prompt=consent when a refresh token is wanted (offline_access from an
//     OIDC provider, OIDC Core §11; Google's access_type=offline) and the
//     account has none yet, or has one for other scopes: without it the
//     provider issues none (OIDC) or only on first consent (Google). An
//     account that already holds one for the same scopes is not asked to
//     consent again (SECURITY.md B.15); if no new refresh token comes back,
//     the stored one is kept (saveLogin). A prompt in the provider's
//     auth_params wins.
//   - --add-scopes: the provider's incremental parameter (Google's
//     include_granted_scopes=true).
//   - login_hint with the identity of the account named by --account (or
//     updated by --add-scopes), so the provider preselects it.
func loginParams(opts *LoginOptions, p *auth.Provider, scopes []string, target *keyring.Account) map[string]string {
	params := map[string]string{}
	oidc := p.Issuer != "" && slices.Contains(scopes, "openid")
	wantsOffline := oidc && slices.Contains(scopes, "offline_access") || p.AuthParams["access_type"] == "offline"
	hasRefresh := target != nil && target.Refreshable && !target.LoginRequired && sameScopeSet(scopes, target.Scopes)
	if _, set := p.AuthParams["prompt"]; wantsOffline && !hasRefresh && !set {
		params["prompt"] = "consent"
	}
	if len(opts.AddScopes) > 0 && p.IncrementalParam != "" {
		params[p.IncrementalParam] = "true"
	}
	if target != nil && oidc && (opts.Account != "" || len(opts.AddScopes) > 0) && strings.Contains(target.Identity, "@") {
		params["login_hint"] = target.Identity
	}
	return params
}

// announceLogin shows the URL and opens the browser, or with --no-browser
// starts reading pasted redirect addresses. The URL is printed in every
// case: the browser may open on the wrong screen or not at all. waited is
// closed when the wait for the browser ends.
func announceLogin(ctx context.Context, opts *LoginOptions, p *auth.Provider, l *auth.Login, waited <-chan struct{}) {
	w := opts.IO.ErrOut
	if opts.NoBrowser {
		fmt.Fprintf(w, "To sign in to %s, open this address in a browser on any machine:\n\n  %s\n\n", p.Name, l.AuthURL())
		fmt.Fprintf(w, "After you sign in, the browser goes to %s?... If that page does not load\n", l.RedirectURI())
		fmt.Fprintf(w, "(the browser runs on another machine), copy its whole address from the address bar,\n")
		fmt.Fprintf(w, "paste it here and press Enter. Waiting up to %s...\n", opts.Timeout)
		go readPasted(opts.IO.In, w, l, waited)
		return
	}
	fmt.Fprintf(w, "Opening your browser to sign in to %s...\n", p.Name)
	fmt.Fprintf(w, "If your browser did not open, visit:\n\n  %s\n\n", l.AuthURL())
	opener := opts.Browser
	if opts.BrowserCommand != "" {
		opener = browser.NewWithCommand(w, opts.Getenv, opts.BrowserCommand)
	}
	if opener == nil {
		opener = browser.New(w, opts.Getenv)
	}
	if err := opener(ctx, l.AuthURL()); err != nil {
		fmt.Fprintf(w, "warning: could not open a browser: %s\n", auth.Sanitize(err.Error(), 200))
		if !opts.IO.InTTY {
			// Keep listening all the same: a forwarded port (ssh -L) may
			// still bring the redirect.
			fmt.Fprintf(w, "no browser and stdin is not a terminal: use --device or --no-browser. "+
				"Still waiting up to %s (--timeout) for the redirect to %s (a forwarded port may bring it)...\n", opts.Timeout, l.RedirectURI())
		}
	}
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
		msg := fmt.Sprintf("timed out after %s", opts.Timeout)
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
		return withHint(err, "check the client ID (%s) and secret (%s, or: oauthctl client set %s)",
			auth.ClientIDEnv(p.Name), auth.ClientSecretEnv(p.Name), p.Name)
	case errors.As(err, &ite) && ite.Clock:
		return withHint(err, "check the system clock: it differs from the provider's by more than %s", auth.IDTokenLeeway)
	}
	return err
}

// chooseAccount names the account to store the login under:
//   - --account, as given;
//   - --add-scopes: the account being updated, and only if the same
//     identity signed in (else nothing is stored);
//   - a stored account of the provider with the same subject (the stable
//     key: the email can change), so a re-login replaces it;
//   - the identity the provider reports: email, else preferred_username,
//     else login, else the subject ("default" when it said nothing usable).
func chooseAccount(opts *LoginOptions, paths keyring.Paths, p *auth.Provider, target *keyring.Account, ident *auth.Identity) (string, error) {
	if len(opts.AddScopes) > 0 && target != nil {
		if target.Subject != "" && ident.Subject != "" && target.Subject != ident.Subject {
			return "", fmt.Errorf("%w: --add-scopes: signed in as %s, but account %q is %s; nothing was stored (sign in as that identity, or log in without --add-scopes)",
				auth.ErrLoginFailed, ident.Display(), target.Account, target.Identity)
		}
		return target.Account, nil
	}
	if opts.Account != "" {
		return opts.Account, nil
	}
	ix, err := keyring.LoadIndex(paths.Index) // re-read: the wait took minutes
	if err != nil {
		return "", err
	}
	if ident.Subject != "" {
		for _, a := range ix.ProviderAccounts(p.Name) {
			if a.Subject == ident.Subject {
				return a.Account, nil
			}
		}
	}
	name := strings.Map(func(r rune) rune {
		if r == '#' || r == ':' {
			return '_'
		}
		return r
	}, ident.Display())
	if keyring.ValidateAccount(name) != nil {
		name = "default"
	}
	return name, nil
}

// saveLogin persists a successful login of account at provider p, for the
// browser login, the device login and a client_credentials mint alike. Its
// steps:
//  1. read the account's previous record (to keep or revoke its refresh
//     token); an unreadable one is simply replaced;
//  2. build the record: tokens, expiry, scopes (tok.Scopes, else p.Scopes:
//     callers pass a copy of the provider whose Scopes are the requested
//     ones, RFC 6749 §5.1); when the response carried no refresh token and
//     the previous record of the same identity, client and token endpoint
//     has a usable one for the same scopes, keep it (it is still valid);
//     one for other scopes is dropped with a warning (it would bring the
//     old scopes back at the next refresh) and revoked as in step 5;
//  3. write the keychain record (Store.Save); a failure is exit 6 and
//     nothing else is written;
//  4. write the index entry (keyring.UpdateIndex: issuer, token endpoint and
//     client ID the tokens are bound to, the resolved revocation and
//     userinfo endpoints (recordEndpoints), scopes, expiries, subject,
//     identity); the first account of a provider becomes its default;
//  5. if a new refresh token replaced the previous one, revoke the previous
//     one best-effort (SECURITY.md B.15), unless the provider's revocation
//     ends the whole grant and the identity is the same (that would revoke
//     the new token too). A failure is a warning on stderr.
//
// ident may be nil (a machine client). Nothing is printed on success; the
// caller reports with printLoginSummary. Once step 3 starts, Ctrl-C no
// longer interrupts the writes, so the keychain and the index stay in step.
func saveLogin(ctx context.Context, opts *LoginOptions, p *auth.Provider, account string, tok *auth.Token, ident *auth.Identity) (*keyring.Account, error) {
	if ident == nil {
		ident = &auth.Identity{}
	}
	st, err := opts.Store()
	if err != nil {
		return nil, err
	}
	paths, err := opts.Paths()
	if err != nil {
		return nil, err
	}
	key := keyring.Key{Provider: p.Name, Account: account}
	prev, err := st.Load(ctx, key)
	switch {
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrCorrupt):
		prev = nil
	case err != nil:
		return nil, fmt.Errorf("reading the stored credentials of %s: %w", key, err)
	}
	ix, err := keyring.LoadIndex(paths.Index)
	if err != nil {
		return nil, err
	}
	prevAcct := ix.Find(p.Name, account)
	sameBinding := prevAcct != nil && prevAcct.TokenURL == p.TokenURL && prevAcct.ClientID == p.ClientID
	sameIdentity := sameBinding && (prevAcct.Subject == "" || ident.Subject == "" || prevAcct.Subject == ident.Subject)

	scopes := tok.Scopes
	if len(scopes) == 0 {
		scopes = slices.Clone(p.Scopes)
	}
	rec := &keyring.Record{
		AccessToken: tok.AccessToken, RefreshToken: tok.RefreshToken, IDToken: tok.IDToken,
		TokenType: tok.TokenType, Expiry: tok.Expiry, RefreshExpiry: tok.RefreshExpiry, Scopes: scopes,
	}
	if rec.RefreshToken == "" && prev != nil && prev.RefreshToken != "" && sameIdentity && !prevAcct.LoginRequired {
		if sameScopeSet(p.Scopes, prevAcct.Scopes) {
			rec.RefreshToken, rec.RefreshExpiry = prev.RefreshToken, prev.RefreshExpiry
		} else {
			fmt.Fprintln(opts.IO.ErrOut, "note: the previous refresh token was for other scopes and is not kept")
		}
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	wctx := context.WithoutCancel(ctx)
	if err := st.Save(wctx, key, rec); err != nil {
		if !errors.Is(err, keyring.ErrUnavailable) {
			err = fmt.Errorf("%w: %w", keyring.ErrUnavailable, err)
		}
		return nil, fmt.Errorf("saving the tokens of %s: %w", key, err)
	}
	issuer := ident.Issuer
	if issuer == "" {
		issuer = p.Issuer
	}
	acct := keyring.Account{
		Provider: p.Name, Account: account, Issuer: issuer, TokenURL: p.TokenURL, ClientID: p.ClientID,
		Scopes: scopes, Expiry: rec.Expiry, RefreshExpiry: rec.RefreshExpiry, Subject: ident.Subject,
		Identity: ident.Display(), Refreshable: rec.RefreshToken != "", Grant: p.Grant,
		UpdatedAt: opts.Now().UTC(),
	}
	recordEndpoints(&acct, p)
	if err := keyring.UpdateIndex(wctx, paths, func(ix *keyring.Index) error {
		ix.Put(acct)
		return nil
	}); err != nil {
		return nil, fmt.Errorf("the tokens are in the keychain, but updating the account index failed: %w", err)
	}
	replaced := prev != nil && prev.RefreshToken != "" && prev.RefreshToken != rec.RefreshToken && sameBinding
	if replaced && p.RevocationURL != "" && !(p.RevocationRevokesGrant && sameIdentity) {
		// The replaced token goes only to the revocation endpoint its own
		// login recorded (SECURITY.md B.2).
		if d := endpointDiff(prevAcct, p, endpointRevocation, p.RevocationURL); d != "" {
			fmt.Fprintf(opts.IO.ErrOut, "warning: the replaced refresh token of %s was not revoked: %s\n", key, auth.Sanitize(d, 300))
		} else {
			revokeReplaced(wctx, opts, p, key, prev.RefreshToken)
		}
	}
	return &acct, nil
}

// sameScopeSet reports whether the requested scopes are, as sets, those
// stored for an account: the scopes its refresh token was issued for. The
// stored ones are the granted ones as the provider echoed them, so a
// requested scope also matches its expanded form (scopeMatches).
func sameScopeSet(requested, stored []string) bool {
	for _, s := range requested {
		if !slices.ContainsFunc(stored, func(g string) bool { return scopeMatches(s, g) }) {
			return false
		}
	}
	for _, g := range stored {
		if !slices.ContainsFunc(requested, func(s string) bool { return scopeMatches(s, g) }) {
			return false
		}
	}
	return true
}

// scopeMatches reports whether the granted scope g is the requested scope s
// as providers echo it: Google expands email and profile to
// .../auth/userinfo.email, Entra qualifies resource scopes with the
// resource URI.
func scopeMatches(s, g string) bool {
	return g == s || strings.HasSuffix(g, "/"+s) || strings.HasSuffix(g, "/auth/userinfo."+s)
}

// revokeReplacedTimeout bounds the best-effort revocation after a re-login.
const revokeReplacedTimeout = 15 * time.Second

// revokeReplaced revokes a refresh token that a new login replaced, so it
// does not linger at the provider (Google keeps at most 100 per client and
// account). It only warns on failure: the new login is already stored.
func revokeReplaced(ctx context.Context, opts *LoginOptions, p *auth.Provider, key keyring.Key, refreshToken string) {
	ctx, cancel := context.WithTimeout(ctx, revokeReplacedTimeout)
	defer cancel()
	secret, _, err := resolveClientSecret(ctx, opts.Getenv, opts.Store, p)
	if err == nil {
		err = auth.Revoke(ctx, opts.HTTPClient(), p, auth.ClientCreds{ID: p.ClientID, Secret: secret}, refreshToken, auth.HintRefreshToken)
	}
	if err != nil {
		msg := fmt.Sprintf("warning: could not revoke the replaced refresh token of %s: %s", key, auth.Sanitize(err.Error(), 200))
		if p.ManageURL != "" {
			msg += "; it stays valid until it expires or you remove the app at " + p.ManageURL
		}
		fmt.Fprintln(opts.IO.ErrOut, msg)
	}
}

// printLoginSummary reports a stored login on stderr: who, which account,
// which scopes were granted, and warnings when fewer scopes than requested
// were granted or no refresh token is available.
func printLoginSummary(w io.Writer, p *auth.Provider, acct *keyring.Account, requested []string, tok *auth.Token) {
	who := acct.Identity
	if who == "" {
		who = "an unnamed account"
	}
	line := fmt.Sprintf("Logged in to %s as %s", p.Name, who)
	if acct.Account != acct.Identity {
		line += fmt.Sprintf(" (account %q)", acct.Account)
	}
	fmt.Fprintln(w, line+".")
	if len(acct.Scopes) > 0 {
		fmt.Fprintln(w, "Granted scopes: "+strings.Join(acct.Scopes, " "))
	}
	if tok.Scopes != nil {
		var missing []string
		for _, s := range requested {
			if !scopeGranted(s, tok.Scopes, acct.Refreshable) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			fmt.Fprintf(w, "warning: %s granted fewer scopes than requested; not granted: %s\n", p.Name, strings.Join(missing, " "))
		}
	}
	switch {
	case acct.Refreshable:
	case acct.Expiry.IsZero():
		// GitHub OAuth apps: a token without expiry needs no refresh.
		fmt.Fprintf(w, "note: %s issued an access token without an expiry date and no refresh token; it works until revoked\n", p.Name)
	default:
		fmt.Fprintf(w, "warning: %s issued no refresh token: `oauthctl token %s` works until the access token expires (%s), then needs a new login\n",
			p.Name, p.Name, acct.Expiry.UTC().Format("2006-01-02 15:04 MST"))
	}
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
	return slices.ContainsFunc(granted, func(g string) bool { return scopeMatches(s, g) })
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
