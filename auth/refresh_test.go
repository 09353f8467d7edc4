package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// fakeTokenEndpoint answers token requests from a script of responses, one
// per request (the last one repeats), and records the forms it received.
type fakeTokenEndpoint struct {
	mu       sync.Mutex
	forms    []url.Values
	basic    []string
	handlers []http.HandlerFunc
	srv      *httptest.Server
}

func newFakeTokenEndpoint(t *testing.T, handlers ...http.HandlerFunc) *fakeTokenEndpoint {
	t.Helper()
	fe := &fakeTokenEndpoint{handlers: handlers}
	fe.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			t.Errorf("parsing the token request: %v", err)
		}
		user, _, _ := r.BasicAuth()
		fe.mu.Lock()
		fe.forms = append(fe.forms, r.PostForm)
		fe.basic = append(fe.basic, user)
		h := fe.handlers[min(len(fe.forms), len(fe.handlers))-1]
		fe.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(fe.srv.Close)
	return fe
}

func (fe *fakeTokenEndpoint) requests() []url.Values {
	fe.mu.Lock()
	defer fe.mu.Unlock()
	return append([]url.Values(nil), fe.forms...)
}

func jsonReply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

const okBody = `{"access_token":"fake-at-2","token_type":"Bearer","expires_in":3600,"refresh_token":"fake-rt-2","scope":"openid email","id_token":"fake-id-2"}`

// fastRetry keeps the tests quick while still exercising the waits.
var fastRetry = RetryPolicy{Backoff: 10 * time.Millisecond, MaxWait: 2 * time.Second, Budget: 10 * time.Second}

func testClient() *http.Client {
	return &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

func TestRefreshSuccess(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name   string
		body   string
		secret string
		auth   ClientAuth
		want   *Token
		basic  string
		form   url.Values
	}{
		{
			name: "rotated, public client",
			body: okBody,
			want: &Token{AccessToken: "fake-at-2", RefreshToken: "fake-rt-2", IDToken: "fake-id-2", TokenType: "Bearer",
				Expiry: now.Add(time.Hour), Lifetime: time.Hour, Scopes: []string{"openid", "email"}, ClientAuth: ClientAuthNone},
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt-1"}, "client_id": {"fake-client"}},
		},
		{
			name: "no new refresh token keeps the old one; secret in the form",
			body: `{"access_token":"fake-at-2","token_type":"bearer","expires_in":60}`,
			want: &Token{AccessToken: "fake-at-2", RefreshToken: "fake-rt-1", TokenType: "Bearer", Expiry: now.Add(time.Minute), Lifetime: time.Minute, ClientAuth: ClientAuthPost},
			auth: ClientAuthPost, secret: "fake-secret",
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt-1"}, "client_id": {"fake-client"}, "client_secret": {"fake-secret"}},
		},
		{
			name: "basic auth, refresh_token_expires_in, no expires_in",
			body: `{"access_token":"fake-at-2","token_type":"Bearer","refresh_token":"fake-rt-2","refresh_token_expires_in":86400}`,
			auth: ClientAuthBasic, secret: "fake-secret", basic: "fake-client",
			want: &Token{AccessToken: "fake-at-2", RefreshToken: "fake-rt-2", TokenType: "Bearer", RefreshExpiry: now.Add(24 * time.Hour), ClientAuth: ClientAuthBasic},
			form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"fake-rt-1"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, jsonReply(200, tt.body))
			got, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client",
				ClientSecret: tt.secret, ClientAuth: tt.auth, RefreshToken: "fake-rt-1"}, func() time.Time { return now }, fastRetry)
			if err != nil {
				t.Fatalf("Refresh: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("token (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]url.Values{tt.form}, fe.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			if fe.basic[0] != tt.basic {
				t.Errorf("basic auth user %q, want %q", fe.basic[0], tt.basic)
			}
		})
	}
}

// TestRefreshErrors covers the token-endpoint faults of docs/security.md fault matrix (rows
// 21-28 as they apply to a refresh, 34 and 40) and the retry rules of B.13.
func TestRefreshErrors(t *testing.T) {
	t.Parallel()
	huge := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"access_token":"`)
		io.WriteString(w, strings.Repeat("a", 2<<20))
		io.WriteString(w, `","token_type":"Bearer"}`)
	}
	tests := []struct {
		name      string
		handlers  []http.HandlerFunc
		timeout   time.Duration
		policy    RetryPolicy
		wantIs    error
		wantType  string
		wantMsg   string // substring
		notMsg    string // must not appear
		wantCalls int
	}{
		{name: "row 34: invalid_grant", handlers: []http.HandlerFunc{jsonReply(400, `{"error":"invalid_grant","error_description":"token revoked"}`)},
			wantIs: ErrReauthRequired, wantType: "*auth.GrantRejectedError", wantMsg: "invalid_grant: token revoked", wantCalls: 1},
		{name: "GitHub bad_refresh_token with HTTP 200", handlers: []http.HandlerFunc{jsonReply(200, `{"error":"bad_refresh_token","error_description":"The refresh token passed is incorrect or expired."}`)},
			wantIs: ErrReauthRequired, wantType: "*auth.GrantRejectedError", wantCalls: 1},
		{name: "row 40: invalid_client", handlers: []http.HandlerFunc{jsonReply(401, `{"error":"invalid_client"}`)},
			wantIs: ErrConfig, wantType: "*auth.ClientAuthError", wantCalls: 1},
		{name: "unauthorized_client", handlers: []http.HandlerFunc{jsonReply(400, `{"error":"unauthorized_client"}`)},
			wantIs: ErrConfig, wantType: "*auth.ClientAuthError", wantCalls: 1},
		{name: "other OAuth error is a rejected grant", handlers: []http.HandlerFunc{jsonReply(400, `{"error":"invalid_request"}`)},
			wantIs: ErrReauthRequired, wantType: "*auth.GrantRejectedError", wantMsg: "rejected the refresh token (provider returned invalid_request)", wantCalls: 1},
		{name: "row 21: 500 with HTML, retried 3 times, sanitized", handlers: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(500)
			io.WriteString(w, "<html>\x1b[31mboom"+strings.Repeat("x", 5000)+"</html>")
		}}, wantIs: ErrUnavailable, wantType: "*auth.UnavailableError", wantMsg: "HTTP 500", notMsg: "\x1b", wantCalls: 3},
		{name: "503 then success", handlers: []http.HandlerFunc{jsonReply(503, `{"error":"temporarily_unavailable"}`), jsonReply(200, okBody)},
			wantCalls: 2},
		{name: "429 honours Retry-After then succeeds", handlers: []http.HandlerFunc{jsonReply(429, `{}`, "Retry-After", "1"), jsonReply(200, okBody)},
			wantCalls: 2},
		{name: "Retry-After longer than MaxWait is not retried", handlers: []http.HandlerFunc{jsonReply(503, `{}`, "Retry-After", "120")},
			wantIs: ErrUnavailable, wantCalls: 1},
		{name: "temporarily_unavailable with HTTP 400 is retried", handlers: []http.HandlerFunc{jsonReply(400, `{"error":"temporarily_unavailable"}`)},
			wantIs: ErrUnavailable, wantCalls: 3},
		{name: "row 22: invalid JSON is not retried", handlers: []http.HandlerFunc{jsonReply(200, `{not json`)},
			wantIs: ErrUnavailable, wantCalls: 1},
		{name: "row 22: no access_token", handlers: []http.HandlerFunc{jsonReply(200, `{"token_type":"Bearer"}`)},
			wantIs: ErrUnavailable, wantMsg: "access_token", wantCalls: 1},
		{name: "row 24: DPoP token type", handlers: []http.HandlerFunc{jsonReply(200, `{"access_token":"fake","token_type":"DPoP"}`)},
			wantIs: ErrUnavailable, wantMsg: "unsupported token_type", wantCalls: 1},
		{name: "row 25: body over 1 MiB", handlers: []http.HandlerFunc{huge}, wantIs: ErrUnavailable, wantCalls: 1},
		{name: "row 28: 307 is not followed", handlers: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "https://evil.example/token", http.StatusTemporaryRedirect)
		}}, wantIs: ErrUnavailable, wantMsg: "not followed", wantCalls: 1},
		{name: "row 26: a hung endpoint times out and is not retried", handlers: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(5 * time.Second):
			}
		}}, timeout: 300 * time.Millisecond, wantIs: ErrUnavailable, wantMsg: "did not answer in time", wantCalls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, tt.handlers...)
			client := testClient()
			if tt.timeout > 0 {
				client.Timeout = tt.timeout
			}
			policy := fastRetry
			if tt.policy != (RetryPolicy{}) {
				policy = tt.policy
			}
			tok, err := Refresh(t.Context(), client, RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", RefreshToken: "fake-rt-1",
				ClientAuth: ClientAuthPost}, time.Now, policy)
			if got := len(fe.requests()); got != tt.wantCalls {
				t.Errorf("%d requests, want %d", got, tt.wantCalls)
			}
			if tt.wantIs == nil && tt.wantType == "" {
				if err != nil || tok.AccessToken != "fake-at-2" {
					t.Fatalf("Refresh = %v, %v; want the token", tok, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Refresh succeeded, want an error")
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not match %v", err, tt.wantIs)
			}
			if tt.wantType != "" && fmt.Sprintf("%T", err) != tt.wantType {
				t.Errorf("error type %T, want %s", err, tt.wantType)
			}
			msg := err.Error()
			if tt.wantMsg != "" && !strings.Contains(msg, tt.wantMsg) {
				t.Errorf("error %q does not contain %q", msg, tt.wantMsg)
			}
			if tt.notMsg != "" && strings.Contains(msg, tt.notMsg) {
				t.Errorf("error %q contains %q", msg, tt.notMsg)
			}
			if len(msg) > 512 {
				t.Errorf("error is %d bytes long, want at most 512", len(msg))
			}
			if strings.Contains(msg, "fake-rt-1") {
				t.Errorf("error %q contains the refresh token", msg)
			}
		})
	}
}

// TestRefreshRetryAfterWaits checks that a Retry-After longer than the
// backoff is honoured, not cut short.
func TestRefreshRetryAfterWaits(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var times []time.Time
	stamp := func(h http.HandlerFunc) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			times = append(times, time.Now())
			mu.Unlock()
			h(w, r)
		}
	}
	fe := newFakeTokenEndpoint(t, stamp(jsonReply(503, `{}`, "Retry-After", "1")), stamp(jsonReply(200, okBody)))
	if _, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", RefreshToken: "fake-rt-1",
		ClientAuth: ClientAuthPost},
		time.Now, fastRetry); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if len(times) != 2 || times[1].Sub(times[0]) < time.Second {
		t.Errorf("requests at %v, want two at least 1s apart", times)
	}
}

// TestRefreshOfflineRetries covers a connection refused: three attempts with
// backoff, then ErrUnavailable (row 41's provider side).
func TestRefreshOfflineRetries(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	start := time.Now()
	_, err = Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: "http://" + addr + "/token", ClientID: "fake-client", RefreshToken: "fake-rt-1"},
		time.Now, RetryPolicy{Backoff: 100 * time.Millisecond})
	if !errors.Is(err, ErrUnavailable) || !strings.Contains(err.Error(), "cannot reach the provider") {
		t.Errorf("Refresh error %v, want ErrUnavailable: cannot reach the provider", err)
	}
	if d := time.Since(start); d < 300*time.Millisecond {
		t.Errorf("gave up after %v, want backoff waits of 100ms+200ms", d)
	}
}

func TestRefreshCancelled(t *testing.T) {
	t.Parallel()
	fe := newFakeTokenEndpoint(t, jsonReply(503, `{}`, "Retry-After", "2"))
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(200*time.Millisecond, cancel)
	_, err := Refresh(ctx, testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", RefreshToken: "fake-rt-1"},
		time.Now, RetryPolicy{MaxWait: 5 * time.Second})
	if !errors.Is(err, context.Canceled) {
		t.Errorf("error %v, want context.Canceled", err)
	}
}

func TestClientCredentialsGrant(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	fe := newFakeTokenEndpoint(t, jsonReply(503, `{}`), jsonReply(200, `{"access_token":"fake-cc","token_type":"Bearer","expires_in":300}`))
	tok, err := ClientCredentials(t.Context(), testClient(), ClientCredentialsRequest{TokenURL: fe.srv.URL, ClientID: "fake-client",
		ClientSecret: "fake-secret", ClientAuth: ClientAuthBasic, Scopes: []string{"a", "b"}, Params: url.Values{"audience": {"api"}}},
		func() time.Time { return now }, fastRetry)
	if err != nil {
		t.Fatalf("ClientCredentials: %v", err)
	}
	want := &Token{AccessToken: "fake-cc", TokenType: "Bearer", Expiry: now.Add(5 * time.Minute), Lifetime: 5 * time.Minute, ClientAuth: ClientAuthBasic}
	if diff := cmp.Diff(want, tok); diff != "" {
		t.Errorf("token (-want +got):\n%s", diff)
	}
	form := url.Values{"grant_type": {"client_credentials"}, "scope": {"a b"}, "audience": {"api"}}
	if diff := cmp.Diff([]url.Values{form, form}, fe.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if fe.basic[1] != "fake-client" {
		t.Errorf("basic auth user %q, want fake-client", fe.basic[1])
	}
	if _, err := ClientCredentials(t.Context(), testClient(), ClientCredentialsRequest{TokenURL: fe.srv.URL, ClientID: "fake-client"}, time.Now, fastRetry); err == nil {
		t.Error("ClientCredentials without a secret succeeded")
	}
}

// TestRefreshAuthStyleProbe checks the careful probe of a confidential
// client's authentication style: the form is tried only after the provider
// rejected Basic, never after a 5xx or invalid_grant (which would present
// the refresh token twice).
func TestRefreshAuthStyleProbe(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name      string
		handlers  []http.HandlerFunc
		wantBasic []string
		wantErr   bool
	}{
		{"basic works", []http.HandlerFunc{jsonReply(200, okBody)}, []string{"fake-client"}, false},
		{"basic rejected, form works", []http.HandlerFunc{jsonReply(401, `{"error":"invalid_client"}`), jsonReply(200, okBody)},
			[]string{"fake-client", ""}, false},
		{"invalid_grant is not re-sent", []http.HandlerFunc{jsonReply(400, `{"error":"invalid_grant"}`)}, []string{"fake-client"}, true},
		{"5xx is retried with basic only", []http.HandlerFunc{jsonReply(502, `{}`), jsonReply(200, okBody)},
			[]string{"fake-client", "fake-client"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, tt.handlers...)
			_, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client", ClientSecret: "fake-secret",
				ClientAuth: ClientAuthAuto, RefreshToken: "fake-rt-1"}, time.Now, fastRetry)
			if (err != nil) != tt.wantErr {
				t.Errorf("Refresh error %v, want error %v", err, tt.wantErr)
			}
			fe.mu.Lock()
			defer fe.mu.Unlock()
			if diff := cmp.Diff(tt.wantBasic, fe.basic); diff != "" {
				t.Errorf("basic auth users per request (-want +got):\n%s", diff)
			}
		})
	}
}
