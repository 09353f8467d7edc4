// Package testop runs a real OpenID Provider in-process for end-to-end tests:
// zitadel/oidc's certified OP library wired up by its own example packages
// (exampleop for the HTTP routes and login UI, storage for the in-memory
// clients, users and tokens), plus a Browser that drives the login UI the
// way a person would. It is imported only from _test.go files.
//
// Findings about the example OP that tests rely on:
//
//   - Redirect URIs. For native clients zitadel matches a loopback redirect
//     (127.0.0.1, [::1] or localhost) against the registered loopback URIs by
//     path and query only, ignoring host and port (RFC 8252 §7.3), so the
//     native client registers http://127.0.0.1/callback and accepts
//     http://127.0.0.1:PORT/callback and http://[::1]:PORT/callback for any
//     PORT. Web clients need an exact match or a glob; the example cannot set
//     globs from outside its package, so the store adds them.
//   - Lifetimes. Access tokens live 5 minutes (opaque bearer tokens), ID
//     tokens 1 hour, refresh tokens 5 hours, device codes 5 minutes with a
//     5 second poll interval. A refresh token is issued only when the scope
//     includes offline_access.
//   - Rotation. Every refresh_token grant deletes the presented refresh token
//     and its access token and issues new ones; the old refresh token is then
//     refused with invalid_grant. Reuse detection is opt-in, see
//     WithRevokeFamilyOnReuse.
//   - Global state. storage.RegisterClients and storage.NewStorage use a
//     package-level client map, so Start uses NewStorageWithClients instead.
//     exampleop.SetupServer calls slog.SetDefault when given a logger, so
//     Start passes nil; the example still logs every request (and any login
//     error) at Info level through slog's default logger, which go test shows
//     only with -v or on failure. SetupServer calls log.Fatal if the OP
//     cannot be built.
package testop

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/zitadel/oidc/v3/example/server/exampleop"
	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"golang.org/x/oauth2"
)

// The registered clients and users. Secrets are obviously fake.
const (
	// NativeClientID is a public client (no secret, PKCE required) allowed
	// the authorization code, refresh token and device code grants, with any
	// loopback redirect http://127.0.0.1:*/callback or http://[::1]:*/callback.
	NativeClientID = "oauthctl-native"

	// WebClientID and WebClientSecret are a confidential client
	// (client_secret_basic or client_secret_post) with the same loopback
	// redirects, allowed the authorization code and refresh token grants.
	WebClientID     = "oauthctl-web"
	WebClientSecret = "fake-web-secret"

	// DeviceClientID and DeviceClientSecret are a confidential client allowed
	// only the device code grant; the token endpoint requires HTTP Basic
	// authentication for it.
	DeviceClientID     = "oauthctl-device"
	DeviceClientSecret = "fake-device-secret"

	// ServiceClientID and ServiceClientSecret are the example's built-in
	// client_credentials client.
	ServiceClientID     = "sid1"
	ServiceClientSecret = "verysecret"

	// Username, Password and Subject identify the example's first user; the
	// username embeds the issuer's host. OtherUsername (same password) is a
	// second user with subject "id2".
	Username      = "test-user@127.0.0.1"
	Password      = "verysecure"
	Subject       = "id1"
	OtherUsername = "test-user2"

	// RedirectPath is the loopback redirect path the clients accept.
	RedirectPath = "/callback"
)

// An Option configures Start.
type Option func(*store)

// WithRevokeFamilyOnReuse turns on refresh token reuse detection (RFC 9700
// §4.14.2): when a refresh token that was already rotated is presented again,
// the OP revokes the refresh token currently valid in that chain (and its
// access token) and answers invalid_grant.
func WithRevokeFamilyOnReuse() Option {
	return func(s *store) { s.revokeFamilyOnReuse = true }
}

// WithAccessTokenLifetime makes access tokens expire after d instead of the
// example's 5 minutes: expires_in reports d, and userinfo and introspection
// refuse the token after d. A d longer than 5 minutes changes only expires_in.
func WithAccessTokenLifetime(d time.Duration) Option {
	return func(s *store) { s.accessTokenLifetime = d }
}

// OP is a running OpenID Provider.
type OP struct {
	// Issuer is the OP's http URL, e.g. http://127.0.0.1:PORT.
	Issuer string
	// Storage is the example storage behind the OP, for assertions.
	Storage *storage.Storage

	issuerURL *url.URL
	server    *httptest.Server
	endpoints Endpoints

	mu       sync.Mutex
	requests []RecordedRequest
}

// Endpoints are the OP's URLs as its discovery document lists them.
type Endpoints struct {
	Authorization       string
	Token               string
	Userinfo            string
	Revocation          string
	Introspection       string
	DeviceAuthorization string
	JWKS                string
	EndSession          string
}

// OAuth2 returns the endpoints in x/oauth2's form.
func (e Endpoints) OAuth2() oauth2.Endpoint {
	return oauth2.Endpoint{AuthURL: e.Authorization, TokenURL: e.Token, DeviceAuthURL: e.DeviceAuthorization}
}

// RecordedRequest is one request the OP received. Secrets are kept: this is
// test code.
type RecordedRequest struct {
	Method string
	Path   string
	// Form holds the query parameters and, for form posts, the body's.
	Form url.Values
	// BasicAuthUser is the client_id sent with HTTP Basic authentication.
	BasicAuthUser string
	// Status is the status code of the OP's response.
	Status int
}

// Start starts an OP on an httptest server bound to 127.0.0.1 on a random
// port and closes it when the test ends. Its steps:
//  1. listen, so that the issuer URL is known before the OP is built;
//  2. build the example storage with the test clients and users;
//  3. build the example OP and login UI around it, without a logger;
//  4. serve it behind a middleware that records every request;
//  5. read the discovery document (unrecorded) for Endpoints.
func Start(t testing.TB, opts ...Option) *OP {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listening on 127.0.0.1: %v", err)
	}
	issuerURL := &url.URL{Scheme: "http", Host: ln.Addr().String()}
	issuer := issuerURL.String()
	users := storage.NewUserStore(issuer)
	s := newStore(storage.NewStorageWithClients(users, map[string]*storage.Client{
		NativeClientID: storage.NativeClient(NativeClientID, "http://127.0.0.1"+RedirectPath),
		WebClientID:    storage.WebClient(WebClientID, WebClientSecret, "http://127.0.0.1"+RedirectPath),
		DeviceClientID: storage.DeviceClient(DeviceClientID, DeviceClientSecret),
	}), users)
	for _, opt := range opts {
		opt(s)
	}
	router := exampleop.SetupServer(issuer, s, nil, false)

	o := &OP{Issuer: issuer, Storage: s.Storage, issuerURL: issuerURL, server: httptest.NewUnstartedServer(nil)}
	o.server.Listener.Close()
	o.server.Listener = ln
	o.server.Config.Handler = o.record(router)
	o.server.Start()
	t.Cleanup(o.server.Close)

	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, issuer+oidc.DiscoveryEndpoint, nil))
	var d oidc.DiscoveryConfiguration
	if err := json.Unmarshal(rec.Body.Bytes(), &d); err != nil || rec.Code != http.StatusOK {
		t.Fatalf("reading the discovery document: status %d: %v", rec.Code, err)
	}
	o.endpoints = Endpoints{
		Authorization:       d.AuthorizationEndpoint,
		Token:               d.TokenEndpoint,
		Userinfo:            d.UserinfoEndpoint,
		Revocation:          d.RevocationEndpoint,
		Introspection:       d.IntrospectionEndpoint,
		DeviceAuthorization: d.DeviceAuthorizationEndpoint,
		JWKS:                d.JwksURI,
		EndSession:          d.EndSessionEndpoint,
	}
	return o
}

// Endpoints returns the OP's endpoint URLs.
func (o *OP) Endpoints() Endpoints { return o.endpoints }

// Client returns an HTTP client for talking to the OP (and to loopback
// listeners); its idle connections are closed with the OP.
func (o *OP) Client() *http.Client { return o.server.Client() }

// Requests returns every request the OP has answered, in order of completion.
func (o *OP) Requests() []RecordedRequest {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]RecordedRequest(nil), o.requests...)
}

// TokenRequests returns the requests to the token endpoint with the given
// grant_type, e.g. "refresh_token".
func (o *OP) TokenRequests(grantType string) []RecordedRequest {
	var out []RecordedRequest
	for _, r := range o.Requests() {
		if r.Method == http.MethodPost && o.Issuer+r.Path == o.endpoints.Token && r.Form.Get("grant_type") == grantType {
			out = append(out, r)
		}
	}
	return out
}

// record returns next wrapped in a middleware that appends each request to
// o.requests. It reads a form body itself and hands next a fresh copy.
func (o *OP) record(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rr := RecordedRequest{Method: r.Method, Path: r.URL.Path, Form: r.URL.Query()}
		rr.BasicAuthUser, _, _ = r.BasicAuth()
		if r.Method == http.MethodPost && r.Body != nil {
			body, err := io.ReadAll(r.Body)
			if err != nil {
				http.Error(w, "reading the request body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			if post, err := url.ParseQuery(string(body)); err == nil {
				for k, v := range post {
					rr.Form[k] = append(rr.Form[k], v...)
				}
			}
		}
		sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(sw, r)
		rr.Status = sw.status
		o.mu.Lock()
		o.requests = append(o.requests, rr)
		o.mu.Unlock()
	})
}

// statusWriter remembers the status code written through it.
type statusWriter struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wroteHeader {
		w.status, w.wroteHeader = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}
