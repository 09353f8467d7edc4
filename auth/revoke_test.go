package auth_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/testop"
)

// revokeCall is one request a fake revocation endpoint received.
type revokeCall struct {
	Method, Path string
	Form         url.Values
	BasicUser    string
	BasicPass    string
	Accept       string
	Body         string
}

// revokeFake answers each request with the next scripted handler (the last
// one repeats) and records what it received.
type revokeFake struct {
	mu       sync.Mutex
	calls    []revokeCall
	handlers []http.HandlerFunc
	srv      *httptest.Server
}

func newRevokeFake(t *testing.T, handlers ...http.HandlerFunc) *revokeFake {
	f := &revokeFake{handlers: handlers}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		c := revokeCall{Method: r.Method, Path: r.URL.Path, Accept: r.Header.Get("Accept"), Body: string(body)}
		c.Form, _ = url.ParseQuery(string(body))
		c.BasicUser, c.BasicPass, _ = r.BasicAuth()
		f.mu.Lock()
		n := len(f.calls)
		f.calls = append(f.calls, c)
		h := f.handlers[min(n, len(f.handlers)-1)]
		f.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *revokeFake) Calls() []revokeCall {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]revokeCall(nil), f.calls...)
}

func revokeReply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if strings.HasPrefix(body, "{") {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

func revokeClient() *http.Client {
	return &http.Client{Transport: newTransport(), Timeout: 5 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

const (
	revokeRT     = "fake-refresh-token-1"
	revokeAT     = "fake-access-token-1"
	revokeSecret = "fake-client-secret"
)

// TestRevoke covers one RFC 7009 request: client authentication by client
// type, success on any 2xx, the bounded 503 retry, the invalid_client
// fallback to the form, and error classification.
func TestRevoke(t *testing.T) {
	t.Parallel()
	basic := func(id, secret string) revokeCall { return revokeCall{BasicUser: id, BasicPass: secret} }
	tests := []struct {
		name     string
		method   auth.ClientAuth // the provider entry's token_endpoint_auth_method
		secret   string
		handlers []http.HandlerFunc
		// want are the requests' form and Basic credentials
		want       []revokeCall
		wantErr    string // substring; "" for success
		wantIs     error
		wantCode   string // ProviderError code
		wantStatus int
	}{
		{name: "public client sends client_id in the form", handlers: []http.HandlerFunc{revokeReply(200, "")},
			want: []revokeCall{{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}, "client_id": {"cli"}}}}},
		{name: "confidential client of a user provider uses Basic", secret: revokeSecret, handlers: []http.HandlerFunc{revokeReply(200, "")},
			want: []revokeCall{{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}}, BasicUser: "cli", BasicPass: revokeSecret}}},
		{name: "confidential client_secret_post client posts the secret", method: auth.ClientAuthPost, secret: revokeSecret,
			handlers: []http.HandlerFunc{revokeReply(200, "")},
			want:     []revokeCall{{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}, "client_id": {"cli"}, "client_secret": {revokeSecret}}}}},
		{name: "204 is success too", handlers: []http.HandlerFunc{revokeReply(204, "")},
			want: []revokeCall{{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}, "client_id": {"cli"}}}}},
		{name: "invalid_client to Basic retries once with the form", secret: revokeSecret,
			handlers: []http.HandlerFunc{revokeReply(401, `{"error":"invalid_client"}`), revokeReply(200, "")},
			want: []revokeCall{
				{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}}, BasicUser: "cli", BasicPass: revokeSecret},
				{Form: url.Values{"token": {revokeRT}, "token_type_hint": {"refresh_token"}, "client_id": {"cli"}, "client_secret": {revokeSecret}}},
			}},
		{name: "invalid_client twice is an error", secret: revokeSecret,
			handlers: []http.HandlerFunc{revokeReply(401, `{"error":"invalid_client","error_description":"bad secret"}`)},
			want:     []revokeCall{basic("cli", revokeSecret), {}}, wantErr: "invalid_client: bad secret", wantCode: "invalid_client"},
		{name: "503 with Retry-After is retried once", handlers: []http.HandlerFunc{revokeReply(503, "", "Retry-After", "0"), revokeReply(200, "")},
			want: []revokeCall{{}, {}}},
		{name: "503 twice fails after one retry", handlers: []http.HandlerFunc{revokeReply(503, "", "Retry-After", "0")},
			want: []revokeCall{{}, {}}, wantErr: "revocation endpoint answered HTTP 503", wantIs: auth.ErrUnavailable, wantStatus: 503},
		{name: "503 asking for minutes is not waited for", handlers: []http.HandlerFunc{revokeReply(503, "", "Retry-After", "600")},
			want: []revokeCall{{}}, wantErr: "HTTP 503", wantIs: auth.ErrUnavailable},
		{name: "unsupported_token_type is a provider error", handlers: []http.HandlerFunc{revokeReply(400, `{"error":"unsupported_token_type"}`)},
			want: []revokeCall{{}}, wantErr: "unsupported_token_type", wantCode: "unsupported_token_type"},
		{name: "500 with HTML is unavailable without the page", handlers: []http.HandlerFunc{revokeReply(500, "<html>"+strings.Repeat("x", 5000)+"</html>")},
			want: []revokeCall{{}}, wantErr: "revocation endpoint answered HTTP 500", wantIs: auth.ErrUnavailable},
		{name: "a redirect is not followed", handlers: []http.HandlerFunc{revokeReply(307, "", "Location", "https://evil.example/steal")},
			want: []revokeCall{{}}, wantErr: "redirect to https://evil.example/steal not followed"},
		{name: "escape sequences in the description are stripped", handlers: []http.HandlerFunc{revokeReply(400, `{"error":"invalid_request","error_description":"\u001b[31mred\u001b[0m"}`)},
			want: []revokeCall{{}}, wantErr: "invalid_request: [31mred [0m", wantCode: "invalid_request"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newRevokeFake(t, tt.handlers...)
			p := &auth.Provider{Name: "acme", Source: auth.SourceUser, TokenEndpointAuthMethod: string(tt.method), RevocationURL: fake.srv.URL + "/revoke"}
			err := auth.Revoke(t.Context(), revokeClient(), p, auth.ClientCreds{ID: "cli", Secret: tt.secret}, revokeRT, auth.HintRefreshToken)
			calls := fake.Calls()
			if len(calls) != len(tt.want) {
				t.Fatalf("%d requests, want %d: %+v", len(calls), len(tt.want), calls)
			}
			for i, w := range tt.want {
				if w.Form == nil && w.BasicUser == "" {
					continue
				}
				got := revokeCall{Form: calls[i].Form, BasicUser: calls[i].BasicUser, BasicPass: calls[i].BasicPass}
				if w.Form == nil {
					got.Form = nil
				}
				if diff := cmp.Diff(w, got); diff != "" {
					t.Errorf("request %d (-want +got):\n%s", i, diff)
				}
				if calls[i].Method != http.MethodPost || calls[i].Path != "/revoke" {
					t.Errorf("request %d: %s %s", i, calls[i].Method, calls[i].Path)
				}
			}
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Revoke: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("error = %v, want it to contain %q", err, tt.wantErr)
			}
			if strings.Contains(err.Error(), revokeRT) || strings.Contains(err.Error(), revokeSecret) || len(err.Error()) > 300 {
				t.Errorf("error leaks a secret or is too long: %q", err)
			}
			if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
				t.Errorf("error %v does not match %v", err, tt.wantIs)
			}
			var pe *auth.ProviderError
			if tt.wantCode != "" && (!errors.As(err, &pe) || pe.Code != tt.wantCode) {
				t.Errorf("error %v: want a ProviderError %q", err, tt.wantCode)
			}
			var ue *auth.UnavailableError
			if tt.wantStatus != 0 && (!errors.As(err, &ue) || ue.Status != tt.wantStatus) {
				t.Errorf("error %v: want status %d", err, tt.wantStatus)
			}
		})
	}
}

func TestRevokeConfig(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	creds := auth.ClientCreds{ID: "cli"}
	if err := auth.Revoke(ctx, revokeClient(), &auth.Provider{Name: "entra"}, creds, revokeRT, ""); !errors.Is(err, auth.ErrNoRevocationEndpoint) {
		t.Errorf("no endpoint: %v, want ErrNoRevocationEndpoint", err)
	}
	err := auth.Revoke(ctx, revokeClient(), &auth.Provider{Name: "x", RevocationURL: "http://example.com/revoke"}, creds, revokeRT, "")
	if !errors.Is(err, auth.ErrConfig) {
		t.Errorf("plain http endpoint: %v, want ErrConfig", err)
	}
}

// TestRevokeTimeout: a hanging endpoint ends at the client's timeout as an
// unavailable provider.
func TestRevokeTimeout(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	fake := newRevokeFake(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	defer close(release)
	client := &http.Client{Transport: newTransport(), Timeout: 100 * time.Millisecond}
	p := &auth.Provider{Name: "acme", RevocationURL: fake.srv.URL + "/revoke"}
	err := auth.Revoke(t.Context(), client, p, auth.ClientCreds{ID: "cli"}, revokeRT, auth.HintRefreshToken)
	if !errors.Is(err, auth.ErrUnavailable) || !strings.Contains(err.Error(), "did not answer in time") {
		t.Errorf("error = %v, want an unavailable provider that did not answer in time", err)
	}
}

// TestRevokeCancel: an interrupted revocation returns the context's error.
func TestRevokeCancel(t *testing.T) {
	t.Parallel()
	fake := newRevokeFake(t, func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	ctx, cancel := context.WithCancel(t.Context())
	go func() {
		for len(fake.Calls()) == 0 {
			time.Sleep(time.Millisecond)
		}
		cancel()
	}()
	p := &auth.Provider{Name: "acme", RevocationURL: fake.srv.URL + "/revoke"}
	if err := auth.Revoke(ctx, revokeClient(), p, auth.ClientCreds{ID: "cli"}, revokeRT, ""); !errors.Is(err, context.Canceled) {
		t.Errorf("error = %v, want context.Canceled", err)
	}
}

// TestRevokeGrant covers the logout sequence: refresh token then access
// token, the access token alone when the server does not revoke refresh
// tokens, GitHub's grant deletion, and no endpoint.
func TestRevokeGrant(t *testing.T) {
	t.Parallel()
	type sent struct{ Token, Hint string }
	tests := []struct {
		name     string
		rt, at   string
		handlers []http.HandlerFunc
		// revokesGrant is the provider's revocation_revokes_grant (Google).
		revokesGrant bool
		want         []sent
		wantErr      string
	}{
		{name: "refresh then access token", rt: revokeRT, at: revokeAT, handlers: []http.HandlerFunc{revokeReply(200, "")},
			want: []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}},
		{name: "unsupported_token_type: the access token instead", rt: revokeRT, at: revokeAT,
			handlers: []http.HandlerFunc{revokeReply(400, `{"error":"unsupported_token_type"}`), revokeReply(200, "")},
			want:     []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}},
		{name: "no refresh token: the access token", at: revokeAT, handlers: []http.HandlerFunc{revokeReply(200, "")},
			want: []sent{{revokeAT, "access_token"}}},
		{name: "refresh token failure stops", rt: revokeRT, at: revokeAT, handlers: []http.HandlerFunc{revokeReply(500, "")},
			want: []sent{{revokeRT, "refresh_token"}}, wantErr: "revoking the refresh token: revocation endpoint answered HTTP 500"},
		{name: "access token failure is reported", rt: revokeRT, at: revokeAT,
			handlers: []http.HandlerFunc{revokeReply(200, ""), revokeReply(400, `{"error":"invalid_request"}`)},
			want:     []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}, wantErr: "revoking the access token: provider returned invalid_request"},
		// Google: revoking the refresh token ends the grant, and the access
		// token revocation would get 400 invalid_token.
		{name: "grant revoked with the refresh token: access token not sent", rt: revokeRT, at: revokeAT, revokesGrant: true,
			handlers: []http.HandlerFunc{revokeReply(200, ""), revokeReply(400, `{"error":"invalid_token","error_description":"Token expired or revoked"}`)},
			want:     []sent{{revokeRT, "refresh_token"}}},
		{name: "invalid_token for the access token after the refresh token: success", rt: revokeRT, at: revokeAT,
			handlers: []http.HandlerFunc{revokeReply(200, ""), revokeReply(400, `{"error":"invalid_token","error_description":"Token expired or revoked"}`)},
			want:     []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}},
		{name: "grant-revoking provider, refresh token failure stops", rt: revokeRT, at: revokeAT, revokesGrant: true,
			handlers: []http.HandlerFunc{revokeReply(400, `{"error":"invalid_client"}`)},
			want:     []sent{{revokeRT, "refresh_token"}}, wantErr: "revoking the refresh token: provider returned invalid_client"},
		{name: "grant-revoking provider, unsupported_token_type: the access token instead", rt: revokeRT, at: revokeAT, revokesGrant: true,
			handlers: []http.HandlerFunc{revokeReply(400, `{"error":"unsupported_token_type"}`), revokeReply(200, "")},
			want:     []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}},
		{name: "grant-revoking provider, no refresh token: the access token", at: revokeAT, revokesGrant: true,
			handlers: []http.HandlerFunc{revokeReply(200, "")},
			want:     []sent{{revokeAT, "access_token"}}},
		{name: "invalid_token for the only token is a failure", at: revokeAT,
			handlers: []http.HandlerFunc{revokeReply(400, `{"error":"invalid_token"}`)},
			want:     []sent{{revokeAT, "access_token"}}, wantErr: "revoking the access token: provider returned invalid_token"},
		{name: "invalid_token for the access token after unsupported_token_type is a failure", rt: revokeRT, at: revokeAT,
			handlers: []http.HandlerFunc{revokeReply(400, `{"error":"unsupported_token_type"}`), revokeReply(400, `{"error":"invalid_token"}`)},
			want:     []sent{{revokeRT, "refresh_token"}, {revokeAT, "access_token"}}, wantErr: "revoking the access token: provider returned invalid_token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newRevokeFake(t, tt.handlers...)
			p := &auth.Provider{Name: "acme", RevocationURL: fake.srv.URL + "/revoke", GrantRevocationURL: fake.srv.URL + "/unused",
				RevocationRevokesGrant: tt.revokesGrant}
			err := auth.RevokeGrant(t.Context(), revokeClient(), p, auth.ClientCreds{ID: "cli"}, tt.rt, tt.at)
			var got []sent
			for _, c := range fake.Calls() {
				got = append(got, sent{c.Form.Get("token"), c.Form.Get("token_type_hint")})
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("revocations (-want +got):\n%s", diff)
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	if err := auth.RevokeGrant(t.Context(), revokeClient(), &auth.Provider{Name: "entra"}, auth.ClientCreds{ID: "c"}, revokeRT, revokeAT); !errors.Is(err, auth.ErrNoRevocationEndpoint) {
		t.Errorf("no endpoint: %v", err)
	}
}

// TestDeleteGitHubGrant checks the GitHub request exactly: DELETE on the
// client's grant URL, Basic client_id:secret, the access token in a JSON
// body, GitHub's media type; and its answers.
func TestDeleteGitHubGrant(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		secret  string
		reply   http.HandlerFunc
		calls   int
		wantErr string
	}{
		{name: "204 is success", secret: revokeSecret, reply: revokeReply(204, ""), calls: 1},
		{name: "404 is not success", secret: revokeSecret, reply: revokeReply(404, `{"message":"Not Found"}`), calls: 1, wantErr: "GitHub found no such grant"},
		{name: "422 names GitHub's message", secret: revokeSecret, reply: revokeReply(422, `{"message":"Validation \u001b[1mFailed"}`), calls: 1,
			wantErr: "grant revocation answered HTTP 422: Validation [1mFailed"},
		{name: "no secret: nothing sent", reply: revokeReply(204, ""), wantErr: "needs the client secret (set OAUTHCTL_GITHUB_CLIENT_SECRET or run: oauthctl client set github)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fake := newRevokeFake(t, tt.reply)
			p := &auth.Provider{Name: "github", GrantRevocationURL: fake.srv.URL + "/applications/{client_id}/grant"}
			err := auth.RevokeGrant(t.Context(), revokeClient(), p, auth.ClientCreds{ID: "Iv1.abc", Secret: tt.secret}, revokeRT, revokeAT)
			calls := fake.Calls()
			if len(calls) != tt.calls {
				t.Fatalf("%d requests, want %d", len(calls), tt.calls)
			}
			if tt.calls > 0 {
				c := calls[0]
				var body map[string]string
				_ = json.Unmarshal([]byte(c.Body), &body)
				got := revokeCall{Method: c.Method, Path: c.Path, BasicUser: c.BasicUser, BasicPass: c.BasicPass, Accept: c.Accept}
				want := revokeCall{Method: http.MethodDelete, Path: "/applications/Iv1.abc/grant", BasicUser: "Iv1.abc", BasicPass: revokeSecret, Accept: "application/vnd.github+json"}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("request (-want +got):\n%s", diff)
				}
				if diff := cmp.Diff(map[string]string{"access_token": revokeAT}, body); diff != "" {
					t.Errorf("body (-want +got):\n%s", diff)
				}
			}
			if (err == nil) != (tt.wantErr == "") || err != nil && !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestRevokeAtTestOP revokes a refresh token at the in-process certified OP
// through Revoke, as a public and a confidential client (Basic), and checks
// that the OP refuses it afterwards.
func TestRevokeAtTestOP(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name, clientID, secret string
	}{
		{"public client", testop.NativeClientID, ""},
		{"confidential client", testop.WebClientID, testop.WebClientSecret},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
			tok := testopLogin(t, ctx, op, tt.clientID, tt.secret)
			p := &auth.Provider{Name: "testop", Source: auth.SourceUser, Issuer: op.Issuer, RevocationURL: op.Endpoints().Revocation}
			if err := auth.RevokeGrant(t.Context(), op.Client(), p, auth.ClientCreds{ID: tt.clientID, Secret: tt.secret}, tok.RefreshToken, tok.AccessToken); err != nil {
				t.Fatalf("RevokeGrant: %v", err)
			}
			var revocations []testop.RecordedRequest
			for _, r := range op.Requests() {
				if op.Issuer+r.Path == op.Endpoints().Revocation {
					revocations = append(revocations, r)
				}
			}
			if len(revocations) != 2 || revocations[0].Status != 200 || revocations[1].Status != 200 {
				t.Fatalf("revocation requests = %+v, want two answered 200", revocations)
			}
			if tt.secret != "" && revocations[0].BasicAuthUser != tt.clientID {
				t.Errorf("confidential client did not authenticate with Basic")
			}
			_, err := testopRefresh(ctx, op, tt.clientID, tt.secret, tok.RefreshToken)
			if err == nil || !strings.Contains(err.Error(), "invalid_grant") {
				t.Errorf("refresh with the revoked token: %v, want invalid_grant", err)
			}
		})
	}
}

// testopConfig is an x/oauth2 client of op.
func testopConfig(op *testop.OP, clientID, secret string) *oauth2.Config {
	return &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: op.Endpoints().OAuth2(),
		RedirectURL: "http://127.0.0.1:9/callback", Scopes: []string{"openid", "email", "offline_access"}}
}

// testopLogin signs in to op as testop.Username with the browser stand-in
// and x/oauth2 (PKCE), without a listener: the stand-in reports the
// redirect it was sent to.
func testopLogin(t *testing.T, ctx context.Context, op *testop.OP, clientID, secret string) *oauth2.Token {
	t.Helper()
	cfg := testopConfig(op, clientID, secret)
	verifier := oauth2.GenerateVerifier()
	final, err := testop.NewBrowser(op, testop.Username, testop.Password).FinalRedirect(ctx,
		cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier)))
	if err != nil {
		t.Fatalf("browser: %v", err)
	}
	u, _ := url.Parse(final)
	tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if tok.RefreshToken == "" {
		t.Fatal("no refresh token")
	}
	return tok
}

// testopRefresh redeems a refresh token at op.
func testopRefresh(ctx context.Context, op *testop.OP, clientID, secret, rt string) (*oauth2.Token, error) {
	return testopConfig(op, clientID, secret).TokenSource(ctx, &oauth2.Token{RefreshToken: rt}).Token()
}

// newTransport gives a test client a transport of its own. With the default
// one, a parallel test's httptest.Server.Close closes every idle connection
// of http.DefaultTransport, and a POST about to reuse one fails with
// "http: CloseIdleConnections called" (POSTs are not retried).
func newTransport() *http.Transport { return http.DefaultTransport.(*http.Transport).Clone() }
