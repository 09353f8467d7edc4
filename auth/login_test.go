package auth

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

// fakeProvider is a provider entry for the fake authorization server.
func fakeProvider(as *fakeas.Server) *Provider {
	return &Provider{
		Name: "fake", Source: SourceUser, Grant: GrantAuthorizationCode,
		Issuer: as.URL, AuthURL: as.URL + "/authorize", TokenURL: as.URL + "/token",
		JWKSURL: as.URL + "/jwks", UserinfoURL: as.URL + "/userinfo", RevocationURL: as.URL + "/revoke",
		ClientID: "client-1", Scopes: []string{"openid", "email"},
	}
}

// startLogin starts a login against as; mod adjusts the request first.
func startLogin(t *testing.T, as *fakeas.Server, mod func(*LoginRequest)) *Login {
	t.Helper()
	p := fakeProvider(as)
	req := LoginRequest{Provider: p, Scopes: p.Scopes, HTTPClient: fakeas.Client()}
	if mod != nil {
		mod(&req)
	}
	l, err := StartLogin(t.Context(), req)
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	t.Cleanup(l.Close)
	return l
}

// answer is the listener's reply to one request.
type answer struct {
	status int
	body   string
	header http.Header
}

// send makes one request to the listener (or anywhere) without following
// redirects; host, when set, replaces the Host header.
func send(t *testing.T, method, rawURL, host string) answer {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), method, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	if host != "" {
		req.Host = host
	}
	resp, err := fakeas.Client().Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, rawURL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return answer{resp.StatusCode, string(body), resp.Header}
}

// waitOutcome waits for the flow's result; the bound turns a hang into a
// failure.
func waitOutcome(t *testing.T, l *Login) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	err := l.Wait(ctx)
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("no outcome")
	}
	return err
}

// visit runs the browser's side of a login through the fake server (its
// authorization endpoint redirects to the listener at once) and waits until
// the listener has taken the callback.
func visit(t *testing.T, as *fakeas.Server, l *Login) {
	t.Helper()
	resp, err := as.Visit(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if err := waitOutcome(t, l); err != nil {
		t.Fatal(err)
	}
}

// completes runs the genuine flow through the fake server's authorization
// endpoint and checks that it succeeds with exactly one exchange, of the
// genuine code: whatever a test sent before did not end or spoil the login.
func completes(t *testing.T, as *fakeas.Server, l *Login) {
	t.Helper()
	loc, err := as.Follow(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	if a := send(t, http.MethodGet, loc, ""); a.status != http.StatusOK || !strings.Contains(a.body, "You are signed in to fake") {
		t.Fatalf("genuine callback: %d %s", a.status, a.body)
	}
	if err := waitOutcome(t, l); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	tok, id, err := l.Finish(t.Context())
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	genuine, _ := url.Parse(loc)
	reqs := as.TokenRequests()
	if len(reqs) != 1 || reqs[0].Get("code") != genuine.Query().Get("code") {
		t.Fatalf("token requests %v, want one with the genuine code", reqs)
	}
	if tok.AccessToken == "" || id.Subject != fakeas.Subject || id.Email != fakeas.Email {
		t.Fatalf("token %+v identity %+v", tok.Scopes, id)
	}
}

// TestCallbackRefusedKeepsWaiting covers docs/security.md fault matrix rows 1, 2, 4, 10, 12
// and 13: requests that are not a genuine authorization response for this
// login are answered without ending it and without any exchange; the
// genuine response then completes it.
func TestCallbackRefusedKeepsWaiting(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		method string
		path   string
		// query is built from the login's real state S.
		query      func(state string) string
		host       func(real string) string
		wantStatus int
		wantPage   string
	}{
		{name: "row 1: wrong state", query: func(string) string { return "code=forged&state=wrong" },
			wantStatus: 400, wantPage: "Unknown or stale sign-in request"},
		{name: "row 1: missing state", query: func(string) string { return "code=forged" },
			wantStatus: 400, wantPage: "Unknown or stale sign-in request"},
		{name: "row 2: forged callback with a guessed state and injected code",
			query:      func(string) string { return "code=injected&state=" + strings.Repeat("A", 43) },
			wantStatus: 400, wantPage: "Unknown or stale sign-in request"},
		{name: "row 4: access_denied without state", query: func(string) string { return "error=access_denied" },
			wantStatus: 400, wantPage: "Unknown or stale sign-in request"},
		{name: "row 4: access_denied with a wrong state", query: func(string) string { return "error=access_denied&state=x" },
			wantStatus: 400, wantPage: "Unknown or stale sign-in request"},
		{name: "row 10: duplicated state", query: func(s string) string { return "code=c&state=" + s + "&state=" + s },
			wantStatus: 400, wantPage: "Bad request"},
		{name: "row 10: duplicated code", query: func(s string) string { return "code=a&code=b&state=" + s },
			wantStatus: 400, wantPage: "Bad request"},
		{name: "row 10: duplicated iss", query: func(s string) string { return "code=a&iss=x&iss=y&state=" + s },
			wantStatus: 400, wantPage: "Bad request"},
		{name: "malformed encoding", query: func(s string) string { return "code=%zz&state=" + s },
			wantStatus: 400, wantPage: "Bad request"},
		{name: "row 12: favicon", path: "/favicon.ico", query: func(string) string { return "" }, wantStatus: 404},
		{name: "row 12: other path with a valid response", path: "/other", query: func(s string) string { return "code=c&state=" + s },
			wantStatus: 404},
		{name: "row 12: POST", method: http.MethodPost, query: func(s string) string { return "code=c&state=" + s }, wantStatus: 405},
		{name: "row 12: HEAD", method: http.MethodHead, query: func(s string) string { return "code=c&state=" + s }, wantStatus: 405},
		{name: "row 13: foreign Host (DNS rebinding)", query: func(s string) string { return "code=c&state=" + s },
			host: func(real string) string { return "evil.example:" + real[strings.LastIndex(real, ":")+1:] }, wantStatus: 421},
		{name: "row 13: localhost instead of the IP literal", query: func(s string) string { return "code=c&state=" + s },
			host: func(real string) string { return "localhost:" + real[strings.LastIndex(real, ":")+1:] }, wantStatus: 421},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			l := startLogin(t, as, nil)
			u := *l.redirect
			if tt.path != "" {
				u.Path = tt.path
			}
			u.RawQuery = tt.query(l.state)
			method := tt.method
			if method == "" {
				method = http.MethodGet
			}
			host := ""
			if tt.host != nil {
				host = tt.host(l.redirect.Host)
			}
			a := send(t, method, u.String(), host)
			if a.status != tt.wantStatus || !strings.Contains(a.body, tt.wantPage) {
				t.Errorf("answer %d %q, want %d with %q", a.status, a.body, tt.wantStatus, tt.wantPage)
			}
			if n := len(as.TokenRequests()); n != 0 {
				t.Fatalf("%d token requests after a refused request", n)
			}
			completes(t, as, l)
		})
	}
}

// TestResponseEndsFlow covers rows 3, 5, 6, 7, 8 and 9: a response with the
// right state ends the login with a classified error and no exchange.
func TestResponseEndsFlow(t *testing.T) {
	t.Parallel()
	longDesc := "\x1b[31mred\x1b[0m <script>alert(1)</script>" + strings.Repeat("x", 10<<10)
	tests := []struct {
		name     string
		redirect func(q url.Values)
		iss      bool // the server advertises and sends iss
		wantIs   []error
		wantMsg  string
		wantPage string
	}{
		{name: "row 3: access_denied", redirect: func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") },
			wantIs: []error{ErrLoginFailed}, wantMsg: "sign-in cancelled (access_denied)", wantPage: "Sign-in cancelled"},
		{name: "row 5: server_error", redirect: func(q url.Values) { q.Del("code"); q.Set("error", "server_error") },
			wantIs: []error{ErrUnavailable}, wantMsg: "the provider refused the sign-in (provider returned server_error)", wantPage: "Sign-in failed"},
		{name: "row 5: temporarily_unavailable", redirect: func(q url.Values) { q.Del("code"); q.Set("error", "temporarily_unavailable") },
			wantIs: []error{ErrUnavailable}, wantMsg: "temporarily_unavailable", wantPage: "Sign-in failed"},
		{name: "row 6: hostile error_description", redirect: func(q url.Values) {
			q.Del("code")
			q.Set("error", "invalid_scope")
			q.Set("error_description", longDesc)
			q.Set("error_uri", "javascript:alert(1)")
		}, wantIs: []error{ErrLoginFailed}, wantMsg: "provider returned invalid_scope: [31mred [0m <script>alert(1)</script>xxx", wantPage: "Sign-in failed"},
		{name: "row 7: neither code nor error", redirect: func(q url.Values) { q.Del("code") },
			wantIs: []error{ErrLoginFailed}, wantMsg: "login failed: malformed authorization response: neither code nor error"},
		{name: "row 8: iss of another issuer", redirect: func(q url.Values) { q.Set("iss", "https://evil.example") },
			wantIs: []error{ErrIssuerMismatch}, wantMsg: `names issuer "https://evil.example"`},
		{name: "row 8: iss checked before trusting an error", redirect: func(q url.Values) {
			q.Del("code")
			q.Set("error", "access_denied")
			q.Set("iss", "https://evil.example")
		}, wantIs: []error{ErrIssuerMismatch}, wantMsg: "issuer mismatch"},
		{name: "row 9: iss missing while advertised", iss: true, redirect: func(q url.Values) { q.Del("iss") },
			wantIs: []error{ErrIssuerMismatch}, wantMsg: "promises an iss parameter but the authorization response has none"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.IssParameter = tt.iss
			as.Redirect = tt.redirect
			l := startLogin(t, as, func(r *LoginRequest) {
				if tt.iss {
					r.Metadata = &Metadata{Issuer: as.URL, IssParameterSupported: true}
				}
			})
			resp, err := as.Visit(l.AuthURL())
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			err = waitOutcome(t, l)
			for _, target := range tt.wantIs {
				if !errors.Is(err, target) {
					t.Errorf("error %v does not match %v", err, target)
				}
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("error %q, want it to contain %q", err, tt.wantMsg)
			}
			if err != nil && (len(err.Error()) > 400 || strings.ContainsRune(err.Error(), '\x1b')) {
				t.Errorf("error not sanitized: %q", err)
			}
			if resp.StatusCode != http.StatusBadRequest || !strings.Contains(string(body), tt.wantPage) ||
				strings.Contains(string(body), "script>") || strings.Contains(string(body), "red") {
				t.Errorf("page %d %q", resp.StatusCode, body)
			}
			if _, _, err := l.Finish(t.Context()); err == nil {
				t.Error("Finish succeeded after a failed response")
			}
			if n := len(as.TokenRequests()); n != 0 {
				t.Errorf("%d token requests, want none", n)
			}
		})
	}
}

// TestIssuerAccepted: a matching iss, required or not, lets the login
// complete.
func TestIssuerAccepted(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	as.IssParameter = true
	l := startLogin(t, as, func(r *LoginRequest) { r.Metadata = &Metadata{Issuer: as.URL, IssParameterSupported: true} })
	completes(t, as, l)
}

// TestSecondCallbackRefused covers row 11: after the first valid response
// the listener answers "Connection: close" and shuts down; a reload, a
// prefetch or a request on a kept-alive connection gets no second exchange.
func TestSecondCallbackRefused(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	loc, err := as.Follow(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	// One connection for both requests, as a browser's keep-alive would.
	conn, err := net.Dial("tcp", l.redirect.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	u, _ := url.Parse(loc)
	fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\n\r\nGET %s HTTP/1.1\r\nHost: %s\r\n\r\n", u.RequestURI(), u.Host, u.RequestURI(), u.Host)
	br := bufio.NewReader(conn)
	first, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, first.Body)
	first.Body.Close()
	if first.StatusCode != 200 || !first.Close { // Close: the answer said "Connection: close"
		t.Errorf("first answer %d, close %v; want 200 and Connection: close", first.StatusCode, first.Close)
	}
	_ = conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	if second, err := http.ReadResponse(br, nil); err == nil {
		t.Errorf("a second response on the kept-alive connection: %d", second.StatusCode)
	}
	if err := waitOutcome(t, l); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Finish(t.Context()); err != nil {
		t.Fatal(err)
	}
	// A reload: the listener is gone, or answers 410.
	l.Close()
	if resp, err := fakeas.Client().Get(loc); err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusGone {
			t.Errorf("reload answered %d", resp.StatusCode)
		}
	}
	if err := l.Submit(loc); !errors.Is(err, ErrAlreadyCompleted) {
		t.Errorf("pasting the same address again: %v, want ErrAlreadyCompleted", err)
	}
	if _, _, err := l.Finish(t.Context()); err == nil {
		t.Error("a second Finish was allowed")
	}
	if n := len(as.TokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestTakeAfterDoneIs410 checks the answer to a response that arrives
// between the end of the flow and the listener's shutdown.
func TestTakeAfterDoneIs410(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	completes(t, as, l)
	status, pg, final, err := l.take("code=c&state=" + l.state)
	if status != http.StatusGone || pg != pageCompleted || final || !errors.Is(err, ErrAlreadyCompleted) {
		t.Errorf("take after done = %d %v %v %v", status, pg, final, err)
	}
}

// TestPageHeaders checks docs/security.md §5 on every kind of answer: no
// caching, no referrer, a CSP that forbids everything, nosniff; and that
// the success page carries neither the code nor the state.
func TestPageHeaders(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	stale := send(t, http.MethodGet, l.redirectURI+"?state=x&code=y", "")
	favicon := send(t, http.MethodGet, "http://"+l.redirect.Host+"/favicon.ico", "")
	loc, err := as.Follow(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	ok := send(t, http.MethodGet, loc, "")
	want := map[string]string{
		"Cache-Control":           "no-store",
		"Referrer-Policy":         "no-referrer",
		"Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
		"X-Content-Type-Options":  "nosniff",
		"Content-Type":            "text/html; charset=utf-8",
	}
	for name, a := range map[string]answer{"stale": stale, "favicon": favicon, "success": ok} {
		got := map[string]string{}
		for k := range want {
			got[k] = a.header.Get(k)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s headers (-want +got):\n%s", name, diff)
		}
		if strings.Contains(strings.ToLower(a.body), "<script") || strings.Contains(a.body, "http") {
			t.Errorf("%s page has a script or a link: %s", name, a.body)
		}
	}
	u, _ := url.Parse(loc)
	if strings.Contains(ok.body, u.Query().Get("code")) || strings.Contains(ok.body, l.state) {
		t.Error("the success page shows the code or the state")
	}
}

// TestSlowClientDoesNotBlock covers row 14: a client that sends half a
// request and stalls (slowloris) is dropped by the server once its header
// deadline passes, while the login is still waiting, and does not keep the
// real callback out.
func TestSlowClientDoesNotBlock(t *testing.T) {
	t.Parallel()
	const rht = 200 * time.Millisecond
	as := fakeas.Start(t)
	l := startLogin(t, as, func(r *LoginRequest) { r.readHeaderTimeout = rht })
	slow, err := net.Dial("tcp", l.redirect.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	if _, err := fmt.Fprintf(slow, "GET /callback?state="); err != nil {
		t.Fatal(err)
	}
	// No callback has been sent, so only the header deadline can end this
	// connection; the production deadline (10 s) would let the read time out.
	_ = slow.SetReadDeadline(time.Now().Add(rht + time.Second))
	data, err := io.ReadAll(slow) // EOF (nil) or a reset: dropped
	var ne net.Error
	if errors.As(err, &ne) && ne.Timeout() {
		t.Fatalf("the stalled connection was not dropped within %s (read %q)", rht+time.Second, data)
	}
	// net/http hangs up silently or, on a half-read request line, with a
	// 400 (408 in some versions); either way the connection is closed.
	if len(data) > 0 && !strings.HasPrefix(string(data), "HTTP/1.1 400 ") && !strings.HasPrefix(string(data), "HTTP/1.1 408 ") {
		t.Errorf("stalled connection answered %q, want nothing, 400 or 408", data)
	}
	cancelled, cancel := context.WithCancel(t.Context())
	cancel()
	if err := l.Wait(cancelled); !errors.Is(err, context.Canceled) {
		t.Fatalf("Wait after the drop = %v, want the login still waiting", err)
	}
	completes(t, as, l) // the genuine callback is still served and accepted
}

// TestWaitTimeoutClosesPort covers row 15 at the flow level: Wait gives up
// with the context, and Close releases the port.
func TestWaitTimeoutClosesPort(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel()
	if err := l.Wait(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Wait = %v, want the deadline", err)
	}
	l.Close()
	if c, err := net.Dial("tcp", l.redirect.Host); err == nil {
		c.Close()
		t.Error("the port still accepts connections")
	}
}

// TestListenFallback covers row 18: without IPv4 loopback the listener
// moves to [::1]; with neither the error says so.
func TestListenFallback(t *testing.T) {
	t.Parallel()
	noIPv4 := func(network, addr string) (net.Listener, error) {
		if strings.HasPrefix(addr, "127.") {
			return nil, &net.OpError{Op: "listen", Net: network, Err: errors.New("cannot assign requested address")}
		}
		return net.Listen(network, addr)
	}
	t.Run("IPv6", func(t *testing.T) {
		t.Parallel()
		if ln, err := net.Listen("tcp6", "[::1]:0"); err != nil {
			t.Skipf("no IPv6 loopback here: %v", err)
		} else {
			ln.Close()
		}
		as := fakeas.Start(t)
		l := startLogin(t, as, func(r *LoginRequest) { r.listen = noIPv4 })
		if !strings.HasPrefix(l.RedirectURI(), "http://[::1]:") || !strings.HasSuffix(l.RedirectURI(), "/callback") {
			t.Fatalf("redirect_uri = %s, want http://[::1]:PORT/callback", l.RedirectURI())
		}
		completes(t, as, l)
	})
	t.Run("none", func(t *testing.T) {
		t.Parallel()
		as := fakeas.Start(t)
		p := fakeProvider(as)
		_, err := StartLogin(t.Context(), LoginRequest{Provider: p, Scopes: p.Scopes, HTTPClient: fakeas.Client(),
			listen: func(network, addr string) (net.Listener, error) {
				return nil, &net.OpError{Op: "listen", Net: network, Err: errors.New("network is unreachable")}
			}})
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "cannot listen on the loopback interface (127.0.0.1: network is unreachable; [::1]: network is unreachable)") {
			t.Errorf("err = %v", err)
		}
	})
}

// TestFixedRedirectURI covers row 17 and the presets with a registered
// port: the redirect_uri is used byte for byte; a port in use fails fast.
func TestFixedRedirectURI(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	held, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	p := fakeProvider(as)
	p.RedirectURI = "http://" + held.Addr().String() + "/oauth2/cb"
	_, err = StartLogin(t.Context(), LoginRequest{Provider: p, Scopes: p.Scopes, HTTPClient: fakeas.Client()})
	want := "cannot listen on " + held.Addr().String() + " for the redirect_uri " + p.RedirectURI
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), want) {
		t.Errorf("port in use: %v, want %q", err, want)
	}

	port := held.Addr().(*net.TCPAddr).Port
	held.Close()
	l := startLogin(t, as, func(r *LoginRequest) {
		r.Provider.RedirectURI = fmt.Sprintf("http://127.0.0.1:%d/oauth2/cb", port)
	})
	if got := l.RedirectURI(); got != fmt.Sprintf("http://127.0.0.1:%d/oauth2/cb", port) {
		t.Errorf("redirect_uri = %s", got)
	}
	if a := send(t, http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d/callback", port), ""); a.status != 404 {
		t.Errorf("the default path answered %d on a fixed redirect", a.status)
	}
	completes(t, as, l)
}

// TestAuthorizationURL checks the request: PKCE S256 whose challenge is the
// verifier's hash, fresh 32-byte state and nonce, the provider's
// auth_params and the extra parameters, none of which may replace what the
// login sets itself; and the redirect_uri on 127.0.0.1 with the real port.
func TestAuthorizationURL(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, func(r *LoginRequest) {
		r.Provider.AuthParams = map[string]string{"access_type": "offline"}
		r.Params = map[string]string{"prompt": "consent", "state": "attacker", "code_challenge_method": "plain", "nonce": "n"}
	})
	u, err := url.Parse(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	sum := sha256.Sum256([]byte(l.verifier))
	want := url.Values{
		"client_id":             {"client-1"},
		"response_type":         {"code"},
		"redirect_uri":          {l.RedirectURI()},
		"scope":                 {"openid email"},
		"state":                 {l.state},
		"nonce":                 {l.nonce},
		"code_challenge":        {base64.RawURLEncoding.EncodeToString(sum[:])},
		"code_challenge_method": {"S256"},
		"access_type":           {"offline"},
		"prompt":                {"consent"},
	}
	if diff := cmp.Diff(want, q); diff != "" {
		t.Errorf("authorization request (-want +got):\n%s", diff)
	}
	if len(l.state) != 43 || len(l.nonce) != 43 || l.state == l.nonce {
		t.Errorf("state %q nonce %q: want distinct base64url of 32 bytes", l.state, l.nonce)
	}
	other := startLogin(t, as, nil)
	if other.state == l.state || other.verifier == l.verifier || other.RedirectURI() == l.RedirectURI() {
		t.Error("two logins share state, verifier or port")
	}
	if !strings.HasPrefix(l.RedirectURI(), "http://127.0.0.1:") || u.Scheme+"://"+u.Host+u.Path != as.URL+"/authorize" {
		t.Errorf("redirect_uri %s, authorization endpoint %s", l.RedirectURI(), u.Redacted())
	}
}

// TestAuthorizationURLNotHTTPS covers row 20: an authorization endpoint
// that is not https (file:, javascript:, plain http off loopback) is a
// configuration error and no listener is left open.
func TestAuthorizationURLNotHTTPS(t *testing.T) {
	t.Parallel()
	for _, authURL := range []string{"javascript:alert(1)", "file:///etc/passwd", "http://example.com/authorize", "data:text/html,hi"} {
		t.Run(authURL, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			p := fakeProvider(as)
			p.AuthURL = authURL
			_, err := StartLogin(t.Context(), LoginRequest{Provider: p, Scopes: p.Scopes, HTTPClient: fakeas.Client()})
			if !errors.Is(err, ErrConfig) {
				t.Errorf("err = %v, want ErrConfig", err)
			}
		})
	}
}

// TestFinishErrors covers row 29 and the other exchange failures.
func TestFinishErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		token   func(w http.ResponseWriter)
		wantIs  error
		wantAs  any
		wantMsg string
	}{
		{name: "row 29: invalid_grant", token: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_grant","error_description":"code expired"}`)
		}, wantIs: ErrLoginFailed, wantAs: new(*CodeRejectedError), wantMsg: "the provider refused the authorization code (provider returned invalid_grant: code expired)"},
		{name: "invalid_client", token: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			io.WriteString(w, `{"error":"invalid_client"}`)
		}, wantIs: ErrConfig, wantAs: new(*ClientAuthError), wantMsg: "rejected the client credentials"},
		{name: "500 with HTML", token: func(w http.ResponseWriter) {
			w.WriteHeader(500)
			io.WriteString(w, "<html>oops</html>")
		}, wantIs: ErrUnavailable, wantMsg: "HTTP 500"},
		{name: "other OAuth error", token: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			io.WriteString(w, `{"error":"invalid_request"}`)
		}, wantIs: ErrLoginFailed, wantMsg: "exchanging the authorization code: provider returned invalid_request"},
		{name: "DPoP token", token: func(w http.ResponseWriter) {
			w.Header().Set("Content-Type", "application/json")
			io.WriteString(w, `{"access_token":"a","token_type":"DPoP"}`)
		}, wantIs: ErrUnavailable, wantMsg: "unsupported token_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool { tt.token(w); return true }
			l := startLogin(t, as, nil)
			visit(t, as, l)
			_, _, err := l.Finish(t.Context())
			if !errors.Is(err, tt.wantIs) || err == nil || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want %v containing %q", err, tt.wantIs, tt.wantMsg)
			}
			if tt.wantAs != nil && !errors.As(err, tt.wantAs) {
				t.Errorf("err = %T, want %T", err, tt.wantAs)
			}
			if n := len(as.TokenRequests()); n != 1 {
				t.Errorf("%d token requests, want exactly 1", n)
			}
		})
	}
}

// TestExchangeCancelled covers row 16's exchange half: cancelling the
// context aborts a token request that hangs.
func TestExchangeCancelled(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	arrived := make(chan struct{})
	as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
		close(arrived)
		<-r.Context().Done()
		return true
	}
	l := startLogin(t, as, nil)
	visit(t, as, l)
	ctx, cancel := context.WithCancel(t.Context())
	go func() { <-arrived; cancel() }()
	if _, _, err := l.Finish(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Finish = %v, want context.Canceled", err)
	}
}

// TestIDTokenChecks covers row 30: every broken ID token is refused with an
// *IDTokenError (exit 3); one expired within the leeway is accepted.
func TestIDTokenChecks(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		claims    func(c map[string]any)
		otherKey  bool
		noIDToken bool
		wantMsg   string // "" means accepted
		wantClock bool
	}{
		{name: "valid"},
		{name: "iss", claims: func(c map[string]any) { c["iss"] = "https://evil.example" }, wantMsg: "id token issued by a different provider"},
		{name: "aud", claims: func(c map[string]any) { c["aud"] = "someone-else" }, wantMsg: `expected audience "client-1"`},
		{name: "azp", claims: func(c map[string]any) { c["aud"] = []string{"client-1", "x"}; c["azp"] = "x" }, wantMsg: "issued to another client (azp)"},
		{name: "nonce", claims: func(c map[string]any) { c["nonce"] = "replayed" }, wantMsg: "nonce does not match"},
		{name: "no nonce", claims: func(c map[string]any) { delete(c, "nonce") }, wantMsg: "nonce does not match"},
		{name: "expired", claims: func(c map[string]any) { c["exp"] = time.Now().Add(-10 * time.Minute).Unix() }, wantMsg: "expired at", wantClock: true},
		{name: "expired within the leeway", claims: func(c map[string]any) { c["exp"] = time.Now().Add(-4 * time.Minute).Unix() }},
		{name: "issued in the future", claims: func(c map[string]any) { c["iat"] = time.Now().Add(10 * time.Minute).Unix() }, wantMsg: "issued in the future", wantClock: true},
		{name: "nbf in the future", claims: func(c map[string]any) { c["nbf"] = time.Now().Add(10 * time.Minute).Unix() }, wantClock: true, wantMsg: "not valid yet"},
		{name: "signature", otherKey: true, wantMsg: "failed to verify signature"},
		{name: "no sub", claims: func(c map[string]any) { delete(c, "sub") }, wantMsg: "no sub claim"},
		{name: "missing", noIDToken: true, wantMsg: "returned no ID token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Claims = tt.claims
			if tt.otherKey {
				as.SignKey = fakeas.NewKey(t)
			}
			if tt.noIDToken {
				as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
					w.Header().Set("Content-Type", "application/json")
					io.WriteString(w, `{"access_token":"a","token_type":"Bearer"}`)
					return true
				}
			}
			l := startLogin(t, as, nil)
			visit(t, as, l)
			_, id, err := l.Finish(t.Context())
			if tt.wantMsg == "" {
				if err != nil || id.Subject != fakeas.Subject {
					t.Fatalf("Finish = %v, %+v", err, id)
				}
				return
			}
			var ite *IDTokenError
			if !errors.As(err, &ite) || !errors.Is(err, ErrLoginFailed) || !strings.Contains(err.Error(), tt.wantMsg) || ite.Clock != tt.wantClock {
				t.Errorf("err = %v (clock %v), want an IDTokenError containing %q (clock %v)", err, ite != nil && ite.Clock, tt.wantMsg, tt.wantClock)
			}
		})
	}
}

// TestMultiTenantIssuer checks Entra ID's template issuer: the ID token's
// tid completes it and the issuer is still compared exactly.
func TestMultiTenantIssuer(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		tid     string
		iss     string // relative to the server
		wantErr string
	}{
		{name: "tid completes the template", tid: "9188040d-6c67-4c5b-b112-36a304b66dad", iss: "/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"},
		{name: "tid of another tenant than iss", tid: "aaaa", iss: "/bbbb/v2.0", wantErr: "id token issued by a different provider"},
		{name: "no tid", iss: "/bbbb/v2.0", wantErr: "no valid tid claim"},
		{name: "tid with a path", tid: "../evil", iss: "/../evil/v2.0", wantErr: "no valid tid claim"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Claims = func(c map[string]any) {
				c["iss"] = as.URL + tt.iss
				if tt.tid != "" {
					c["tid"] = tt.tid
				}
			}
			l := startLogin(t, as, func(r *LoginRequest) { r.Provider.Issuer = as.URL + "/{tenantid}/v2.0" })
			visit(t, as, l)
			_, id, err := l.Finish(t.Context())
			if tt.wantErr == "" {
				if err != nil || id.Issuer != as.URL+tt.iss {
					t.Errorf("Finish = %v, issuer %q", err, id.Issuer)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestIssuerMatches(t *testing.T) {
	t.Parallel()
	const tmpl = "https://login.microsoftonline.com/{tenantid}/v2.0"
	tests := []struct {
		expected, iss string
		want          bool
	}{
		{"https://accounts.google.com", "https://accounts.google.com", true},
		{"https://accounts.google.com", "https://accounts.google.com/", false},
		{"https://accounts.google.com", "accounts.google.com", false},
		{tmpl, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", true},
		{tmpl, "https://login.microsoftonline.com//v2.0", false},
		{tmpl, "https://login.microsoftonline.com/a/b/v2.0", false},
		{tmpl, "https://login.microsoftonline.com/../v2.0", false},
		{tmpl, "https://evil.example/x/v2.0", false},
		{tmpl, tmpl, false},
	}
	for _, tt := range tests {
		if got := issuerMatches(tt.expected, tt.iss); got != tt.want {
			t.Errorf("issuerMatches(%q, %q) = %v, want %v", tt.expected, tt.iss, got, tt.want)
		}
	}
}

// TestSubmit checks pasted redirect addresses: the same checks as the
// listener, plus the address must be this login's redirect URI.
func TestSubmit(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	loc, err := as.Follow(l.AuthURL())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(loc)
	other := *u
	other.Host = "127.0.0.1:1"
	forged := *u
	forged.RawQuery = "code=x&state=forged"
	for _, tt := range []struct {
		line   string
		wantIs error
		want   string
	}{
		{line: "not a url", want: "not this sign-in's redirect address"},
		{line: other.String(), want: "not this sign-in's redirect address"},
		{line: "https://" + u.Host + u.RequestURI(), want: "not this sign-in's redirect address"},
		{line: forged.String(), wantIs: ErrStateMismatch},
		{line: loc + "&state=" + l.state, want: "duplicate parameter"},
	} {
		err := l.Submit(tt.line)
		if err == nil || tt.wantIs != nil && !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("Submit(%q) = %v, want %v %q", tt.line, err, tt.wantIs, tt.want)
		}
	}
	if err := l.Submit("  " + loc + "\r"); err != nil {
		t.Fatalf("Submit(genuine) = %v", err)
	}
	if err := waitOutcome(t, l); err != nil {
		t.Fatal(err)
	}
	if _, _, err := l.Finish(t.Context()); err != nil {
		t.Fatal(err)
	}
	if c, err := net.Dial("tcp", l.redirect.Host); err == nil {
		c.Close()
		l.Close()
		if c, err := net.Dial("tcp", l.redirect.Host); err == nil {
			c.Close()
			t.Error("the listener outlived a pasted response")
		}
	}
}
