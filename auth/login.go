package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/internal/sockowner"
)

// Bounds of the loopback listener (docs/security.md §3.1).
const (
	loopbackReadHeaderTimeout = 10 * time.Second
	loopbackReadTimeout       = 30 * time.Second
	loopbackWriteTimeout      = 30 * time.Second
	loopbackMaxHeaderBytes    = 64 << 10
	// loopbackShutdownTimeout bounds the graceful shutdown once the flow
	// is over; then remaining connections are closed hard.
	loopbackShutdownTimeout = 2 * time.Second
)

// DefaultRedirectPath is the path of the loopback redirect URI. An explicit
// path, rather than "/", keeps Microsoft from rewriting the URI with a
// trailing slash (RFC 8252 §7.3).
const DefaultRedirectPath = "/callback"

// LoginRequest configures a browser login with the authorization code grant.
type LoginRequest struct {
	// Provider has its endpoints resolved (ResolveEndpoints) and its client
	// ID set.
	Provider *Provider
	// ClientSecret authenticates a confidential client at the token
	// endpoint; empty for a public client. It never leaves this process
	// except in the token request.
	ClientSecret string
	// Scopes to request.
	Scopes []string
	// Params are authorization request parameters added to the provider's
	// auth_params (prompt, include_granted_scopes, login_hint). They cannot
	// replace the parameters the login sets itself (state, PKCE, nonce).
	Params map[string]string
	// Metadata is the provider's discovery document, when one was fetched:
	// it tells whether every authorization response carries `iss` (RFC
	// 9207) and which PKCE methods and client authentications it supports.
	Metadata *Metadata
	// ClientAuth is the client authentication remembered for the account
	// being logged in, if any; ChooseClientAuth weighs it after
	// providers.yaml's token_endpoint_auth_method.
	ClientAuth ClientAuth
	// HTTPClient makes the token and JWKS requests.
	HTTPClient *http.Client
	// Now is the clock for token expiry and ID token checks; nil means
	// time.Now.
	Now func() time.Time

	// listen replaces net.Listen in tests (an IPv4 loopback that fails).
	listen func(network, address string) (net.Listener, error)
	// readHeaderTimeout replaces loopbackReadHeaderTimeout in tests.
	readHeaderTimeout time.Duration
}

// Login is one browser login in progress: a one-shot loopback listener that
// waits for the provider's redirect, the secrets of the attempt (state,
// nonce, PKCE verifier: in memory only), and the code exchange. The flow:
//
//	l, err := StartLogin(ctx, req)  // bind 127.0.0.1:0, build the URL
//	defer l.Close()
//	open or print l.AuthURL()
//	err = l.Wait(ctx)               // the first valid response wins
//	tok, id, err := l.Finish(ctx)   // exchange the code once, verify the ID token
//
// Responses arrive on the listener or, pasted by the user, through Submit;
// both are checked the same way (docs/security.md §3.1).
type Login struct {
	req      LoginRequest
	cfg      *oauth2.Config
	auth     ClientAuth // client authentication of the code exchange
	oidc     bool
	issuer   string // expected issuer, "" when the provider has none
	needIss  bool   // the provider promises iss in every response
	state    string
	nonce    string
	verifier string

	redirectURI string
	redirect    *url.URL
	authURL     string
	// Warnings are findings the user should see (e.g. a provider that does
	// not list S256 among its PKCE methods).
	Warnings []string

	srv       *http.Server
	listeners []net.Listener
	serveDone chan struct{}
	closeOnce sync.Once
	closed    chan struct{}

	// The one-time launch address (docs/security.md §3.1): the browser
	// launcher gets launchPath, never the authorization URL; its first
	// visit sets cookie and redirects to the provider.
	launchPath string
	cookie     string

	mu        sync.Mutex
	launcher  launchState
	foreign   []string // other users refused at the launch address or callback
	done      bool     // a state-valid response was taken: the flow is over
	result    chan outcome
	code      string
	gotIss    string
	exchanged bool
}

// launchState is where the one-time launch address stands.
type launchState int

const (
	launchUnused   launchState = iota // no launcher: callbacks need no cookie
	launchPending                     // handed to a launcher, not visited yet
	launchVisited                     // visited once: callbacks need the cookie
	launchDisabled                    // the launcher failed before any visit
)

// LaunchCookie is the name of the cookie that ties the callback to the
// browser that opened the one-time launch address.
const LaunchCookie = "oauthctl_login"

// ErrLaunchReused aborts a login whose one-time launch address was opened a
// second time, or by another user: the launcher's command line, which every
// local user can read, was used by someone else (docs/security.md §3.1).
var ErrLaunchReused = errors.New("the sign-in link was opened by something else; nothing was stored")

// errLaunchRetired is ErrLaunchReused when the launcher had failed: the
// terminal said the one-time address no longer works, and the visit is most
// likely the user's own, so the message says what happened rather than
// blaming "something else".
var errLaunchRetired error = launchRetiredError{}

type launchRetiredError struct{}

func (launchRetiredError) Error() string {
	return "the one-time address was opened after the browser launcher failed, when only the provider's address was valid; nothing was stored"
}

func (launchRetiredError) Is(target error) bool { return target == ErrLaunchReused }

// outcome is what the winning authorization response said.
type outcome struct {
	code string
	iss  string
	err  error
}

// StartLogin prepares a login and starts its listener. Its steps:
//  1. check the client ID and the authorization endpoint (https, or http on
//     a loopback host: never file:, javascript: or plain http elsewhere);
//  2. bind the listener first: 127.0.0.1 on a port the OS picks (RFC 8252
//     §7.3: an IP literal, not "localhost", which may resolve elsewhere or
//     to both families), falling back to [::1] when IPv4 loopback is
//     missing; or exactly the provider's fixed redirect_uri;
//  3. make a fresh state and nonce (32 random bytes each) and a PKCE
//     verifier (S256, always);
//  4. build the authorization URL with the real port in redirect_uri;
//  5. serve.
//
// The caller must Close the Login.
func StartLogin(ctx context.Context, req LoginRequest) (*Login, error) {
	p := req.Provider
	if p.ClientID == "" {
		return nil, fmt.Errorf("%w: no client ID for %s", ErrConfig, p.Name)
	}
	if p.AuthURL == "" || p.TokenURL == "" {
		return nil, fmt.Errorf("%w: %s has no authorization or token endpoint", ErrConfig, p.Name)
	}
	for _, f := range []struct{ name, val string }{{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}} {
		if err := CheckEndpointURL(f.val); err != nil {
			return nil, fmt.Errorf("%w: %s's %s %s", ErrConfig, p.Name, f.name, err)
		}
	}
	if req.Now == nil {
		req.Now = time.Now
	}
	if req.HTTPClient == nil {
		return nil, errors.New("login: no HTTP client")
	}
	l := &Login{
		req:       req,
		issuer:    p.Issuer,
		needIss:   req.Metadata != nil && req.Metadata.IssParameterSupported,
		oidc:      p.Issuer != "" && slices.Contains(req.Scopes, "openid"),
		result:    make(chan outcome, 1),
		serveDone: make(chan struct{}),
		closed:    make(chan struct{}),
	}
	if err := l.listen(); err != nil {
		return nil, err
	}
	var err error
	if l.state, err = randomToken(); err == nil && l.oidc {
		l.nonce, err = randomToken()
	}
	var launch string
	if err == nil {
		launch, err = randomToken()
	}
	if err == nil {
		l.cookie, err = randomToken()
	}
	l.launchPath = "/start/" + launch
	if err != nil {
		l.closeListeners()
		return nil, err
	}
	l.verifier = oauth2.GenerateVerifier()
	if md := req.Metadata; md != nil && len(md.CodeChallengeMethods) > 0 && !slices.Contains(md.CodeChallengeMethods, "S256") {
		l.Warnings = append(l.Warnings, p.Name+" does not list S256 among its PKCE methods; sending it anyway (never plain)")
	}
	l.auth = ChooseClientAuth(p, req.ClientSecret, req.Metadata, req.ClientAuth)
	l.cfg = &oauth2.Config{
		ClientID:     p.ClientID,
		ClientSecret: req.ClientSecret,
		Endpoint:     oauth2.Endpoint{AuthURL: p.AuthURL, TokenURL: p.TokenURL},
		RedirectURL:  l.redirectURI,
		Scopes:       req.Scopes,
	}
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(l.verifier)}
	if l.nonce != "" {
		opts = append(opts, oauth2.SetAuthURLParam("nonce", l.nonce))
	}
	for _, params := range []map[string]string{p.AuthParams, req.Params} {
		keys := make([]string, 0, len(params))
		for k := range params {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !reservedParam(k) {
				opts = append(opts, oauth2.SetAuthURLParam(k, params[k]))
			}
		}
	}
	l.authURL = l.cfg.AuthCodeURL(l.state, opts...)
	if err := checkBrowserURL(l.authURL); err != nil {
		l.closeListeners()
		return nil, fmt.Errorf("%w: %s's authorization URL %s", ErrConfig, p.Name, err)
	}
	l.serve()
	return l, nil
}

// exchangeClient returns a client like c whose requests each go out on a
// connection of their own, and a function that releases it. The code
// exchange must not ride on a pooled keep-alive connection: a server that
// closes idle connections (node's default is after 5 s, while the user was
// in the browser) may close it just as the request goes out, and Go's
// transport does not re-send a POST it already wrote, so the exchange would
// fail with "EOF" and the single-use code would be lost to the user. A
// transport other than *http.Transport is used as it is.
func exchangeClient(c *http.Client) (*http.Client, func()) {
	var base *http.Transport
	switch tr := c.Transport.(type) {
	case nil:
		base, _ = http.DefaultTransport.(*http.Transport)
	case *http.Transport:
		base = tr
	}
	if base == nil {
		return c, func() {}
	}
	fresh := base.Clone()
	fresh.DisableKeepAlives = true
	cp := *c
	cp.Transport = fresh
	return &cp, fresh.CloseIdleConnections
}

// checkBrowserURL accepts only URLs that are safe to hand to a browser
// launcher: https, or http to a loopback host (test providers).
func checkBrowserURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("is not a valid URL")
	}
	if u.Scheme == "https" && u.Host != "" || u.Scheme == "http" && IsLoopbackHost(u.Hostname()) {
		return nil
	}
	return fmt.Errorf("must be https, not %q", Sanitize(u.Scheme, 20))
}

// randomToken returns 32 bytes from crypto/rand, base64url-encoded: the
// guess probability of 2^-256 is far below RFC 6749 §10.10's 2^-128.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// AuthURL is the provider's authorization URL, to print for copying into a
// browser. It carries state, nonce, the PKCE challenge and the port, so it
// must never reach another process's command line: give a launcher
// LaunchURL instead.
func (l *Login) AuthURL() string { return l.authURL }

// LaunchURL returns the one-time loopback address for the browser launcher
// (docs/security.md §3.1) and from then on requires the launch cookie on the
// callback. Its first visit sets the cookie and redirects to AuthURL; a
// second visit, or one by another user (where the OS tells), aborts the
// login with ErrLaunchReused. A launcher's argv, readable by every local
// user, thus carries nothing that completes the login.
func (l *Login) LaunchURL() string {
	l.mu.Lock()
	if l.launcher == launchUnused {
		l.launcher = launchPending
	}
	l.mu.Unlock()
	return (&url.URL{Scheme: l.redirect.Scheme, Host: l.redirect.Host, Path: l.launchPath}).String()
}

// LaunchFailed tells the login that the launcher could not open a browser.
// If nothing visited the launch address yet, it is disabled (a later visit
// aborts the login) and callbacks need no cookie again: the user may copy
// the printed AuthURL into any browser. If something did visit it, the
// cookie stays required.
func (l *Login) LaunchFailed() {
	l.mu.Lock()
	if l.launcher == launchPending {
		l.launcher = launchDisabled
	}
	l.mu.Unlock()
}

// RedirectURI is the loopback redirect URI, with the real port.
func (l *Login) RedirectURI() string { return l.redirectURI }

// listen binds the loopback listener (step 2 of StartLogin).
func (l *Login) listen() error {
	listen := l.req.listen
	if listen == nil {
		listen = net.Listen
	}
	if fixed := l.req.Provider.RedirectURI; fixed != "" {
		u, err := url.Parse(fixed)
		if err != nil {
			return fmt.Errorf("%w: redirect_uri is not a valid URL", ErrConfig)
		}
		host, port := u.Hostname(), u.Port()
		addrs := []string{net.JoinHostPort(host, port)}
		if strings.EqualFold(host, "localhost") {
			// Browsers resolve localhost to either family (Chromium tries
			// ::1 first), so listen on both: a family we leave free is one
			// another local user can bind, and the code goes to him
			// (docs/security.md §3.4). Only a family this machine lacks
			// may be skipped; no browser can connect there either.
			addrs = []string{net.JoinHostPort("127.0.0.1", port), net.JoinHostPort("::1", port)}
		}
		for _, a := range addrs {
			ln, err := listen("tcp", a)
			if err != nil {
				if len(addrs) > 1 && familyMissing(err) {
					continue
				}
				l.closeListeners()
				return &UnavailableError{Msg: fmt.Sprintf("cannot listen on %s for the redirect_uri %s: %s%s",
					a, fixed, Sanitize(innermost(err).Error(), 100), portHolder(a, err)), Err: err}
			}
			l.listeners = append(l.listeners, ln)
		}
		if len(l.listeners) == 0 {
			return &UnavailableError{Msg: fmt.Sprintf("cannot listen on the loopback interface for the redirect_uri %s", fixed)}
		}
		if u.Path == "" {
			u.Path = "/"
		}
		l.redirectURI, l.redirect = fixed, u
		return nil
	}
	ln, err := listen("tcp4", "127.0.0.1:0")
	if err != nil {
		var err6 error
		if ln, err6 = listen("tcp6", "[::1]:0"); err6 != nil {
			return &UnavailableError{Msg: "cannot listen on the loopback interface (127.0.0.1: " +
				Sanitize(innermost(err).Error(), 80) + "; [::1]: " + Sanitize(innermost(err6).Error(), 80) + ")", Err: err}
		}
	}
	l.listeners = []net.Listener{ln}
	l.redirect = &url.URL{Scheme: "http", Host: ln.Addr().String(), Path: DefaultRedirectPath}
	l.redirectURI = l.redirect.String()
	return nil
}

// familyMissing reports a bind error that means "this machine has no such
// loopback address" (no IPv6, say) rather than "someone holds the port".
func familyMissing(err error) bool {
	return errors.Is(err, syscall.EADDRNOTAVAIL) || errors.Is(err, syscall.EAFNOSUPPORT) || errors.Is(err, syscall.EPROTONOSUPPORT)
}

// portHolder says who may hold addr when binding it failed because it is in
// use: the owning user where the OS tells (Linux), else a generic hint.
func portHolder(addr string, err error) string {
	if !errors.Is(err, syscall.EADDRINUSE) {
		return ""
	}
	host, port, _ := net.SplitHostPort(addr)
	n, _ := strconv.Atoi(port)
	if who := sockowner.Describe(host, n); who != "" {
		return fmt.Sprintf("; port %d is held by %s (is another login running?)", n, who)
	}
	return fmt.Sprintf("; another program, possibly another user's, holds port %d (is another login running?)", n)
}

// serve runs the HTTP server on every listener.
func (l *Login) serve() {
	rht := l.req.readHeaderTimeout
	if rht == 0 {
		rht = loopbackReadHeaderTimeout
	}
	l.srv = &http.Server{
		Handler:           l,
		ReadHeaderTimeout: rht,
		ReadTimeout:       loopbackReadTimeout,
		WriteTimeout:      loopbackWriteTimeout,
		MaxHeaderBytes:    loopbackMaxHeaderBytes,
		ErrorLog:          discardLogger(),
	}
	var wg sync.WaitGroup
	for _, ln := range l.listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = l.srv.Serve(ln) // returns ErrServerClosed on Shutdown
		}()
	}
	go func() {
		wg.Wait()
		close(l.serveDone)
	}()
}

// Close stops the listener: a graceful shutdown of at most 2 s (the answer
// page of the winning request is still delivered), then a hard close. It is
// safe to call more than once and from several goroutines; every call
// returns once the port is closed.
func (l *Login) Close() {
	l.closeOnce.Do(func() {
		defer close(l.closed)
		if l.srv == nil {
			l.closeListeners()
			return
		}
		l.srv.SetKeepAlivesEnabled(false)
		ctx, cancel := context.WithTimeout(context.WithoutCancel(context.Background()), loopbackShutdownTimeout)
		defer cancel()
		if err := l.srv.Shutdown(ctx); err != nil {
			_ = l.srv.Close()
		}
		<-l.serveDone
	})
	<-l.closed
}

func (l *Login) closeListeners() {
	for _, ln := range l.listeners {
		_ = ln.Close()
	}
}

// Wait blocks until an authorization response ends the flow or ctx ends.
// It returns nil when a code was accepted; the response's error (denied,
// issuer mismatch, malformed) when one ended the flow; or ctx's error. A
// response that is refused (wrong state, duplicate parameters, foreign
// Host) does not end the wait.
func (l *Login) Wait(ctx context.Context) error {
	select {
	case o := <-l.result:
		if o.err != nil {
			return o.err
		}
		l.mu.Lock()
		l.code, l.gotIss = o.code, o.iss
		l.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Finish exchanges the accepted code for tokens, once, and establishes the
// identity (ResolveIdentity with this login's nonce). Its steps:
//  1. refuse a second call: a code is single-use (RFC 6749 §4.1.2);
//  2. POST the code with the PKCE verifier and the byte-identical
//     redirect_uri, with our HTTP client (timeouts, no redirects);
//  3. classify failures: invalid_grant is a rejected code (exit 3, log in
//     again), invalid_client a client configuration problem (exit 2), 5xx
//     and network failures ErrUnavailable (exit 5);
//  4. accept only Bearer tokens with an access_token;
//  5. verify the ID token; when the response carried `iss` for a
//     multi-tenant issuer, the ID token's issuer must be that same tenant.
func (l *Login) Finish(ctx context.Context) (*Token, *Identity, error) {
	l.mu.Lock()
	code, gotIss, again := l.code, l.gotIss, l.exchanged
	l.exchanged = true
	l.mu.Unlock()
	if again {
		return nil, nil, errors.New("the authorization code was already exchanged")
	}
	if code == "" {
		return nil, nil, errors.New("no authorization code was accepted")
	}
	xclient, release := exchangeClient(l.req.HTTPClient)
	defer release()
	xctx := context.WithValue(ctx, oauth2.HTTPClient, CapBodies(xclient))
	att := &clientAuthAttempt{method: l.auth, secret: l.req.ClientSecret}
	t, err := att.run(xctx, func(ctx context.Context, style oauth2.AuthStyle, secret string) (*oauth2.Token, error) {
		cfg := *l.cfg
		cfg.ClientSecret = secret
		cfg.Endpoint.AuthStyle = style
		return cfg.Exchange(ctx, code, oauth2.VerifierOption(l.verifier))
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		err = classifyExchangeError(ClassifyTokenError(err))
		var cae *ClientAuthError
		if errors.As(err, &cae) {
			cae.Tried = slices.Clone(att.tried)
		}
		return nil, nil, err
	}
	tok, err := FromOAuth2(t, l.req.Now())
	if err != nil {
		return nil, nil, err
	}
	tok.ClientAuth = att.method
	id, err := ResolveIdentity(ctx, l.req.HTTPClient, IdentityRequest{
		Provider: l.req.Provider, ClientID: l.cfg.ClientID, OIDC: l.oidc, Nonce: l.nonce,
		Metadata: l.req.Metadata, Now: l.req.Now,
	}, tok)
	if err != nil {
		return nil, nil, err
	}
	if gotIss != "" && id.Issuer != "" && gotIss != id.Issuer {
		return nil, nil, fmt.Errorf("%w: the authorization response came from %q but the ID token from %q",
			ErrIssuerMismatch, Sanitize(gotIss, 200), Sanitize(id.Issuer, 200))
	}
	return tok, id, nil
}

// CodeRejectedError is a code exchange the provider refused with
// invalid_grant: the code expired, was used already, or the PKCE verifier
// or redirect_uri did not match. Only a new login helps (exit 3).
type CodeRejectedError struct{ *ProviderError }

func (e *CodeRejectedError) Error() string {
	return "the provider refused the authorization code (" + e.ProviderError.Error() + ")"
}

// Unwrap returns the provider error.
func (e *CodeRejectedError) Unwrap() error { return e.ProviderError }

// Is makes every CodeRejectedError match ErrLoginFailed.
func (e *CodeRejectedError) Is(target error) bool { return target == ErrLoginFailed }

// classifyExchangeError maps a classified token-endpoint error of the code
// exchange to what the user can do about it.
func classifyExchangeError(err error) error {
	var ue *UnavailableError
	var pe *ProviderError
	if errors.As(err, &ue) || !errors.As(err, &pe) {
		return fmt.Errorf("exchanging the authorization code: %w", err)
	}
	switch pe.Code {
	case "invalid_grant":
		return &CodeRejectedError{pe}
	case "invalid_client", "unauthorized_client", "incorrect_client_credentials":
		return &ClientAuthError{ProviderError: pe}
	case "":
		if pe.Status == http.StatusUnauthorized {
			return &ClientAuthError{ProviderError: pe}
		}
		return &CodeRejectedError{pe}
	}
	return fmt.Errorf("%w: exchanging the authorization code: %w", ErrLoginFailed, pe)
}

// AuthorizationError is an error response delivered to the redirect URI
// with a valid state (RFC 6749 §4.1.2.1). access_denied means the user
// cancelled. server_error and temporarily_unavailable match ErrUnavailable
// (exit 5, worth a retry); every other code matches ErrLoginFailed (exit 3).
type AuthorizationError struct{ *ProviderError }

func (e *AuthorizationError) Error() string {
	if e.Code == "access_denied" {
		msg := "sign-in cancelled (access_denied"
		if e.Description != "" {
			msg += ": " + e.Description
		}
		return msg + ")"
	}
	return "the provider refused the sign-in (" + e.ProviderError.Error() + ")"
}

// Unwrap returns the provider error.
func (e *AuthorizationError) Unwrap() error { return e.ProviderError }

// Is classifies the error for exit codes.
func (e *AuthorizationError) Is(target error) bool {
	if e.Transient() {
		return target == ErrUnavailable
	}
	return target == ErrLoginFailed
}

// Transient reports whether the provider said to try again later.
func (e *AuthorizationError) Transient() bool {
	return e.Code == "server_error" || e.Code == "temporarily_unavailable"
}

// ErrAlreadyCompleted is a response that arrives after the flow ended.
var ErrAlreadyCompleted = errors.New("this sign-in has already completed")

// page is the answer shown in the browser.
type page int

const (
	pageSuccess page = iota
	pageFailed
	pageCancelled
	pageRefused
	pageStale
	pageCompleted
	pageForeign
	pageReused
	pageRetired
)

// take checks one authorization response, from the listener or pasted.
// A response that fails before the state check (bad encoding, duplicate
// parameters, wrong or missing state) is refused and the flow goes on, so a
// forged request cannot end the login (docs/security.md §3.1). The first response
// with the right state ends the flow whatever it says (A.14): its outcome
// goes to Wait and the listener shuts down. final reports that.
func (l *Login) take(rawQuery string) (status int, pg page, final bool, refusal error) {
	l.mu.Lock()
	done := l.done
	l.mu.Unlock()
	if done {
		return http.StatusGone, pageCompleted, false, ErrAlreadyCompleted
	}
	p, err := ParseCallback(rawQuery)
	if err != nil {
		return http.StatusBadRequest, pageRefused, false, fmt.Errorf("malformed redirect: %v", err)
	}
	if p.State == "" || subtle.ConstantTimeCompare([]byte(p.State), []byte(l.state)) != 1 {
		return http.StatusBadRequest, pageStale, false, ErrStateMismatch
	}
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return http.StatusGone, pageCompleted, false, ErrAlreadyCompleted
	}
	l.done = true
	l.mu.Unlock()

	o := l.evaluate(p)
	l.result <- o
	go l.Close() // single use: no second response is served (RFC 8252 §8.3)
	var ae *AuthorizationError
	switch {
	case o.err == nil:
		return http.StatusOK, pageSuccess, true, nil
	case errors.As(o.err, &ae) && ae.Code == "access_denied":
		return http.StatusBadRequest, pageCancelled, true, nil
	}
	return http.StatusBadRequest, pageFailed, true, nil
}

// evaluate judges a response whose state is valid, in the order RFC 9207
// §2.4 asks: the issuer before anything else (an error response from the
// wrong issuer is not trusted either), then error, then code.
func (l *Login) evaluate(p *CallbackParams) outcome {
	if l.issuer != "" {
		switch {
		case p.HasIss && !issuerMatches(l.issuer, p.Iss):
			return outcome{err: fmt.Errorf("%w: the authorization response names issuer %q, expected %q; no code was exchanged",
				ErrIssuerMismatch, Sanitize(p.Iss, 200), l.issuer)}
		case !p.HasIss && l.needIss:
			return outcome{err: fmt.Errorf("%w: %s promises an iss parameter but the authorization response has none; no code was exchanged",
				ErrIssuerMismatch, l.issuer)}
		}
	}
	if p.Error != "" {
		return outcome{err: &AuthorizationError{&ProviderError{Code: Sanitize(p.Error, 64), Description: Sanitize(p.ErrorDescription, 200)}}}
	}
	if p.Code == "" {
		return outcome{err: fmt.Errorf("%w: malformed authorization response: neither code nor error", ErrLoginFailed)}
	}
	iss := ""
	if p.HasIss {
		iss = p.Iss
	}
	return outcome{code: p.Code, iss: iss}
}

// Submit checks a redirect URL the user pasted (after signing in on another
// machine, whose browser could not reach this listener) exactly like a
// response to the listener. It returns nil when the line ended the flow
// (Wait then reports how), or why it was refused; the caller shows the
// reason and reads the next line.
func (l *Login) Submit(line string) error {
	line = strings.TrimSpace(line)
	u, err := url.Parse(line)
	if err != nil || u.Scheme != l.redirect.Scheme || !strings.EqualFold(u.Host, l.redirect.Host) || u.Path != l.redirect.Path {
		return fmt.Errorf("not this sign-in's redirect address: paste the whole address that starts with %s?", l.redirectURI)
	}
	_, _, final, refusal := l.take(u.RawQuery)
	if final {
		return nil
	}
	return refusal
}

// ServeHTTP answers the loopback listener's requests. Only GET on the
// redirect path with the redirect URI's own Host is a candidate response;
// anything else is answered without touching the flow: 404 for other paths
// (favicon.ico, prefetches), 405 for other methods, 421 for a foreign Host
// (DNS rebinding: a page on evil.example resolving to 127.0.0.1).
func (l *Login) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	switch {
	case r.URL.Path == l.launchPath && r.Method == http.MethodGet && l.hostAllowed(r.Host):
		l.serveLaunch(w, r)
		return
	case r.URL.Path != l.redirect.Path:
		writePage(w, http.StatusNotFound, "Not found", "There is nothing here.")
		return
	case r.Method != http.MethodGet:
		h.Set("Allow", http.MethodGet)
		writePage(w, http.StatusMethodNotAllowed, "Method not allowed", "Only GET is accepted here.")
		return
	case !l.hostAllowed(r.Host):
		writePage(w, http.StatusMisdirectedRequest, "Misdirected request", "This address does not serve that host name.")
		return
	}
	if !l.fromLauncherBrowser(r) {
		// Not the browser oauthctl launched: refused, and the login goes
		// on (a forged request must not end it).
		title, text := pageText(pageForeign, l.req.Provider.Name)
		writePage(w, http.StatusForbidden, title, text)
		return
	}
	status, pg, final, _ := l.take(r.URL.RawQuery)
	if final {
		h.Set("Connection", "close")
	}
	title, text := pageText(pg, l.req.Provider.Name)
	writePage(w, status, title, text)
}

// serveLaunch answers the one-time launch address. A visit by another user
// (where the OS tells) is refused and noted, and the login goes on: he
// learns nothing and cannot stop it. Otherwise the first visit gets the
// cookie and a redirect to the provider, and any later visit ends the
// login with ErrLaunchReused.
func (l *Login) serveLaunch(w http.ResponseWriter, r *http.Request) {
	if foreign := peerForeign(r); foreign != "" {
		l.mu.Lock()
		l.foreign = append(l.foreign, foreign)
		l.mu.Unlock()
		title, text := pageText(pageForeign, l.req.Provider.Name)
		writePage(w, http.StatusForbidden, title, text)
		return
	}
	l.mu.Lock()
	first := l.launcher == launchPending && !l.done
	retired := l.launcher == launchDisabled
	if first {
		l.launcher = launchVisited
	}
	l.mu.Unlock()
	if first {
		http.SetCookie(w, &http.Cookie{Name: LaunchCookie, Value: l.cookie, Path: l.redirect.Path,
			HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Location", l.authURL)
		w.WriteHeader(http.StatusFound)
		return
	}
	if retired {
		l.abort(errLaunchRetired)
		title, text := pageText(pageRetired, l.req.Provider.Name)
		writePage(w, http.StatusGone, title, text)
		return
	}
	l.abort(ErrLaunchReused)
	title, text := pageText(pageReused, l.req.Provider.Name)
	writePage(w, http.StatusGone, title, text)
}

// ForeignVisits names the other users whose requests to the one-time launch
// address or the callback were refused, for a warning.
func (l *Login) ForeignVisits() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Compact(slices.Clone(l.foreign))
}

// abort ends the flow with err unless a response ended it already.
func (l *Login) abort(err error) {
	l.mu.Lock()
	if l.done {
		l.mu.Unlock()
		return
	}
	l.done = true
	l.mu.Unlock()
	l.result <- outcome{err: fmt.Errorf("%w: %w", ErrLoginFailed, err)}
	go l.Close()
}

// fromLauncherBrowser reports whether a callback may be taken: always when
// no launcher was used; otherwise it must carry the launch cookie, or come
// from a connection of this very user (where the OS tells: a user's other
// browser, into which the printed URL was copied, is fine; another user's
// never is).
func (l *Login) fromLauncherBrowser(r *http.Request) bool {
	l.mu.Lock()
	st := l.launcher
	l.mu.Unlock()
	if st == launchUnused || st == launchDisabled {
		return true
	}
	if c, err := r.Cookie(LaunchCookie); err == nil && subtle.ConstantTimeCompare([]byte(c.Value), []byte(l.cookie)) == 1 {
		return true
	}
	if peerIsSelf(r) {
		return true
	}
	if foreign := peerForeign(r); foreign != "" {
		l.mu.Lock()
		l.foreign = append(l.foreign, foreign)
		l.mu.Unlock()
	}
	return false
}

// hostAllowed reports whether a request's Host is the redirect URI's own
// (or, for a fixed localhost redirect, localhost on that port).
func (l *Login) hostAllowed(host string) bool {
	return strings.EqualFold(host, l.redirect.Host)
}

// pageText is the fixed wording of each answer page. No provider text, code
// or token ever appears on it (docs/security.md §4.3).
func pageText(pg page, provider string) (title, text string) {
	switch pg {
	case pageSuccess:
		return "Signed in", "You are signed in to " + provider + ". You can close this tab and return to the terminal."
	case pageCancelled:
		return "Sign-in cancelled", "The sign-in was cancelled. Return to the terminal."
	case pageFailed:
		return "Sign-in failed", "The sign-in did not complete. Return to the terminal for the reason."
	case pageStale:
		return "Unknown or stale sign-in request", "This page does not belong to the sign-in in progress. Return to the terminal."
	case pageCompleted:
		return "Already completed", "This sign-in has already completed. Return to the terminal."
	case pageForeign:
		return "Wrong browser", "This sign-in can only finish in the browser that oauthctl opened. " +
			"To use another browser, run the login again with --no-browser."
	case pageReused:
		return "Sign-in link already used", "This sign-in link was opened more than once, so the sign-in was stopped and nothing was stored. Return to the terminal."
	case pageRetired:
		return "Sign-in link no longer valid", "This address stopped working when oauthctl could not open a browser, so the sign-in was stopped and nothing was stored. " +
			"Run the login again and open the provider's address it prints."
	}
	return "Bad request", "The request was malformed. Return to the terminal."
}
