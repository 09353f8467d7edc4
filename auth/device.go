package auth

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/clock"
	"github.com/oauthctl/oauthctl/internal/human"

	"golang.org/x/oauth2"
)

// DeviceGrantType is the grant_type of the device access token request
// (RFC 8628 §3.4).
const DeviceGrantType = "urn:ietf:params:oauth:grant-type:device_code"

const (
	// deviceDefaultInterval is the poll interval when the provider names none
	// ("If no value is provided, clients MUST use 5 as the default", RFC 8628
	// §3.2).
	deviceDefaultInterval = 5 * time.Second
	// deviceSlowDown is what each slow_down adds to the interval, for this
	// and every later request (RFC 8628 §3.5).
	deviceSlowDown = 5 * time.Second
	// deviceMaxInterval caps a provider's interval so that a silly value
	// cannot overflow; the login deadline bounds the wait anyway.
	deviceMaxInterval = time.Hour
	// deviceMaxLifetime caps a code's expires_in for the same reason.
	deviceMaxLifetime = 24 * time.Hour
	// deviceMaxBackoff caps the exponential backoff after transient failures.
	deviceMaxBackoff = time.Minute
	// deviceMaxRetries is how many transient failures in a row (network
	// error, 5xx, 429, temporarily_unavailable) polling survives; one more
	// ends the login with exit 5 (docs/security.md §5).
	deviceMaxRetries = 3
	// deviceDefaultTimeout bounds the whole login when DeviceFlow.Timeout is
	// zero, like the browser login's default.
	deviceDefaultTimeout = 5 * time.Minute
)

// Causes of a DeviceFlow's own context deadlines, told apart from the
// caller's cancellation (Ctrl-C) with context.Cause.
var (
	errDeviceTimeout = errors.New("device login timed out")
	errDeviceExpired = errors.New("device code expired")
)

// DeviceFlow signs a user in with the device authorization grant (RFC 8628):
// oauthctl shows a short code, the user enters it on the provider's site from
// any browser (a phone, a laptop), and oauthctl polls the token endpoint
// until the provider answers with tokens. Nothing listens locally, so it works
// over SSH, in containers and on machines without a browser.
//
// It does not use x/oauth2's Config.DeviceAccessToken: that waits on a real
// time.Ticker (tests would sleep 5 s per poll), ignores the interval GitHub
// sends with slow_down, ends on the first network error instead of backing
// off (RFC 8628 §3.5), and sends `scope` with every poll.
type DeviceFlow struct {
	// Provider gives the client ID, DeviceAuthURL and TokenURL.
	Provider *Provider
	// ClientSecret authenticates a confidential client; empty for a public one.
	ClientSecret string
	// ClientAuth is how the client authenticates (ChooseClientAuth): the
	// secret in the form, in an HTTP Basic header, or, for ClientAuthAuto
	// (the zero value), Basic first and then the form, remembered per
	// endpoint.
	ClientAuth ClientAuth
	// Scopes to request; nil means Provider.Scopes.
	Scopes []string
	// HTTPClient makes every request (its own per-request timeout applies).
	HTTPClient *http.Client
	// Timeout bounds the whole login; zero means 5 minutes. The device code's
	// own expires_in ends the login earlier when it is shorter.
	Timeout time.Duration
	// Now is the clock for the deadlines and the token expiry; nil means
	// time.Now.
	Now func() time.Time
	// Sleep waits d between polls, returning early with ctx's error; nil
	// means a real timer. Tests inject one that records the durations and
	// moves their fake clock instead of waiting.
	Sleep func(ctx context.Context, d time.Duration) error

	// styles remembers, per endpoint, how the client secret was accepted.
	styles map[string]authStyle
}

// DeviceCode is what the user needs to approve the login: the code to enter
// and where to enter it. The device_code itself, a credential, is kept
// unexported so that it can never be printed.
type DeviceCode struct {
	// UserCode is the code the user types on the provider's site.
	UserCode string
	// VerificationURI is the provider's page where the code is entered.
	VerificationURI string
	// VerificationURIComplete, when the provider sends one, is a link that
	// carries the user code, so the user need not type it. It is kept only
	// when it is on the same host as VerificationURI.
	VerificationURIComplete string
	// Host is VerificationURI's host, named in the phishing warning.
	Host string
	// ProviderHost is the host of the provider's issuer (else of its device
	// endpoint): where the user expects to be. When Host differs, the
	// warning says so plainly (docs/security.md §4.5); a compromised or
	// misconfigured provider could send the user to a lookalike page.
	ProviderHost string
	// ExpiresIn is the lifetime of the codes; zero when the provider did
	// not say.
	ExpiresIn time.Duration
	// Interval is the initial poll interval.
	Interval time.Duration

	deviceCode string
}

// Run performs the device login and returns the tokens. Its steps:
//  1. check the configuration (device endpoint, client ID, https endpoints);
//  2. request a device code and user code from the device authorization
//     endpoint (RFC 8628 §3.1), and check the response: the verification
//     URI must be https (or loopback http) so the user is never sent to a
//     page an eavesdropper can alter;
//  3. call show with the codes, for the caller to put in front of the user;
//  4. poll the token endpoint (§3.4) every interval: keep polling on
//     authorization_pending, add 5 s on slow_down, back off after transient
//     failures, stop on access_denied or expired_token (§3.5);
//  5. return the token response once the user approved.
//
// Everything is bounded by Timeout, the code's expires_in and ctx; a
// cancelled ctx (Ctrl-C) returns context.Canceled. The ID token, if one comes
// back, is returned unverified: the caller verifies it like a browser login's.
func (f *DeviceFlow) Run(ctx context.Context, show func(*DeviceCode) error) (*Token, error) {
	if err := f.check(); err != nil {
		return nil, err
	}
	start := f.now()
	ctx, cancel := context.WithTimeoutCause(ctx, f.timeout(), errDeviceTimeout)
	defer cancel()

	dc, err := f.authorize(ctx)
	if err != nil {
		return nil, f.contextError(ctx, err)
	}
	if dc.ExpiresIn > 0 {
		var cancelExp context.CancelFunc
		ctx, cancelExp = context.WithTimeoutCause(ctx, dc.ExpiresIn, errDeviceExpired)
		defer cancelExp()
	}
	if err := show(dc); err != nil {
		return nil, err
	}
	tok, err := f.poll(ctx, dc, start)
	if err != nil {
		return nil, f.contextError(ctx, err)
	}
	return tok, nil
}

// check rejects a provider that cannot run the device grant.
func (f *DeviceFlow) check() error {
	p := f.Provider
	switch {
	case !p.HasDevice():
		return &deviceError{kind: ErrConfig, msg: fmt.Sprintf(
			"provider %q has no device authorization endpoint (set device_auth_url in providers.yaml, or log in without --device)", p.Name)}
	case p.ClientID == "":
		return &deviceError{kind: ErrConfig, msg: fmt.Sprintf(
			"no client ID for provider %q: set %s or client_id in providers.yaml", p.Name, ClientIDEnv(p.Name))}
	case p.TokenURL == "":
		return &deviceError{kind: ErrConfig, msg: fmt.Sprintf("provider %q has no token endpoint", p.Name)}
	}
	for _, e := range []struct{ name, val string }{{"device_auth_url", p.DeviceAuthURL}, {"token_url", p.TokenURL}} {
		if err := CheckEndpointURL(e.val); err != nil {
			return &deviceError{kind: ErrConfig, msg: fmt.Sprintf("provider %q: %s %s", p.Name, e.name, err)}
		}
	}
	return nil
}

func (f *DeviceFlow) now() time.Time {
	if f.Now != nil {
		return f.Now()
	}
	return time.Now()
}

func (f *DeviceFlow) timeout() time.Duration {
	if f.Timeout > 0 {
		return f.Timeout
	}
	return deviceDefaultTimeout
}

func (f *DeviceFlow) sleep(ctx context.Context, d time.Duration) error {
	if f.Sleep != nil {
		return f.Sleep(ctx, d)
	}
	return clock.Sleep(ctx, d)
}

func (f *DeviceFlow) scopes() []string {
	if f.Scopes != nil {
		return f.Scopes
	}
	return f.Provider.Scopes
}

// contextError turns the end of ctx into the error the user should see: the
// login's own deadlines become "timed out" or "code expired" (exit 3); the
// caller's cancellation stays context.Canceled (exit 130).
func (f *DeviceFlow) contextError(ctx context.Context, err error) error {
	if ctx.Err() == nil {
		return err
	}
	switch cause := context.Cause(ctx); {
	case errors.Is(cause, errDeviceExpired):
		return errCodeExpired()
	case errors.Is(cause, errDeviceTimeout):
		return f.errTimedOut()
	}
	return ctx.Err()
}

func errCodeExpired() error {
	return &deviceError{kind: ErrLoginFailed, msg: "the code expired; run the command again"}
}

func (f *DeviceFlow) errTimedOut() error {
	return &deviceError{kind: ErrTimeout, msg: fmt.Sprintf(
		"timed out after %s waiting for the code to be entered (see --timeout)", human.Duration(f.timeout()))}
}

// authorize requests the device and user codes (RFC 8628 §3.1, §3.2).
func (f *DeviceFlow) authorize(ctx context.Context) (*DeviceCode, error) {
	form := url.Values{}
	if s := f.scopes(); len(s) > 0 {
		form.Set("scope", strings.Join(s, " "))
	}
	resp, err := f.send(ctx, f.Provider.DeviceAuthURL, form)
	if err != nil {
		return nil, err
	}
	const what = "device authorization endpoint"
	if resp.errCode != "" {
		pe := resp.providerError()
		switch {
		case resp.transient():
			return nil, &UnavailableError{Msg: what + ": " + pe.Error(), Err: pe, Status: resp.status, RetryAfter: resp.retryAfter}
		case isClientAuthError(resp.errCode):
			return nil, f.clientError(pe)
		case resp.errCode == "unauthorized_client" || resp.errCode == "device_flow_disabled" || resp.errCode == "unsupported_grant_type":
			return nil, &deviceError{kind: ErrConfig, err: pe, msg: fmt.Sprintf(
				"the client is not allowed to use the device grant (%s); enable the device flow in the app's registration at the provider", pe.Error())}
		case resp.errCode == "invalid_scope":
			return nil, &deviceError{kind: ErrConfig, err: pe, msg: "the provider refused the requested scopes: " + pe.Error()}
		}
		return nil, &deviceError{kind: ErrLoginFailed, err: pe, msg: "the provider refused the device login: " + pe.Error()}
	}
	if err := resp.unexpected(what); err != nil {
		return nil, err
	}
	malformed := func(detail string) error {
		return &UnavailableError{Msg: "malformed device authorization response: " + detail, Status: resp.status}
	}
	if resp.fields == nil {
		return nil, malformed("not a JSON object")
	}
	dc := &DeviceCode{
		deviceCode: stringField(resp.fields, "device_code"),
		UserCode:   stringField(resp.fields, "user_code"),
		// Google spells it verification_url.
		VerificationURI:         firstNonEmpty(stringField(resp.fields, "verification_uri"), stringField(resp.fields, "verification_url")),
		VerificationURIComplete: stringField(resp.fields, "verification_uri_complete"),
		Interval:                deviceDefaultInterval,
	}
	switch {
	case dc.deviceCode == "":
		return nil, malformed("no device_code")
	case dc.UserCode == "":
		return nil, malformed("no user_code")
	case dc.VerificationURI == "":
		return nil, malformed("no verification_uri")
	case len(dc.UserCode) > 64 || Sanitize(dc.UserCode, 64) != dc.UserCode:
		return nil, malformed("the user_code cannot be shown safely")
	}
	vu, err := checkVerificationURI(dc.VerificationURI)
	if err != nil {
		return nil, &deviceError{kind: ErrLoginFailed, msg: "the provider's verification_uri " + err.Error() + "; refusing to send you there"}
	}
	dc.Host = vu.Host
	dc.ProviderHost = providerHost(f.Provider)
	if dc.VerificationURIComplete != "" {
		// The phishing warning names one host; a complete link elsewhere
		// would contradict it, so it is dropped.
		if cu, err := checkVerificationURI(dc.VerificationURIComplete); err != nil || cu.Host != vu.Host || cu.Scheme != vu.Scheme {
			dc.VerificationURIComplete = ""
		}
	}
	if s := numberExtra(resp.fields["expires_in"]); s > 0 {
		dc.ExpiresIn = time.Duration(min(s, int64(deviceMaxLifetime/time.Second))) * time.Second
	}
	if s := numberExtra(resp.fields["interval"]); s > 0 {
		dc.Interval = time.Duration(min(s, int64(deviceMaxInterval/time.Second))) * time.Second
	}
	return dc, nil
}

// providerHost is the host a user of p expects to sign in on: the issuer's,
// else the device endpoint's.
func providerHost(p *Provider) string {
	for _, raw := range []string{p.Issuer, p.DeviceAuthURL} {
		if u, err := url.Parse(raw); err == nil && u.Host != "" {
			return u.Host
		}
	}
	return ""
}

// OtherHost reports whether the verification page is on another host than
// the provider's own (compared without letter case).
func (dc *DeviceCode) OtherHost() bool {
	return dc.ProviderHost != "" && !strings.EqualFold(dc.Host, dc.ProviderHost)
}

// checkVerificationURI accepts an absolute https URL (or loopback http, for
// tests) without user info or control characters.
func checkVerificationURI(raw string) (*url.URL, error) {
	if len(raw) > 2048 || Sanitize(raw, 2048) != raw || strings.ContainsAny(raw, " \"<>\\`") {
		return nil, errors.New("contains characters that cannot be shown safely")
	}
	if err := CheckEndpointURL(raw); err != nil {
		return nil, err
	}
	return url.Parse(raw)
}

// poll asks the token endpoint for the tokens until the user approves or
// denies, the code expires, or a deadline passes (RFC 8628 §3.4, §3.5).
// Deadlines are checked against f.now as well as ctx, so that a test's fake
// clock ends the loop as a real one would.
func (f *DeviceFlow) poll(ctx context.Context, dc *DeviceCode, start time.Time) (*Token, error) {
	form := url.Values{"grant_type": {DeviceGrantType}, "device_code": {dc.deviceCode}}
	deadline, deadlineErr := start.Add(f.timeout()), f.errTimedOut()
	if dc.ExpiresIn > 0 && dc.ExpiresIn < f.timeout() {
		deadline, deadlineErr = start.Add(dc.ExpiresIn), errCodeExpired()
	}
	interval := dc.Interval
	wait := interval
	failures := 0
	for {
		now := f.now()
		if !now.Before(deadline) {
			return nil, deadlineErr
		}
		if rem := deadline.Sub(now); wait > rem {
			wait = rem
		}
		if err := f.sleep(ctx, wait); err != nil {
			return nil, err
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		wait = interval

		resp, err := f.send(ctx, f.Provider.TokenURL, form)
		var transientErr error
		switch {
		case err != nil && ctx.Err() != nil:
			return nil, ctx.Err()
		case err != nil:
			transientErr = err
		case resp.errCode == "authorization_pending":
			failures = 0
			continue
		case resp.errCode == "slow_down":
			failures = 0
			interval = min(interval+deviceSlowDown, deviceMaxInterval)
			// GitHub sends the interval it wants; honour it if larger.
			if s := numberExtra(resp.fields["interval"]); s > 0 {
				interval = max(interval, time.Duration(min(s, int64(deviceMaxInterval/time.Second)))*time.Second)
			}
			wait = interval
			continue
		case resp.errCode != "" && resp.transient():
			pe := resp.providerError()
			transientErr = &UnavailableError{Msg: "token endpoint: " + pe.Error(), Err: pe, Status: resp.status, RetryAfter: resp.retryAfter}
		case resp.errCode != "":
			return nil, f.pollError(resp.providerError())
		default:
			if err := resp.unexpected("token endpoint"); err != nil {
				if resp.status >= 500 || resp.status == http.StatusTooManyRequests {
					transientErr = err
					break
				}
				return nil, err
			}
			tok, err := f.token(resp)
			if tok != nil {
				tok.ClientAuth = f.methodUsed(f.Provider.TokenURL)
			}
			return tok, err
		}
		// A transient failure: back off exponentially (RFC 8628 §3.5 asks
		// for it on connection timeouts), honouring Retry-After, and give up
		// after deviceMaxRetries in a row.
		failures++
		if failures > deviceMaxRetries {
			return nil, transientErr
		}
		wait = min(interval<<failures, max(deviceMaxBackoff, interval))
		var ue *UnavailableError
		if errors.As(transientErr, &ue) && ue.RetryAfter > wait {
			wait = min(ue.RetryAfter, deviceMaxBackoff)
		}
	}
}

// pollError maps a final error response from the token endpoint.
func (f *DeviceFlow) pollError(pe *ProviderError) error {
	switch pe.Code {
	case "access_denied", "authorization_declined": // Entra ID says authorization_declined
		return &deviceError{kind: ErrLoginFailed, err: pe, msg: "sign-in cancelled"}
	case "expired_token":
		return &deviceError{kind: ErrLoginFailed, err: pe, msg: "the code expired; run the command again"}
	case "unauthorized_client", "unsupported_grant_type", "device_flow_disabled":
		return &deviceError{kind: ErrConfig, err: pe, msg: fmt.Sprintf(
			"the client is not allowed to use the device grant (%s); enable the device flow in the app's registration at the provider", pe.Error())}
	}
	if isClientAuthError(pe.Code) {
		return f.clientError(pe)
	}
	return &deviceError{kind: ErrLoginFailed, err: pe, msg: "the device login failed: " + pe.Error()}
}

// clientError explains a rejected client ID or secret and where they come from.
func (f *DeviceFlow) clientError(pe *ProviderError) error {
	name := f.Provider.Name
	msg := fmt.Sprintf("the provider rejected the client credentials (%s): check %s", pe.Error(), ClientIDEnv(name))
	if f.ClientSecret == "" {
		msg += fmt.Sprintf("; this client may need a secret: set %s or run `oauthctl client set %s`", ClientSecretEnv(name), name)
	} else {
		msg += " and the client secret (" + ClientSecretEnv(name) + " or `oauthctl client set " + name + "`)"
	}
	return &deviceError{kind: ErrConfig, err: pe, msg: msg}
}

// isClientAuthError reports the error codes that mean the client
// authentication failed (GitHub says incorrect_client_credentials).
func isClientAuthError(code string) bool {
	return code == "invalid_client" || code == "incorrect_client_credentials"
}

// token builds the Token from a successful token response, through
// FromOAuth2 so that the token type and extra fields are checked exactly as
// for a browser login.
func (f *DeviceFlow) token(resp *response) (*Token, error) {
	malformed := func(detail string) error {
		return &UnavailableError{Msg: "malformed token response: " + detail, Status: resp.status}
	}
	if resp.fields == nil {
		return nil, malformed("not a JSON object")
	}
	at := stringField(resp.fields, "access_token")
	if at == "" {
		return nil, malformed("no access_token")
	}
	now := f.now()
	t := &oauth2.Token{
		AccessToken:  at,
		TokenType:    stringField(resp.fields, "token_type"),
		RefreshToken: stringField(resp.fields, "refresh_token"),
	}
	// FromOAuth2 reads expires_in from the fields, bounded (MaxLifetime).
	return FromOAuth2(t.WithExtra(resp.fields), now)
}

// deviceError is a device-login failure with its own message, matching the
// sentinel kind (ErrConfig, ErrLoginFailed, ErrTimeout) for the exit code and
// unwrapping to the provider's error, if any.
type deviceError struct {
	kind error
	msg  string
	err  error
}

func (e *deviceError) Error() string { return e.msg }

// Is makes the error match its kind.
func (e *deviceError) Is(target error) bool { return target == e.kind }

// Unwrap returns the provider's error, if any.
func (e *deviceError) Unwrap() error { return e.err }

// authStyle is how a client secret is sent.
type authStyle int

const (
	styleUnknown authStyle = iota
	styleHeader            // HTTP Basic (RFC 6749 §2.3.1: servers MUST support it)
	styleParams            // client_secret in the form body
	styleNone              // client_id in the form, no secret (a public client)
)

// send POSTs form to endpoint with client authentication. With a secret,
// ClientAuthAuto and no known style for the endpoint it tries HTTP Basic
// first and, if the provider refuses the client that way, the secret in the
// body, then remembers what worked (as x/oauth2's AuthStyleAutoDetect does):
// a user-defined provider does not say which method its endpoints want.
func (f *DeviceFlow) send(ctx context.Context, endpoint string, form url.Values) (*response, error) {
	m := f.ClientAuth
	if f.ClientSecret == "" || m == ClientAuthNone {
		return f.do(ctx, endpoint, form, styleNone)
	}
	style := f.styles[endpoint]
	switch m {
	case ClientAuthPost:
		style = styleParams
	case ClientAuthBasic:
		style = styleHeader
	}
	if style != styleUnknown {
		return f.do(ctx, endpoint, form, style)
	}
	resp, err := f.do(ctx, endpoint, form, styleHeader)
	if err != nil {
		return nil, err
	}
	if !resp.rejectsClient() {
		if !resp.transient() {
			f.remember(endpoint, styleHeader)
		}
		return resp, nil
	}
	resp2, err := f.do(ctx, endpoint, form, styleParams)
	if err != nil {
		return nil, err
	}
	if !resp2.rejectsClient() && !resp2.transient() {
		f.remember(endpoint, styleParams)
	}
	return resp2, nil
}

// methodUsed is the client authentication that endpoint accepted.
func (f *DeviceFlow) methodUsed(endpoint string) ClientAuth {
	m := f.ClientAuth
	switch {
	case f.ClientSecret == "" || m == ClientAuthNone:
		return ClientAuthNone
	case m != ClientAuthAuto:
		return m
	case f.styles[endpoint] == styleHeader:
		return ClientAuthBasic
	case f.styles[endpoint] == styleParams:
		return ClientAuthPost
	}
	return ClientAuthAuto
}

func (f *DeviceFlow) remember(endpoint string, s authStyle) {
	if f.styles == nil {
		f.styles = map[string]authStyle{}
	}
	f.styles[endpoint] = s
}

// do sends one request and reads the bounded response. Network failures come
// back as *UnavailableError with a description that names no URL.
func (f *DeviceFlow) do(ctx context.Context, endpoint string, form url.Values, style authStyle) (*response, error) {
	v := url.Values{}
	for k, vals := range form {
		v[k] = slices.Clone(vals)
	}
	id := f.Provider.ClientID
	switch {
	case style == styleHeader:
	case f.ClientSecret != "" && style != styleNone:
		v.Set("client_id", id)
		v.Set("client_secret", f.ClientSecret)
	default:
		v.Set("client_id", id)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(v.Encode()))
	if err != nil {
		return nil, &deviceError{kind: ErrConfig, msg: "invalid endpoint URL"}
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	// GitHub answers in form encoding unless asked for JSON.
	req.Header.Set("Accept", "application/json")
	if style == styleHeader {
		// RFC 6749 §2.3.1: both parts form-urlencoded before Basic encoding.
		cred := url.QueryEscape(id) + ":" + url.QueryEscape(f.ClientSecret)
		req.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(cred)))
	}
	client := f.HTTPClient
	if client == nil {
		return nil, errors.New("device login: no HTTP client")
	}
	r, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{Msg: describeNetErr(err), Err: err}
	}
	defer r.Body.Close()
	body, err := readBody(r, "the provider's response")
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	return parseResponse(r, body), nil
}

// response is one answer of the device or token endpoint.
type response struct {
	status     int
	location   string
	retryAfter time.Duration
	body       []byte
	// fields is the decoded JSON object (or form) body; nil if the body is
	// neither.
	fields           map[string]any
	errCode, errDesc string
}

func parseResponse(r *http.Response, body []byte) *response {
	resp := &response{status: r.StatusCode, body: body, retryAfter: retryAfter(r), location: r.Header.Get("Location")}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded", "text/plain":
		if vals, err := url.ParseQuery(string(body)); err == nil && len(vals) > 0 {
			resp.fields = map[string]any{}
			for k := range vals {
				resp.fields[k] = vals.Get(k)
			}
		}
	}
	if resp.fields == nil {
		var m map[string]any
		if json.Unmarshal(body, &m) == nil && m != nil {
			resp.fields = m
		}
	}
	// An error response (RFC 6749 §5.2), also with HTTP 200 (GitHub).
	if resp.fields != nil && (r.StatusCode >= 400 || resp.fields["access_token"] == nil && resp.fields["device_code"] == nil) {
		resp.errCode = stringField(resp.fields, "error")
		resp.errDesc = stringField(resp.fields, "error_description")
	}
	return resp
}

func (r *response) providerError() *ProviderError {
	return &ProviderError{Code: Sanitize(r.errCode, 64), Description: Sanitize(r.errDesc, 200), Status: r.status}
}

// transient reports a failure worth retrying: 5xx, 429 or
// temporarily_unavailable.
func (r *response) transient() bool {
	return r.status >= 500 || r.status == http.StatusTooManyRequests ||
		r.errCode == "temporarily_unavailable" || r.errCode == "server_error"
}

// rejectsClient reports an answer that may mean "not this way of sending
// the client secret": 401, or an error code about the client or request.
func (r *response) rejectsClient() bool {
	return r.status == http.StatusUnauthorized || isClientAuthError(r.errCode) || r.errCode == "invalid_request"
}

// unexpected returns an error for an answer that is neither an OAuth error
// nor a 2xx JSON object: a 5xx HTML page, a redirect (never followed), a 404.
func (r *response) unexpected(what string) error {
	switch {
	case r.status >= 200 && r.status < 300 && r.fields != nil:
		return nil
	case r.status >= 200 && r.status < 300:
		kind := "token"
		if strings.HasPrefix(what, "device") {
			kind = "device authorization"
		}
		return &UnavailableError{Msg: "malformed " + kind + " response: not a JSON object", Status: r.status}
	case r.status >= 300 && r.status < 400:
		return &UnavailableError{Msg: fmt.Sprintf("%s answered HTTP %d (redirect to %s not followed)", what, r.status, Sanitize(r.location, 100)), Status: r.status}
	}
	msg := fmt.Sprintf("%s answered HTTP %d", what, r.status)
	if b := Sanitize(string(r.body), 200); b != "" {
		msg += ": " + b
	}
	return &UnavailableError{Msg: msg, Status: r.status, RetryAfter: r.retryAfter}
}

func stringField(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}
