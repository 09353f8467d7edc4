package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

// These tests play a hostile or broken provider (docs/security.md §4): each
// reproduces one attack of issue 10 and fails without its defence.

// streamJunk writes n bytes of JSON-ish filler after prefix, counting what
// it wrote, and stops early when the client goes away.
func streamJunk(w http.ResponseWriter, status int, prefix string, n int64, written *atomic.Int64) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	io.WriteString(w, prefix)
	chunk := []byte(strings.Repeat(" ", 32<<10))
	for sent := int64(0); sent < n; sent += int64(len(chunk)) {
		if _, err := w.Write(chunk); err != nil {
			return
		}
		written.Add(int64(len(chunk)))
	}
}

// TestMalformedTokenRefused: CR/LF in an access token injected headers
// into `curl -H "$(oauthctl token --header)"`, ESC reached the terminal, a
// NUL was stored (issue 10 item 3). Every grant refuses such a token at the
// response: exit 5 (ErrUnavailable), "malformed token", and no token is
// returned to be stored or printed.
func TestMalformedTokenRefused(t *testing.T) {
	t.Parallel()
	bad := []struct{ name, field, value string }{
		{"CRLF header injection in access_token", "access_token", "fake-at\r\nX-Injected: 1"},
		{"ESC in access_token", "access_token", "fake-at\x1b[2J"},
		{"NUL in access_token", "access_token", "fake-at\x00x"},
		{"space in access_token", "access_token", "fake at"},
		{"non-ASCII in access_token", "access_token", "fake-at-é"},
		{"DEL in access_token", "access_token", "fake-at\x7f"},
		{"LF in refresh_token", "refresh_token", "fake-rt\nx"},
		{"C1 in refresh_token", "refresh_token", "fake-rt\u009b31m"},
		{"newline in id_token", "id_token", "a.b\n.c"},
	}
	body := func(field, value string) string {
		m := map[string]string{"access_token": "fake-at", "token_type": "Bearer", "refresh_token": "fake-rt"}
		m[field] = value
		b, _ := json.Marshal(m)
		return string(b)
	}
	check := func(t *testing.T, tok *Token, err error) {
		t.Helper()
		if tok != nil {
			t.Errorf("a token was returned: %q", tok.AccessToken)
		}
		if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "malformed token") {
			t.Errorf("err = %v, want ErrUnavailable: the provider returned a malformed token", err)
		}
		if err != nil && (strings.Contains(err.Error(), "fake-at") || strings.Contains(err.Error(), "fake-rt")) {
			t.Errorf("the error shows the token: %v", err)
		}
	}
	for _, tt := range bad {
		t.Run("refresh/"+tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, jsonReply(200, body(tt.field, tt.value)))
			tok, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", RefreshToken: "fake-rt-1"}, time.Now, fastRetry)
			check(t, tok, err)
		})
		t.Run("client credentials/"+tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, jsonReply(200, body(tt.field, tt.value)))
			tok, err := ClientCredentials(t.Context(), testClient(), ClientCredentialsRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", ClientSecret: "fake-secret"}, time.Now, fastRetry)
			check(t, tok, err)
		})
		t.Run("device/"+tt.name, func(t *testing.T) {
			t.Parallel()
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				if r.URL.Path == "/device" {
					io.WriteString(w, `{"device_code":"fake-dc","user_code":"ABCD-EFGH","verification_uri":"http://127.0.0.1/device","interval":1}`)
					return
				}
				io.WriteString(w, body(tt.field, tt.value))
			}))
			t.Cleanup(srv.Close)
			f := &DeviceFlow{Provider: &Provider{Name: "fake", ClientID: "fake-client", DeviceAuthURL: srv.URL + "/device", TokenURL: srv.URL + "/token"},
				HTTPClient: testClient(), Sleep: func(context.Context, time.Duration) error { return nil }}
			tok, err := f.Run(t.Context(), func(*DeviceCode) error { return nil })
			check(t, tok, err)
		})
		t.Run("code exchange/"+tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, body(tt.field, tt.value))
				return true
			}
			l := startLogin(t, as, nil)
			visit(t, as, l)
			tok, _, err := l.Finish(t.Context())
			check(t, tok, err)
		})
	}
}

// TestResponseBodiesCapped: a 512 MiB JWKS pushed memory to 1.2 GiB and was
// reported as "failed to verify signature" (issue 10 item 5). Every
// provider answer is read through the one 1 MiB cap: the read stops soon
// after 1 MiB and the failure is the provider's (ErrUnavailable, exit 5),
// saying which request it was.
func TestResponseBodiesCapped(t *testing.T) {
	t.Parallel()
	const junk = 64 << 20 // far more than the cap; the server stops when we hang up
	tests := []struct {
		name string
		// serve installs the huge answer and runs the request.
		run     func(t *testing.T, huge http.HandlerFunc) error
		wantMsg string
	}{
		{name: "jwks", wantMsg: "signing keys", run: func(t *testing.T, huge http.HandlerFunc) error {
			as := fakeas.Start(t)
			as.JWKS = func(w http.ResponseWriter, r *http.Request) bool { huge(w, r); return true }
			l := startLogin(t, as, nil)
			visit(t, as, l)
			_, _, err := l.Finish(t.Context())
			return err
		}},
		{name: "discovery", wantMsg: "discovery", run: func(t *testing.T, huge http.HandlerFunc) error {
			srv := httptest.NewServer(huge)
			t.Cleanup(srv.Close)
			_, err := Discover(t.Context(), testClient(), srv.URL)
			return err
		}},
		{name: "userinfo", wantMsg: "userinfo", run: func(t *testing.T, huge http.HandlerFunc) error {
			srv := httptest.NewServer(huge)
			t.Cleanup(srv.Close)
			_, err := FetchUserInfo(t.Context(), testClient(), &Provider{UserinfoURL: srv.URL}, "fake-at")
			return err
		}},
		{name: "token", wantMsg: "1 MiB or larger", run: func(t *testing.T, huge http.HandlerFunc) error {
			srv := httptest.NewServer(huge)
			t.Cleanup(srv.Close)
			_, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: srv.URL, ClientID: "fake-client", RefreshToken: "fake-rt"}, time.Now, RetryPolicy{Attempts: 1})
			return err
		}},
		{name: "device", wantMsg: "1 MiB or larger", run: func(t *testing.T, huge http.HandlerFunc) error {
			srv := httptest.NewServer(huge)
			t.Cleanup(srv.Close)
			f := &DeviceFlow{Provider: &Provider{Name: "fake", ClientID: "fake-client", DeviceAuthURL: srv.URL + "/device", TokenURL: srv.URL + "/token"}, HTTPClient: testClient()}
			_, err := f.Run(t.Context(), func(*DeviceCode) error { return nil })
			return err
		}},
		{name: "revocation", wantMsg: "revocation endpoint", run: func(t *testing.T, huge http.HandlerFunc) error {
			srv := httptest.NewServer(huge)
			t.Cleanup(srv.Close)
			_, err := postRevocation(t.Context(), testClient(), srv.URL, ClientCreds{ID: "fake-client"}, "fake-rt", "refresh_token", ClientAuthNone)
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var written atomic.Int64
			huge := func(w http.ResponseWriter, r *http.Request) {
				status := http.StatusOK
				if tt.name == "revocation" {
					status = http.StatusBadRequest
				}
				streamJunk(w, status, `{"keys":[`, junk, &written)
			}
			err := tt.run(t, huge)
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want ErrUnavailable naming %q", err, tt.wantMsg)
			}
			var ite *IDTokenError
			if errors.As(err, &ite) {
				t.Errorf("a provider failure reported as a bad ID token: %v", err)
			}
			// Socket buffers let the server write somewhat ahead of our reads.
			if w := written.Load(); w > 16<<20 {
				t.Errorf("the server wrote %d MiB before we stopped reading", w>>20)
			}
		})
	}
}

// TestJWKSFailureIsProviderProblem: a key set that cannot be fetched or
// read is the provider's problem (exit 5, naming the keys), not a bad ID
// token (exit 3 "failed to verify signature").
func TestJWKSFailureIsProviderProblem(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		serve func(w http.ResponseWriter)
	}{
		{"500", func(w http.ResponseWriter) { http.Error(w, "down", http.StatusInternalServerError) }},
		{"not JSON", func(w http.ResponseWriter) { io.WriteString(w, "<html>") }},
		{"no usable key", func(w http.ResponseWriter) { io.WriteString(w, `{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.JWKS = func(w http.ResponseWriter, r *http.Request) bool { tt.serve(w); return true }
			l := startLogin(t, as, nil)
			visit(t, as, l)
			_, _, err := l.Finish(t.Context())
			var ite *IDTokenError
			if !errors.Is(err, ErrUnavailable) || errors.As(err, &ite) || !strings.Contains(err.Error(), "signing keys") {
				t.Errorf("err = %v, want ErrUnavailable about the signing keys", err)
			}
		})
	}
}

// TestIDTokenSeveralAudiencesNeedAZP: OIDC Core §3.1.3.7 (3)-(5). A token
// for several audiences without azp was accepted (issue 10 item 10).
func TestIDTokenSeveralAudiencesNeedAZP(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims func(c map[string]any)
		ok     bool
	}{
		{name: "several audiences, no azp", claims: func(c map[string]any) { c["aud"] = []string{"client-1", "other-client"} }},
		{name: "several audiences, azp is us", ok: true, claims: func(c map[string]any) {
			c["aud"] = []string{"client-1", "other-client"}
			c["azp"] = "client-1"
		}},
		{name: "one audience in an array, no azp", ok: true, claims: func(c map[string]any) { c["aud"] = []string{"client-1"} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Claims = tt.claims
			l := startLogin(t, as, nil)
			visit(t, as, l)
			_, _, err := l.Finish(t.Context())
			var ite *IDTokenError
			switch {
			case tt.ok && err != nil:
				t.Errorf("Finish: %v", err)
			case !tt.ok && (!errors.As(err, &ite) || !strings.Contains(err.Error(), "azp")):
				t.Errorf("err = %v, want an IDTokenError about azp", err)
			}
		})
	}
}

// TestSanitize: provider text shown to a person loses every control
// (C0 with ESC, DEL, C1 with CSI), bidi override and format character and
// line separator, and is cut to max runes (issue 10 item 4).
func TestSanitize(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, in string
		max      int
		want     string
	}{
		{"plain", "alice@example.com", 200, "alice@example.com"},
		{"ANSI clear screen", "ali\x1b[2Jce", 200, "ali [2Jce"},
		{"OSC 8 hyperlink", "\x1b]8;;https://evil.example\x07click\x1b]8;;\x07", 200, "]8;;https://evil.example click ]8;;"},
		{"C1 CSI", "a\u009b31mb", 200, "a 31mb"},
		{"CR LF", "line1\r\nline2", 200, "line1 line2"},
		{"NUL and DEL", "a\x00b\x7fc", 200, "a b c"},
		{"bidi override", "user\u202egpj.exe", 200, "user gpj.exe"},
		{"bidi isolates", "\u2066a\u2069", 200, "a"},
		{"zero width", "ad\u200bmin", 200, "ad min"},
		{"line separator", "a\u2028b\u2029c", 200, "a b c"},
		{"invalid UTF-8", "a\xffb", 200, "a b"},
		{"cut", strings.Repeat("x", 300), 10, "xxxxxxxxxx…"},
		{"non-ASCII letters kept", "Zoë Müller 名前", 200, "Zoë Müller 名前"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Sanitize(tt.in, tt.max); got != tt.want {
				t.Errorf("Sanitize(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

// TestDeviceCodeProviderHost: the device flow records the issuer's host (or
// the device endpoint's, for providers without an issuer) so the phishing
// warning can say when the verification page is elsewhere (item 11).
func TestDeviceCodeProviderHost(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/device" {
			io.WriteString(w, `{"device_code":"fake-dc","user_code":"ABCD-EFGH","verification_uri":"https://evil.example/device","interval":1}`)
			return
		}
		io.WriteString(w, `{"access_token":"fake-at","token_type":"Bearer"}`)
	}))
	t.Cleanup(srv.Close)
	for _, issuer := range []string{"", "https://login.example.com"} {
		p := &Provider{Name: "fake", Issuer: issuer, ClientID: "fake-client", DeviceAuthURL: srv.URL + "/device", TokenURL: srv.URL + "/token"}
		var got *DeviceCode
		f := &DeviceFlow{Provider: p, HTTPClient: testClient(), Sleep: func(context.Context, time.Duration) error { return nil }}
		if _, err := f.Run(t.Context(), func(dc *DeviceCode) error { got = dc; return nil }); err != nil {
			t.Fatal(err)
		}
		want := strings.TrimPrefix(srv.URL, "http://")
		if issuer != "" {
			want = "login.example.com"
		}
		if got.ProviderHost != want || !got.OtherHost() {
			t.Errorf("issuer %q: ProviderHost %q (other %v), want %q and other", issuer, got.ProviderHost, got.OtherHost(), want)
		}
	}
}

// TestLocalhostRedirectHalfSquatted: with a fixed http://localhost:PORT
// redirect_uri, another user held [::1]:PORT; the failed bind was ignored,
// Chromium tried ::1 first and the code went to his listener (issue 10
// item 7). Now every loopback family is bound or the login fails at once,
// naming the address, the port and who holds it.
func TestLocalhostRedirectHalfSquatted(t *testing.T) {
	t.Parallel()
	for _, squat := range []struct{ network, addr string }{{"tcp6", "[::1]:0"}, {"tcp4", "127.0.0.1:0"}} {
		t.Run(squat.network, func(t *testing.T) {
			t.Parallel()
			held, err := net.Listen(squat.network, squat.addr)
			if err != nil {
				t.Skipf("no %s loopback here: %v", squat.network, err)
			}
			defer held.Close()
			port := held.Addr().(*net.TCPAddr).Port
			as := fakeas.Start(t)
			p := fakeProvider(as)
			p.RedirectURI = fmt.Sprintf("http://localhost:%d/cb", port)
			l, err := StartLogin(t.Context(), LoginRequest{Provider: p, Scopes: p.Scopes, HTTPClient: fakeas.Client()})
			if err == nil {
				l.Close()
				t.Fatalf("the login started with %s held by someone else", held.Addr())
			}
			want := fmt.Sprintf("cannot listen on %s for the redirect_uri %s", held.Addr(), p.RedirectURI)
			if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), fmt.Sprintf("port %d is held by", port)) &&
				!strings.Contains(err.Error(), "possibly another user's") {
				t.Errorf("err = %v, want %q naming the holder", err, want)
			}
			if testing.Verbose() {
				t.Log(err)
			}
			// The other family was released: nothing of this login listens.
			if ln, err := net.Listen("tcp4", fmt.Sprintf("127.0.0.1:%d", port)); err == nil {
				ln.Close()
			} else if squat.network == "tcp6" {
				t.Errorf("127.0.0.1:%d still bound after the failed start: %v", port, err)
			}
		})
	}
}

// TestLocalhostRedirectBothFamilies: a free fixed localhost port is served
// on every loopback family the machine has.
func TestLocalhostRedirectBothFamilies(t *testing.T) {
	t.Parallel()
	probe, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		t.Skipf("no IPv6 loopback here: %v", err)
	}
	port := probe.Addr().(*net.TCPAddr).Port
	probe.Close()
	as := fakeas.Start(t)
	l := startLogin(t, as, func(r *LoginRequest) { r.Provider.RedirectURI = fmt.Sprintf("http://localhost:%d/cb", port) })
	if len(l.listeners) != 2 {
		t.Fatalf("%d listeners, want 127.0.0.1 and [::1]", len(l.listeners))
	}
	for _, a := range []string{"127.0.0.1", "[::1]"} {
		if ln, err := net.Listen("tcp", fmt.Sprintf("%s:%d", a, port)); err == nil {
			ln.Close()
			t.Errorf("%s:%d is free while the login runs", a, port)
		}
	}
}
