package auth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/testop"
)

// fakeClock is the device flow's injected clock and sleeper: Sleep records
// the duration, runs onSleep (if any) and moves the clock instead of waiting.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	sleeps  []time.Duration
	onSleep func(ctx context.Context, n int) error
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.mu.Lock()
	c.sleeps = append(c.sleeps, d)
	n := len(c.sleeps)
	c.now = c.now.Add(d)
	hook := c.onSleep
	c.mu.Unlock()
	if hook != nil {
		if err := hook(ctx, n); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func (c *fakeClock) Sleeps() []time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]time.Duration(nil), c.sleeps...)
}

// reply is one scripted answer of the fake authorization server. In body,
// {URL} stands for the server's own URL.
type reply struct {
	status int
	body   string
	header map[string]string
	// hang blocks until the request is cancelled.
	hang bool
}

func jsonReply(status int, body string) reply {
	return reply{status: status, body: body, header: map[string]string{"Content-Type": "application/json"}}
}

// seen is one request the fake received.
type seen struct {
	path      string
	form      url.Values
	basicUser string
	basicPass string
	accept    string
}

// fakeAS is a small device-grant authorization server for the faults the
// real OP will not produce. The token endpoint answers the scripted polls in
// order, repeating the last one.
type fakeAS struct {
	srv    *httptest.Server
	device reply
	polls  []reply
	// deviceAuth, tokenAuth: "basic" refuses client_secret in the body,
	// "post" refuses HTTP Basic; "" accepts either.
	deviceAuth, tokenAuth string

	mu    sync.Mutex
	reqs  []seen
	npoll int
}

const (
	fakeDeviceCode = "fake-device-code-do-not-print"
	fakeSecret     = "fake-client-secret"
	fakeAT         = "fake-access-token"
	fakeRT         = "fake-refresh-token"
)

var (
	okDevice = jsonReply(200, `{"device_code":"`+fakeDeviceCode+`","user_code":"WDJB-MJHT","verification_uri":"{URL}/device",
		"verification_uri_complete":"{URL}/device?user_code=WDJB-MJHT","expires_in":600,"interval":5}`)
	okToken  = jsonReply(200, `{"access_token":"`+fakeAT+`","token_type":"Bearer","expires_in":3600,"refresh_token":"`+fakeRT+`","scope":"openid offline_access"}`)
	pending  = jsonReply(400, `{"error":"authorization_pending"}`)
	slowDown = jsonReply(400, `{"error":"slow_down"}`)
)

func startFakeAS(t *testing.T, device reply, polls ...reply) *fakeAS {
	t.Helper()
	as := &fakeAS{device: device, polls: polls}
	as.srv = httptest.NewServer(http.HandlerFunc(as.serve))
	t.Cleanup(as.srv.Close)
	return as
}

func (as *fakeAS) serve(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return
	}
	s := seen{path: r.URL.Path, form: r.PostForm, accept: r.Header.Get("Accept")}
	s.basicUser, s.basicPass, _ = r.BasicAuth()
	as.mu.Lock()
	as.reqs = append(as.reqs, s)
	var rep reply
	mode := as.tokenAuth
	switch r.URL.Path {
	case "/device":
		rep, mode = as.device, as.deviceAuth
	case "/token":
		if len(as.polls) > 0 {
			rep = as.polls[min(as.npoll, len(as.polls)-1)]
		}
	default:
		as.mu.Unlock()
		http.NotFound(w, r)
		return
	}
	as.mu.Unlock()
	if (mode == "basic" && s.basicUser == "" && r.PostForm.Get("client_secret") != "") ||
		(mode == "post" && s.basicUser != "") {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusUnauthorized)
		fmt.Fprint(w, `{"error":"invalid_client"}`)
		return
	}
	if r.URL.Path == "/token" {
		as.mu.Lock()
		as.npoll++
		as.mu.Unlock()
	}
	if rep.hang {
		<-r.Context().Done()
		return
	}
	for k, v := range rep.header {
		w.Header().Set(k, v)
	}
	if rep.status == 0 {
		rep.status = http.StatusOK
	}
	w.WriteHeader(rep.status)
	fmt.Fprint(w, strings.ReplaceAll(rep.body, "{URL}", as.srv.URL))
}

func (as *fakeAS) requests(path string) []seen {
	as.mu.Lock()
	defer as.mu.Unlock()
	var out []seen
	for _, s := range as.reqs {
		if s.path == path {
			out = append(out, s)
		}
	}
	return out
}

func (as *fakeAS) provider() *auth.Provider {
	return &auth.Provider{
		Name:          "fake",
		ClientID:      "fake-client",
		DeviceAuthURL: as.srv.URL + "/device",
		TokenURL:      as.srv.URL + "/token",
		Scopes:        []string{"openid", "offline_access"},
	}
}

// noRedirectClient is like cmd.NewHTTPClient: redirects are not followed.
func noRedirectClient() *http.Client {
	return &http.Client{
		Transport:     newTransport(),
		Timeout:       10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func secs(s ...int) []time.Duration {
	out := make([]time.Duration, len(s))
	for i, v := range s {
		out[i] = time.Duration(v) * time.Second
	}
	return out
}

func TestDeviceFlowPolling(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		device     reply
		polls      []reply
		timeout    time.Duration
		wantSleeps []time.Duration
		wantPolls  int
		// wantErr is the sentinel the error must match; nil means success.
		wantErr error
		wantMsg string
	}{
		{
			name:       "authorization_pending keeps polling at the interval",
			polls:      []reply{pending, pending, okToken},
			wantSleeps: secs(5, 5, 5),
			wantPolls:  3,
		},
		{
			name:       "slow_down adds 5 s for this and every later request",
			polls:      []reply{pending, slowDown, pending, slowDown, okToken},
			wantSleeps: secs(5, 5, 10, 10, 15),
			wantPolls:  5,
		},
		{
			name:       "slow_down with the provider's own larger interval (GitHub, HTTP 200)",
			polls:      []reply{jsonReply(200, `{"error":"slow_down","interval":30}`), okToken},
			wantSleeps: secs(5, 30),
			wantPolls:  2,
		},
		{
			name:       "no interval means 5 s",
			device:     jsonReply(200, `{"device_code":"x","user_code":"AB","verification_uri":"{URL}/device"}`),
			polls:      []reply{pending, okToken},
			wantSleeps: secs(5, 5),
			wantPolls:  2,
		},
		{
			name:       "provider's interval is used",
			device:     jsonReply(200, `{"device_code":"x","user_code":"AB","verification_uri":"{URL}/device","interval":"2"}`),
			polls:      []reply{pending, okToken},
			wantSleeps: secs(2, 2),
			wantPolls:  2,
		},
		{
			name:       "access_denied",
			polls:      []reply{pending, jsonReply(400, `{"error":"access_denied","error_description":"the user said no"}`)},
			wantSleeps: secs(5, 5),
			wantPolls:  2,
			wantErr:    auth.ErrLoginFailed,
			wantMsg:    "sign-in cancelled",
		},
		{
			name:      "access_denied with HTTP 200 (GitHub)",
			polls:     []reply{jsonReply(200, `{"error":"access_denied"}`)},
			wantPolls: 1, wantSleeps: secs(5),
			wantErr: auth.ErrLoginFailed,
			wantMsg: "sign-in cancelled",
		},
		{
			name:      "authorization_declined (Entra ID)",
			polls:     []reply{jsonReply(400, `{"error":"authorization_declined"}`)},
			wantPolls: 1, wantSleeps: secs(5),
			wantErr: auth.ErrLoginFailed,
			wantMsg: "sign-in cancelled",
		},
		{
			name:      "expired_token",
			polls:     []reply{pending, jsonReply(400, `{"error":"expired_token"}`)},
			wantPolls: 2, wantSleeps: secs(5, 5),
			wantErr: auth.ErrLoginFailed,
			wantMsg: "the code expired; run the command again",
		},
		{
			name:       "expires_in passes while pending",
			device:     jsonReply(200, `{"device_code":"x","user_code":"AB","verification_uri":"{URL}/device","expires_in":12}`),
			polls:      []reply{pending},
			wantSleeps: secs(5, 5, 2),
			wantPolls:  3,
			wantErr:    auth.ErrLoginFailed,
			wantMsg:    "the code expired; run the command again",
		},
		{
			name:       "login timeout passes while pending",
			polls:      []reply{pending},
			timeout:    12 * time.Second,
			wantSleeps: secs(5, 5, 2),
			wantPolls:  3,
			wantErr:    auth.ErrTimeout,
			wantMsg:    "timed out after 12s waiting for the code to be entered",
		},
		{
			name:       "token endpoint 500 with HTML: backoff, then exit 5",
			polls:      []reply{{status: 500, body: "<html>\x1b[31mInternal Server Error</html>", header: map[string]string{"Content-Type": "text/html"}}},
			wantSleeps: secs(5, 10, 20, 40),
			wantPolls:  4,
			wantErr:    auth.ErrUnavailable,
			wantMsg:    "token endpoint answered HTTP 500: <html> [31mInternal Server Error</html>",
		},
		{
			name:       "one 503 is retried after backoff",
			polls:      []reply{jsonReply(503, `{"error":"temporarily_unavailable"}`), okToken},
			wantSleeps: secs(5, 10),
			wantPolls:  2,
		},
		{
			name: "Retry-After is honoured",
			polls: []reply{{status: 429, body: "busy", header: map[string]string{"Retry-After": "30"}},
				pending, okToken},
			wantSleeps: secs(5, 30, 5),
			wantPolls:  3,
		},
		{
			name:       "malformed JSON ends the login at once",
			polls:      []reply{jsonReply(200, `{"access_token": "x",`)},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrUnavailable,
			wantMsg:    "malformed token response",
		},
		{
			name:       "200 without access_token",
			polls:      []reply{jsonReply(200, `{"token_type":"Bearer"}`)},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrUnavailable,
			wantMsg:    "malformed token response: no access_token",
		},
		{
			name:       "DPoP token type is refused",
			polls:      []reply{jsonReply(200, `{"access_token":"`+fakeAT+`","token_type":"DPoP"}`)},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrUnavailable,
			wantMsg:    `unsupported token_type "DPoP"`,
		},
		{
			name:       "redirect is not followed",
			polls:      []reply{{status: 307, header: map[string]string{"Location": "https://elsewhere.example/token"}}},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrUnavailable,
			wantMsg:    "token endpoint answered HTTP 307 (redirect to https://elsewhere.example/token not followed)",
		},
		{
			name:       "invalid_client names the environment variables",
			polls:      []reply{jsonReply(401, `{"error":"invalid_client"}`)},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrConfig,
			wantMsg:    "check OAUTHCTL_FAKE_CLIENT_ID; this client may need a secret: set OAUTHCTL_FAKE_CLIENT_SECRET",
		},
		{
			name:       "unknown error is a failed login with a sanitized description",
			polls:      []reply{jsonReply(400, `{"error":"invalid_grant","error_description":"bad\u001b[2Jcode"}`)},
			wantSleeps: secs(5),
			wantPolls:  1,
			wantErr:    auth.ErrLoginFailed,
			wantMsg:    "the device login failed: provider returned invalid_grant: bad [2Jcode",
		},
		{
			name:    "device endpoint 500",
			device:  reply{status: 500, body: "oops"},
			wantErr: auth.ErrUnavailable,
			wantMsg: "device authorization endpoint answered HTTP 500: oops",
		},
		{
			name:    "device endpoint malformed JSON",
			device:  jsonReply(200, `{"device_code":`),
			wantErr: auth.ErrUnavailable,
			wantMsg: "malformed device authorization response: not a JSON object",
		},
		{
			name:    "device endpoint without user_code",
			device:  jsonReply(200, `{"device_code":"x","verification_uri":"{URL}/device"}`),
			wantErr: auth.ErrUnavailable,
			wantMsg: "malformed device authorization response: no user_code",
		},
		{
			name:    "device endpoint refuses the client",
			device:  jsonReply(400, `{"error":"unauthorized_client"}`),
			wantErr: auth.ErrConfig,
			wantMsg: "the client is not allowed to use the device grant",
		},
		{
			name:    "GitHub device flow disabled",
			device:  jsonReply(200, `{"error":"device_flow_disabled"}`),
			wantErr: auth.ErrConfig,
			wantMsg: "enable the device flow",
		},
		{
			name:    "plain http verification_uri is refused",
			device:  jsonReply(200, `{"device_code":"x","user_code":"AB","verification_uri":"http://phish.example/device"}`),
			wantErr: auth.ErrLoginFailed,
			wantMsg: "the provider's verification_uri must use https",
		},
		{
			name:    "javascript verification_uri is refused",
			device:  jsonReply(200, `{"device_code":"x","user_code":"AB","verification_uri":"javascript:alert(1)"}`),
			wantErr: auth.ErrLoginFailed,
			wantMsg: "refusing to send you there",
		},
		{
			name:    "user_code with escape sequences is refused",
			device:  jsonReply(200, `{"device_code":"x","user_code":"AB\u001b[2J","verification_uri":"{URL}/device"}`),
			wantErr: auth.ErrUnavailable,
			wantMsg: "the user_code cannot be shown safely",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			device := tt.device
			if device.status == 0 && device.body == "" {
				device = okDevice
			}
			as := startFakeAS(t, device, tt.polls...)
			clock := newFakeClock()
			f := &auth.DeviceFlow{
				Provider:   as.provider(),
				HTTPClient: noRedirectClient(),
				Timeout:    tt.timeout,
				Now:        clock.Now,
				Sleep:      clock.Sleep,
			}
			shown := 0
			tok, err := f.Run(t.Context(), func(*auth.DeviceCode) error { shown++; return nil })
			if diff := cmp.Diff(tt.wantSleeps, clock.Sleeps()); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			if got := len(as.requests("/token")); got != tt.wantPolls {
				t.Errorf("token requests = %d, want %d", got, tt.wantPolls)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Run: %v", err)
				}
				if tok.AccessToken != fakeAT || tok.RefreshToken != fakeRT || tok.TokenType != "Bearer" {
					t.Errorf("token = %q/%q/%q, want the fake's", tok.AccessToken, tok.RefreshToken, tok.TokenType)
				}
				if want := clock.Now().Add(time.Hour); !tok.Expiry.Equal(want) {
					t.Errorf("expiry = %v, want receipt time + expires_in = %v", tok.Expiry, want)
				}
				if diff := cmp.Diff([]string{"openid", "offline_access"}, tok.Scopes); diff != "" {
					t.Errorf("scopes (-want +got):\n%s", diff)
				}
				return
			}
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("Run error = %v, want one matching %v", err, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error = %q, want it to contain %q", err, tt.wantMsg)
			}
			for _, secret := range []string{fakeDeviceCode, fakeAT, fakeRT, "\x1b"} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("error %q contains %q", err, secret)
				}
			}
			if tok != nil {
				t.Errorf("token returned with an error")
			}
			if wantShown := len(tt.wantSleeps) > 0; (shown == 1) != wantShown {
				t.Errorf("show called %d times, want it called: %v", shown, wantShown)
			}
		})
	}
}

// TestDeviceFlowRequests checks the exact requests: the device authorization
// request and every poll, for a public client and for a confidential one
// whose endpoints accept only one way of sending the secret.
func TestDeviceFlowRequests(t *testing.T) {
	t.Parallel()
	type req struct {
		Path, BasicUser, BasicPass, Accept string
		Form                               url.Values
	}
	devForm := func(extra ...string) url.Values {
		v := url.Values{"scope": {"openid offline_access"}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	pollForm := func(extra ...string) url.Values {
		v := url.Values{"grant_type": {auth.DeviceGrantType}, "device_code": {fakeDeviceCode}}
		for i := 0; i+1 < len(extra); i += 2 {
			v.Set(extra[i], extra[i+1])
		}
		return v
	}
	const json = "application/json"
	tests := []struct {
		name                  string
		secret                string
		method                auth.ClientAuth
		deviceAuth, tokenAuth string
		want                  []req
	}{
		{
			name:   "secret in the form when the style says so (built-in presets)",
			secret: fakeSecret, method: auth.ClientAuthPost,
			want: []req{
				{Path: "/device", Accept: json, Form: devForm("client_id", "fake-client", "client_secret", fakeSecret)},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client", "client_secret", fakeSecret)},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client", "client_secret", fakeSecret)},
			},
		},
		{
			name:   "HTTP Basic when the style says so",
			secret: fakeSecret, method: auth.ClientAuthBasic,
			want: []req{
				{Path: "/device", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: devForm()},
				{Path: "/token", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: pollForm()},
				{Path: "/token", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: pollForm()},
			},
		},
		{
			name: "public client sends client_id in the body",
			want: []req{
				{Path: "/device", Accept: json, Form: devForm("client_id", "fake-client")},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client")},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client")},
			},
		},
		{
			name:   "auto-detect: HTTP Basic first",
			secret: fakeSecret, deviceAuth: "basic", tokenAuth: "basic",
			want: []req{
				{Path: "/device", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: devForm()},
				{Path: "/token", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: pollForm()},
				{Path: "/token", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: pollForm()},
			},
		},
		{
			name:   "auto-detect: falls back to the form once per endpoint",
			secret: fakeSecret, deviceAuth: "post", tokenAuth: "post",
			want: []req{
				{Path: "/device", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: devForm()},
				{Path: "/device", Accept: json, Form: devForm("client_id", "fake-client", "client_secret", fakeSecret)},
				{Path: "/token", Accept: json, BasicUser: "fake-client", BasicPass: fakeSecret, Form: pollForm()},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client", "client_secret", fakeSecret)},
				{Path: "/token", Accept: json, Form: pollForm("client_id", "fake-client", "client_secret", fakeSecret)},
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := startFakeAS(t, okDevice, pending, okToken)
			as.deviceAuth, as.tokenAuth = tt.deviceAuth, tt.tokenAuth
			clock := newFakeClock()
			f := &auth.DeviceFlow{Provider: as.provider(), ClientSecret: tt.secret, ClientAuth: tt.method, HTTPClient: noRedirectClient(), Now: clock.Now, Sleep: clock.Sleep}
			if _, err := f.Run(t.Context(), func(*auth.DeviceCode) error { return nil }); err != nil {
				t.Fatalf("Run: %v", err)
			}
			var got []req
			for _, s := range as.requests("/device") {
				got = append(got, req{s.path, s.basicUser, s.basicPass, s.accept, s.form})
			}
			for _, s := range as.requests("/token") {
				got = append(got, req{s.path, s.basicUser, s.basicPass, s.accept, s.form})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeviceFlowShowsCodes(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		device string
		want   func(url string) auth.DeviceCode
	}{
		{
			name:   "complete URI on the same host is kept",
			device: `{"device_code":"x","user_code":"WDJB-MJHT","verification_uri":"{URL}/device","verification_uri_complete":"{URL}/device?user_code=WDJB-MJHT","expires_in":900,"interval":5}`,
			want: func(u string) auth.DeviceCode {
				return auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: u + "/device", VerificationURIComplete: u + "/device?user_code=WDJB-MJHT",
					ExpiresIn: 15 * time.Minute, Interval: 5 * time.Second}
			},
		},
		{
			name:   "complete URI on another host is dropped",
			device: `{"device_code":"x","user_code":"WDJB-MJHT","verification_uri":"{URL}/device","verification_uri_complete":"https://phish.example/device?user_code=WDJB-MJHT"}`,
			want: func(u string) auth.DeviceCode {
				return auth.DeviceCode{UserCode: "WDJB-MJHT", VerificationURI: u + "/device", Interval: 5 * time.Second}
			},
		},
		{
			name:   "Google's verification_url spelling",
			device: `{"device_code":"x","user_code":"ABC-DEF-GHI","verification_url":"{URL}/device","expires_in":"1800"}`,
			want: func(u string) auth.DeviceCode {
				return auth.DeviceCode{UserCode: "ABC-DEF-GHI", VerificationURI: u + "/device", ExpiresIn: 30 * time.Minute, Interval: 5 * time.Second}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := startFakeAS(t, jsonReply(200, tt.device), okToken)
			clock := newFakeClock()
			f := &auth.DeviceFlow{Provider: as.provider(), HTTPClient: noRedirectClient(), Now: clock.Now, Sleep: clock.Sleep}
			var got auth.DeviceCode
			if _, err := f.Run(t.Context(), func(dc *auth.DeviceCode) error { got = *dc; return nil }); err != nil {
				t.Fatalf("Run: %v", err)
			}
			want := tt.want(as.srv.URL)
			want.Host = strings.TrimPrefix(as.srv.URL, "http://")
			want.ProviderHost = want.Host
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(auth.DeviceCode{}), cmp.FilterPath(func(p cmp.Path) bool {
				return p.Last().String() == ".deviceCode"
			}, cmp.Ignore())); diff != "" {
				t.Errorf("device code (-want +got):\n%s", diff)
			}
		})
	}
}

func TestDeviceFlowConfigErrors(t *testing.T) {
	t.Parallel()
	base := auth.Provider{Name: "fake", ClientID: "id", DeviceAuthURL: "https://as.example/device", TokenURL: "https://as.example/token"}
	tests := []struct {
		name    string
		edit    func(*auth.Provider)
		wantMsg string
	}{
		{"no device endpoint", func(p *auth.Provider) { p.DeviceAuthURL = "" }, `provider "fake" has no device authorization endpoint`},
		{"no client ID", func(p *auth.Provider) { p.ClientID = "" }, "no client ID for provider \"fake\": set OAUTHCTL_FAKE_CLIENT_ID"},
		{"plain http device endpoint", func(p *auth.Provider) { p.DeviceAuthURL = "http://as.example/device" }, "device_auth_url must use https"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := base
			tt.edit(&p)
			called := false
			rt := roundTripFunc(func(*http.Request) (*http.Response, error) {
				called = true
				return nil, errors.New("no network in this test")
			})
			f := &auth.DeviceFlow{Provider: &p, HTTPClient: &http.Client{Transport: rt}}
			_, err := f.Run(t.Context(), func(*auth.DeviceCode) error { t.Error("show called"); return nil })
			if !errors.Is(err, auth.ErrConfig) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Run error = %v, want ErrConfig containing %q", err, tt.wantMsg)
			}
			if called {
				t.Error("a request was sent")
			}
		})
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestDeviceFlowCancel: Ctrl-C while polling returns context.Canceled (exit
// 130), not a timeout.
func TestDeviceFlowCancel(t *testing.T) {
	t.Parallel()
	as := startFakeAS(t, okDevice, pending)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	clock := newFakeClock()
	clock.onSleep = func(_ context.Context, n int) error {
		if n == 2 {
			cancel()
		}
		return nil
	}
	f := &auth.DeviceFlow{Provider: as.provider(), HTTPClient: noRedirectClient(), Now: clock.Now, Sleep: clock.Sleep}
	_, err := f.Run(ctx, func(*auth.DeviceCode) error { return nil })
	if !errors.Is(err, context.Canceled) || errors.Is(err, auth.ErrTimeout) {
		t.Fatalf("Run error = %v, want context.Canceled", err)
	}
	if got := len(as.requests("/token")); got != 1 {
		t.Errorf("token requests = %d, want 1 (none after the cancel)", got)
	}
}

// TestDeviceFlowHang: a token endpoint that never answers is cut off by the
// login timeout (a real one, short), which is reported as a timeout.
func TestDeviceFlowHang(t *testing.T) {
	t.Parallel()
	as := startFakeAS(t, okDevice, reply{hang: true})
	clock := newFakeClock()
	f := &auth.DeviceFlow{Provider: as.provider(), HTTPClient: noRedirectClient(), Timeout: 300 * time.Millisecond, Now: clock.Now, Sleep: clock.Sleep}
	_, err := f.Run(t.Context(), func(*auth.DeviceCode) error { return nil })
	if !errors.Is(err, auth.ErrTimeout) {
		t.Fatalf("Run error = %v, want ErrTimeout", err)
	}
}

// TestDeviceFlowLargeResponse: a body over 1 MiB is refused (exit 5).
func TestDeviceFlowLargeResponse(t *testing.T) {
	t.Parallel()
	big := jsonReply(200, `{"error":"authorization_pending","pad":"`+strings.Repeat("x", 1<<20)+`"}`)
	as := startFakeAS(t, okDevice, big)
	clock := newFakeClock()
	f := &auth.DeviceFlow{Provider: as.provider(), HTTPClient: noRedirectClient(), Now: clock.Now, Sleep: clock.Sleep}
	_, err := f.Run(t.Context(), func(*auth.DeviceCode) error { return nil })
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "1 MiB or larger") {
		t.Fatalf("Run error = %v, want ErrUnavailable about the size", err)
	}
}

// TestDeviceFlowTestOP runs the device grant end to end against the real
// in-process OP: the browser stand-in approves (or denies) the user code
// after the first poll, so the OP answers authorization_pending once.
func TestDeviceFlowTestOP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, clientID, secret string
		scopes                 []string
		deny                   bool
		wantBasic              bool
		wantRefresh            bool
	}{
		{name: "public client", clientID: testop.NativeClientID, scopes: []string{"openid", "profile", "offline_access"}, wantRefresh: true},
		{name: "confidential client", clientID: testop.DeviceClientID, secret: testop.DeviceClientSecret, scopes: []string{"openid", "profile"}, wantBasic: true},
		{name: "user denies", clientID: testop.NativeClientID, scopes: []string{"openid"}, deny: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			ep := op.Endpoints()
			p := &auth.Provider{Name: "testop", Issuer: op.Issuer, ClientID: tt.clientID, DeviceAuthURL: ep.DeviceAuthorization, TokenURL: ep.Token, Scopes: tt.scopes}
			b := testop.NewBrowser(op, testop.Username, testop.Password)
			var userCode string
			clock := newFakeClock()
			clock.onSleep = func(ctx context.Context, n int) error {
				if n != 2 {
					return nil
				}
				if tt.deny {
					return b.DenyDevice(ctx, userCode)
				}
				return b.ApproveDevice(ctx, userCode)
			}
			f := &auth.DeviceFlow{Provider: p, ClientSecret: tt.secret, HTTPClient: op.Client(), Now: clock.Now, Sleep: clock.Sleep}
			tok, err := f.Run(t.Context(), func(dc *auth.DeviceCode) error {
				userCode = dc.UserCode
				if dc.VerificationURI != op.Issuer+"/device" {
					t.Errorf("verification URI = %q, want %q", dc.VerificationURI, op.Issuer+"/device")
				}
				return nil
			})
			polls := op.TokenRequests(auth.DeviceGrantType)
			if len(polls) != 2 {
				t.Fatalf("device token requests = %d, want 2", len(polls))
			}
			if polls[0].Status != http.StatusBadRequest {
				t.Errorf("first poll status = %d, want 400 (authorization_pending)", polls[0].Status)
			}
			for _, r := range polls {
				if (r.BasicAuthUser == tt.clientID) != tt.wantBasic || r.Form.Get("client_secret") != "" {
					t.Errorf("poll authenticated with Basic user %q, client_secret %q; want Basic: %v", r.BasicAuthUser, r.Form.Get("client_secret"), tt.wantBasic)
				}
			}
			if diff := cmp.Diff(secs(5, 5), clock.Sleeps()); diff != "" {
				t.Errorf("sleeps (-want +got):\n%s", diff)
			}
			if tt.deny {
				if !errors.Is(err, auth.ErrLoginFailed) || err.Error() != "sign-in cancelled" {
					t.Fatalf("Run error = %v, want sign-in cancelled", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Run: %v", err)
			}
			if tok.AccessToken == "" || tok.IDToken == "" || tok.TokenType != "Bearer" {
				t.Errorf("token: access %v, id %v, type %q; want access and ID tokens, Bearer", tok.AccessToken != "", tok.IDToken != "", tok.TokenType)
			}
			if (tok.RefreshToken != "") != tt.wantRefresh {
				t.Errorf("refresh token present: %v, want %v", tok.RefreshToken != "", tt.wantRefresh)
			}
			if d := tok.Expiry.Sub(clock.Now()); d <= 0 || d > 5*time.Minute {
				t.Errorf("expiry %v after receipt, want within the OP's 5 minutes", d)
			}
		})
	}
}
