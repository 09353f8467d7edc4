package auth

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

func TestParseClientAuth(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "none", "client_secret_basic", "client_secret_post"} {
		if got, err := ParseClientAuth(s); err != nil || string(got) != s {
			t.Errorf("ParseClientAuth(%q) = %q, %v", s, got, err)
		}
	}
	for _, s := range []string{"private_key_jwt", "basic", "Client_Secret_Post", "client_secret_jwt"} {
		if _, err := ParseClientAuth(s); err == nil {
			t.Errorf("ParseClientAuth(%q) accepted", s)
		}
	}
}

func TestChooseClientAuth(t *testing.T) {
	t.Parallel()
	md := func(methods ...string) *Metadata { return &Metadata{TokenAuthMethods: methods} }
	tests := []struct {
		name       string
		configured string
		secret     string
		md         *Metadata
		remembered ClientAuth
		want       ClientAuth
	}{
		{name: "public client", secret: "", md: md("client_secret_basic"), want: ClientAuthNone},
		{name: "public client, even when configured", configured: "client_secret_post", want: ClientAuthNone},
		{name: "configured post beats discovery and memory", configured: "client_secret_post", secret: "s",
			md: md("client_secret_basic"), remembered: ClientAuthBasic, want: ClientAuthPost},
		{name: "configured basic", configured: "client_secret_basic", secret: "s", want: ClientAuthBasic},
		{name: "configured none drops the secret", configured: "none", secret: "s", want: ClientAuthNone},
		{name: "remembered beats discovery", secret: "s", md: md("client_secret_basic"), remembered: ClientAuthPost, want: ClientAuthPost},
		{name: "discovery lists only post", secret: "s", md: md("client_secret_post", "private_key_jwt"), want: ClientAuthPost},
		{name: "discovery lists only basic", secret: "s", md: md("client_secret_basic"), want: ClientAuthBasic},
		{name: "discovery lists both: probe", secret: "s", md: md("client_secret_basic", "client_secret_post"), want: ClientAuthAuto},
		{name: "no discovery: probe", secret: "s", want: ClientAuthAuto},
	}
	for _, tt := range tests {
		p := &Provider{TokenEndpointAuthMethod: tt.configured}
		if got := ChooseClientAuth(p, tt.secret, tt.md, tt.remembered); got != tt.want {
			t.Errorf("%s: ChooseClientAuth = %q, want %q", tt.name, got, tt.want)
		}
	}
}

// TestExchangeClientAuth is the regression test of issue 9 item 1: a
// client registered for client_secret_post could not log in, because the
// exchange always sent HTTP Basic. The fake server refuses the client (401
// invalid_client, code untouched) unless it uses the registered method.
func TestExchangeClientAuth(t *testing.T) {
	t.Parallel()
	const secret = "fake-client-secret"
	tests := []struct {
		name       string
		registered string // the method the server accepts
		configured string // providers.yaml's token_endpoint_auth_method
		discovered []string
		secret     string
		wantAuth   []string // per token request: "basic", "post" or "none"
		wantMethod ClientAuth
		wantErr    []string
		wantAs     any
	}{
		{name: "unknown method: Basic refused, the form works and is reported", registered: "client_secret_post", secret: secret,
			wantAuth: []string{"basic", "post"}, wantMethod: ClientAuthPost},
		{name: "unknown method: Basic works at once", registered: "client_secret_basic", secret: secret,
			wantAuth: []string{"basic"}, wantMethod: ClientAuthBasic},
		{name: "discovery lists only post", registered: "client_secret_post", secret: secret, discovered: []string{"client_secret_post"},
			wantAuth: []string{"post"}, wantMethod: ClientAuthPost},
		{name: "configured post", registered: "client_secret_post", configured: "client_secret_post", secret: secret,
			discovered: []string{"client_secret_basic", "client_secret_post"}, wantAuth: []string{"post"}, wantMethod: ClientAuthPost},
		{name: "configured basic, server wants post: the error names the method sent and keeps the description",
			registered: "client_secret_post", configured: "client_secret_basic", secret: secret,
			wantAuth: []string{"basic"},
			wantErr:  []string{"invalid_client", "registered for client_secret_post", "sent with client_secret_basic"}, wantAs: new(*ClientAuthError)},
		{name: "form refused is never retried with Basic", registered: "client_secret_basic", configured: "client_secret_post", secret: secret,
			wantAuth: []string{"post"}, wantErr: []string{"sent with client_secret_post"}, wantAs: new(*ClientAuthError)},
		{name: "both refused: both named", registered: "client_secret_basic", secret: "wrong-secret",
			wantAuth: []string{"basic", "post"}, wantErr: []string{"sent with client_secret_basic, then client_secret_post"}, wantAs: new(*ClientAuthError)},
		{name: "public client", secret: "", wantAuth: []string{"none"}, wantMethod: ClientAuthNone},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			as.Set(func(s *fakeas.Server) { s.ClientAuthMethod, s.ClientSecret = tt.registered, secret })
			l := startLogin(t, as, func(r *LoginRequest) {
				r.ClientSecret = tt.secret
				r.Provider.TokenEndpointAuthMethod = tt.configured
				if tt.discovered != nil {
					r.Metadata = &Metadata{TokenAuthMethods: tt.discovered}
				}
			})
			visit(t, as, l)
			tok, _, err := l.Finish(t.Context())
			var got []string
			for _, f := range as.TokenRequests() {
				switch {
				case f.Get("basic_user") != "":
					got = append(got, "basic")
				case f.Get("client_secret") != "":
					got = append(got, "post")
				default:
					got = append(got, "none")
				}
			}
			if diff := cmp.Diff(tt.wantAuth, got); diff != "" {
				t.Errorf("client authentication per token request (-want +got):\n%s", diff)
			}
			if tt.wantErr == nil {
				if err != nil {
					t.Fatalf("Finish: %v", err)
				}
				if tok.ClientAuth != tt.wantMethod {
					t.Errorf("token's ClientAuth = %q, want %q", tok.ClientAuth, tt.wantMethod)
				}
				return
			}
			if err == nil {
				t.Fatal("Finish succeeded, want an error")
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			if !errors.Is(err, ErrConfig) || !errors.As(err, tt.wantAs) {
				t.Errorf("error %T %v, want a %T matching ErrConfig", err, err, tt.wantAs)
			}
			if strings.Contains(err.Error(), secret) {
				t.Error("the error carries the client secret")
			}
		})
	}
}

// TestExchangeSpentCodeNotResent: an answer to Basic other than a refused
// client (here invalid_grant: the code is spent) is final; the exchange is
// not sent again with the form.
func TestExchangeSpentCodeNotResent(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
		jsonReply(400, `{"error":"invalid_grant"}`)(w, r)
		return true
	}
	l := startLogin(t, as, func(r *LoginRequest) { r.ClientSecret = "fake-secret" })
	visit(t, as, l)
	_, _, err := l.Finish(t.Context())
	if !errors.As(err, new(*CodeRejectedError)) {
		t.Errorf("error %v, want *CodeRejectedError", err)
	}
	if n := len(as.TokenRequests()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
}

// TestRefreshClientAuth: refresh and client credentials share the choice:
// a configured method is sent as is, an unknown one probes Basic then the
// form and reports what worked, and the form is never followed by Basic.
func TestRefreshClientAuth(t *testing.T) {
	t.Parallel()
	refusePost := func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); !ok {
			jsonReply(401, `{"error":"invalid_client","error_description":"expected client_secret_basic"}`)(w, r)
			return
		}
		jsonReply(200, `{"access_token":"fake-at","token_type":"Bearer","expires_in":60}`)(w, r)
	}
	refuseBasic := func(w http.ResponseWriter, r *http.Request) {
		if _, _, ok := r.BasicAuth(); ok {
			jsonReply(401, `{"error":"invalid_client"}`)(w, r)
			return
		}
		jsonReply(200, `{"access_token":"fake-at","token_type":"Bearer","expires_in":60}`)(w, r)
	}
	tests := []struct {
		name      string
		auth      ClientAuth
		handler   http.HandlerFunc
		wantBasic []string
		want      ClientAuth
		wantErr   bool
	}{
		{"auto, form wanted", ClientAuthAuto, refuseBasic, []string{"fake-client", ""}, ClientAuthPost, false},
		{"auto, Basic wanted", ClientAuthAuto, refusePost, []string{"fake-client"}, ClientAuthBasic, false},
		{"post configured, Basic wanted: no Basic retry", ClientAuthPost, refusePost, []string{""}, "", true},
		{"basic configured", ClientAuthBasic, refusePost, []string{"fake-client"}, ClientAuthBasic, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			for _, grant := range []string{"refresh_token", "client_credentials"} {
				fe := newFakeTokenEndpoint(t, tt.handler, tt.handler)
				var tok *Token
				var err error
				if grant == "refresh_token" {
					tok, err = Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client",
						ClientSecret: "fake-secret", ClientAuth: tt.auth, RefreshToken: "fake-rt"}, time.Now, fastRetry)
				} else {
					tok, err = ClientCredentials(t.Context(), testClient(), ClientCredentialsRequest{TokenURL: fe.srv.URL, ClientID: "fake-client",
						ClientSecret: "fake-secret", ClientAuth: tt.auth}, time.Now, fastRetry)
				}
				if (err != nil) != tt.wantErr {
					t.Fatalf("%s: error %v, want error %v", grant, err, tt.wantErr)
				}
				if err == nil && tok.ClientAuth != tt.want {
					t.Errorf("%s: ClientAuth %q, want %q", grant, tok.ClientAuth, tt.want)
				}
				if err != nil && !errors.As(err, new(*ClientAuthError)) {
					t.Errorf("%s: error %T, want *ClientAuthError", grant, err)
				}
				fe.mu.Lock()
				if diff := cmp.Diff(tt.wantBasic, fe.basic); diff != "" {
					t.Errorf("%s: Basic user per request (-want +got):\n%s", grant, diff)
				}
				fe.mu.Unlock()
			}
		})
	}
}

// TestRevokeClientAuth: revocation uses the account's method.
func TestRevokeClientAuth(t *testing.T) {
	t.Parallel()
	for _, m := range []ClientAuth{ClientAuthBasic, ClientAuthPost, ClientAuthNone} {
		var mu sync.Mutex
		var gotBasic bool
		var gotSecret, gotID string
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm()
			mu.Lock()
			_, _, gotBasic = r.BasicAuth()
			gotSecret, gotID = r.PostForm.Get("client_secret"), r.PostForm.Get("client_id")
			mu.Unlock()
		}))
		p := &Provider{Name: "acme", Source: SourceUser, RevocationURL: srv.URL}
		err := Revoke(t.Context(), testClient(), p, ClientCreds{ID: "cli", Secret: "fake-secret", Auth: m}, "fake-rt", HintRefreshToken)
		srv.Close()
		if err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		mu.Lock()
		ok := m == ClientAuthBasic && gotBasic && gotSecret == "" && gotID == "" ||
			m == ClientAuthPost && !gotBasic && gotSecret == "fake-secret" && gotID == "cli" ||
			m == ClientAuthNone && !gotBasic && gotSecret == "" && gotID == "cli"
		mu.Unlock()
		if !ok {
			t.Errorf("%s: basic=%v client_id=%q client_secret=%q", m, gotBasic, gotID, gotSecret)
		}
	}
}

// TestRefreshRefusalWithoutOAuthBody is the regression test of issue 9 item
// 2: a 4xx without an OAuth error body is a rejected grant (exit 4), not an
// outage (exit 5); 401 is the client's problem (exit 2); only 5xx and 429
// are unavailable. None is retried but the 5xx and 429.
func TestRefreshRefusalWithoutOAuthBody(t *testing.T) {
	t.Parallel()
	plain := func(status int, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(status)
			_, _ = w.Write([]byte(body))
		}
	}
	tests := []struct {
		name      string
		h         http.HandlerFunc
		wantIs    error
		wantAs    any
		wantCalls int
	}{
		{"400 empty body", plain(400, ""), ErrReauthRequired, new(*GrantRejectedError), 1},
		{"403 HTML", plain(403, "<html>Forbidden</html>"), ErrReauthRequired, new(*GrantRejectedError), 1},
		{"404", plain(404, "not found"), ErrReauthRequired, new(*GrantRejectedError), 1},
		{"400 invalid_scope", jsonReply(400, `{"error":"invalid_scope"}`), ErrReauthRequired, new(*GrantRejectedError), 1},
		{"401 empty body", plain(401, ""), ErrConfig, new(*ClientAuthError), 1},
		{"429 empty body", plain(429, ""), ErrUnavailable, new(*UnavailableError), 3},
		{"502 empty body", plain(502, ""), ErrUnavailable, new(*UnavailableError), 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fe := newFakeTokenEndpoint(t, tt.h, tt.h, tt.h)
			_, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "fake-client",
				ClientAuth: ClientAuthNone, RefreshToken: "fake-rt"}, time.Now, fastRetry)
			if !errors.Is(err, tt.wantIs) || !errors.As(err, tt.wantAs) {
				t.Errorf("error %T %v, want %T matching %v", err, err, tt.wantAs, tt.wantIs)
			}
			if tt.wantIs != ErrUnavailable && errors.Is(err, ErrUnavailable) {
				t.Errorf("error %v matches ErrUnavailable", err)
			}
			if n := len(fe.requests()); n != tt.wantCalls {
				t.Errorf("%d requests, want %d", n, tt.wantCalls)
			}
		})
	}
}

// TestExpiresInBounded is the regression test of issue 9 item 8: a huge
// expires_in overflowed time.Duration and stored the token as expired in
// 1759; a negative one made an expiry in the past.
func TestExpiresInBounded(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	tests := []struct {
		name        string
		expiresIn   any
		wantExpiry  time.Time
		wantRefresh time.Time
	}{
		{"1e19", 1e19, now.Add(MaxLifetime), now.Add(MaxLifetime)},
		{"9.3e9, just over int64 nanoseconds", 9.3e9, now.Add(MaxLifetime), now.Add(MaxLifetime)},
		{"string 1e19", "1e19", now.Add(MaxLifetime), now.Add(MaxLifetime)},
		{"two years", 2 * 365 * 86400.0, now.Add(MaxLifetime), now.Add(MaxLifetime)},
		{"one hour", 3600.0, now.Add(time.Hour), now.Add(time.Hour)},
		{"negative", -60.0, time.Time{}, time.Time{}},
		{"-1e19", -1e19, time.Time{}, time.Time{}},
		{"zero", 0.0, time.Time{}, time.Time{}},
		{"not a number", "soon", time.Time{}, time.Time{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			raw := (&oauth2.Token{AccessToken: "fake-at", TokenType: "Bearer"}).WithExtra(map[string]any{
				"expires_in": tt.expiresIn, "refresh_token_expires_in": tt.expiresIn})
			tok, err := FromOAuth2(raw, now)
			if err != nil {
				t.Fatal(err)
			}
			if !tok.Expiry.Equal(tt.wantExpiry) || !tok.RefreshExpiry.Equal(tt.wantRefresh) {
				t.Errorf("Expiry %v, RefreshExpiry %v; want %v, %v", tok.Expiry, tok.RefreshExpiry, tt.wantExpiry, tt.wantRefresh)
			}
			if !tok.Expiry.IsZero() && tok.Expiry.Before(now) {
				t.Errorf("Expiry %v is before the receipt time", tok.Expiry)
			}
		})
	}
	// Through the wire: x/oauth2 decodes expires_in itself as well (and
	// refuses numbers beyond int64, such as 1e19, as malformed JSON).
	for _, body := range []string{`{"access_token":"a","token_type":"Bearer","expires_in":10000000000}`,
		`{"access_token":"a","token_type":"Bearer","expires_in":9223372036854775807}`} {
		fe := newFakeTokenEndpoint(t, jsonReply(200, body))
		tok, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "c", RefreshToken: "r"},
			func() time.Time { return now }, fastRetry)
		if err != nil {
			t.Fatalf("Refresh: %v", err)
		}
		if !tok.Expiry.Equal(now.Add(MaxLifetime)) {
			t.Errorf("%s: Expiry %v, want %v", body, tok.Expiry, now.Add(MaxLifetime))
		}
	}
	fe := newFakeTokenEndpoint(t, jsonReply(200, `{"access_token":"a","token_type":"Bearer","expires_in":-30}`))
	tok, err := Refresh(t.Context(), testClient(), RefreshRequest{TokenURL: fe.srv.URL, ClientID: "c", RefreshToken: "r"},
		func() time.Time { return now }, fastRetry)
	if err != nil || !tok.Expiry.IsZero() {
		t.Errorf("negative expires_in: Expiry %v, error %v; want no expiry", tok.Expiry, err)
	}
}

// dropReusedConns serves the first request of every connection through
// next and answers any later request on the same connection by closing it
// unanswered: what a client sees when the server (node closes idle
// connections after 5 s) closes a pooled connection just as the client
// sends on it. The request was written, so Go's transport cannot know that
// it was not processed and does not re-send a POST.
type dropReusedConns struct {
	next http.Handler
	mu   sync.Mutex
	seen map[string]int // remote address -> requests
}

func (d *dropReusedConns) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	d.mu.Lock()
	d.seen[r.RemoteAddr]++
	n := d.seen[r.RemoteAddr]
	d.mu.Unlock()
	if n == 1 {
		d.next.ServeHTTP(w, r)
		return
	}
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(err)
	}
	_ = buf.Flush()
	conn.Close()
}

// TestExchangeFreshConnection is the regression test of issue 9 item 6:
// the code exchange reused a keep-alive connection from discovery that the
// server had meanwhile closed, and failed with "EOF" after the user had
// consented. The exchange must go out on a connection of its own.
func TestExchangeFreshConnection(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	target, _ := url.Parse(as.URL)
	front := httptest.NewServer(&dropReusedConns{next: httputil.NewSingleHostReverseProxy(target), seen: map[string]int{}})
	t.Cleanup(front.Close)

	// The login's client keeps connections alive, like NewHTTPClient's.
	tr := &http.Transport{IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	client := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

	l := startLogin(t, as, func(r *LoginRequest) {
		r.HTTPClient = client
		r.Provider.TokenURL = front.URL + "/token"
	})
	// Discovery (or anything else) leaves an idle connection in the pool.
	resp, err := client.Get(front.URL + "/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()

	visit(t, as, l)
	ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
	defer cancel()
	tok, _, err := l.Finish(ctx)
	if err != nil {
		t.Fatalf("Finish on a server that drops reused connections: %v", err)
	}
	if tok.AccessToken == "" {
		t.Error("no access token")
	}
	if n := len(as.TokenRequests()); n != 1 {
		t.Errorf("%d token requests reached the server, want 1", n)
	}
}

// TestExchangeClientKeepsSettings: the exchange's own client keeps the
// caller's timeout and redirect policy, and the transport's proxy and TLS
// settings.
func TestExchangeClientKeepsSettings(t *testing.T) {
	t.Parallel()
	base := &http.Transport{Proxy: http.ProxyFromEnvironment, DialContext: (&net.Dialer{}).DialContext}
	c := &http.Client{Transport: base, Timeout: 7 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	x, release := exchangeClient(c)
	defer release()
	tr, ok := x.Transport.(*http.Transport)
	switch {
	case !ok || tr == base:
		t.Fatalf("exchange transport %T is the pooled one", x.Transport)
	case !tr.DisableKeepAlives:
		t.Error("keep-alives not disabled")
	case tr.Proxy == nil || x.Timeout != 7*time.Second || x.CheckRedirect == nil:
		t.Errorf("settings lost: proxy %v timeout %v redirect %v", tr.Proxy != nil, x.Timeout, x.CheckRedirect != nil)
	}
}
