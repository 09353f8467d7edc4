// Package fakeas is a small, scriptable OAuth 2.0 / OpenID Connect
// authorization server for fault tests of the login: it produces what the
// certified provider in internal/testop never will (a foreign iss, an error
// redirect, a forged ID token, a narrowed scope, a token endpoint that hangs
// or fails). Tests of normal behaviour use testop instead. It is imported
// only from _test.go files.
//
// The server implements just enough: an authorization endpoint that
// redirects at once (no login page) with a fresh code, a token endpoint for
// the authorization code grant that checks PKCE S256, the redirect_uri and
// single use of the code, a JWKS with one ES256 key, discovery, userinfo
// and revocation endpoints. Hooks change each answer.
package fakeas

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Subject and Email identify the one user.
const (
	Subject = "user-1"
	Email   = "alice@example.com"
)

// Grant is one authorization the server handed out a code for.
type Grant struct {
	ClientID, RedirectURI, Challenge, Nonce, State string
	Scopes                                         []string
}

// Server is a running fake authorization server. Set the hooks before the
// flow reaches them; they are read under the server's lock.
type Server struct {
	// URL is the issuer, http://127.0.0.1:PORT.
	URL string

	srv *httptest.Server
	key *ecdsa.PrivateKey

	mu     sync.Mutex
	grants map[string]Grant
	// tokenRequests are the forms posted to the token endpoint (with
	// "basic_user" added when HTTP Basic was used).
	tokenRequests []url.Values
	revoked       []url.Values

	// Redirect changes the parameters of the redirect to the client (set
	// error, iss, drop code) before it is sent.
	Redirect func(q url.Values)
	// Token answers the token request instead of the default when it
	// returns true (500, hang, invalid_grant).
	Token func(w http.ResponseWriter, r *http.Request, g Grant) bool
	// Claims changes the ID token's claims before signing.
	Claims func(c map[string]any)
	// SignKey, when set, signs ID tokens instead of the published key.
	SignKey *ecdsa.PrivateKey
	// NoRefreshToken leaves refresh_token out of token responses.
	NoRefreshToken bool
	// GrantedScope, when set, is the scope of token responses.
	GrantedScope string
	// IssParameter makes the server send iss in every authorization
	// response and advertise authorization_response_iss_parameter_supported.
	IssParameter bool
	// UserinfoClaims, when set, is the userinfo answer (GitHub's /user).
	UserinfoClaims map[string]any
	// Discovery changes the discovery document before it is sent.
	Discovery func(doc map[string]any)
	// ClientAuthMethod, when set, is the only client authentication the
	// token endpoint accepts (client_secret_basic or client_secret_post,
	// with ClientSecret): any other request is refused with 401
	// invalid_client before its code is looked at, as a real server checks
	// the client first (RFC 6749 §3.2.1), so the code stays usable.
	ClientAuthMethod, ClientSecret string
	// JWKS answers the key set request instead of the default when it
	// returns true (a 500, a huge body).
	JWKS func(w http.ResponseWriter, r *http.Request) bool
}

// Start starts a server on 127.0.0.1 and closes it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{key: key, grants: map[string]Grant{}}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /authorize", s.authorize)
	mux.HandleFunc("POST /token", s.token)
	mux.HandleFunc("GET /jwks", s.jwks)
	mux.HandleFunc("GET /.well-known/openid-configuration", s.discovery)
	mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		claims := s.UserinfoClaims
		s.mu.Unlock()
		if claims == nil {
			claims = map[string]any{"sub": Subject, "email": Email}
		}
		writeJSON(w, http.StatusOK, claims)
	})
	mux.HandleFunc("POST /revoke", func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		s.mu.Lock()
		s.revoked = append(s.revoked, r.PostForm)
		s.mu.Unlock()
	})
	s.srv = httptest.NewServer(mux)
	t.Cleanup(s.srv.Close)
	s.URL = s.srv.URL
	return s
}

// NewKey returns a fresh signing key that the server does not publish.
func NewKey(t testing.TB) *ecdsa.PrivateKey {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return key
}

// Set runs fn under the server's lock, to change hooks while a flow runs.
func (s *Server) Set(fn func(s *Server)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	fn(s)
}

// ProviderYAML is a providers.yaml entry naming every endpoint.
func (s *Server) ProviderYAML(name, clientID, scopes string) string {
	return fmt.Sprintf(`providers:
  %s:
    issuer: %s
    auth_url: %s/authorize
    token_url: %s/token
    jwks_url: %s/jwks
    userinfo_url: %s/userinfo
    revocation_url: %s/revoke
    client_id: %s
    scopes: [%s]
`, name, s.URL, s.URL, s.URL, s.URL, s.URL, s.URL, clientID, scopes)
}

// TokenRequests returns the forms posted to the token endpoint.
func (s *Server) TokenRequests() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.tokenRequests)
}

// Revoked returns the forms posted to the revocation endpoint.
func (s *Server) Revoked() []url.Values {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.revoked)
}

// Client is an HTTP client that does not follow redirects.
func Client() *http.Client {
	return &http.Client{
		// A transport of its own: httptest.Server.Close closes the idle
		// connections of http.DefaultTransport, which would fail a POST
		// of a parallel test that is about to reuse one.
		Transport:     http.DefaultTransport.(*http.Transport).Clone(),
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// Follow plays the browser for authURL: it asks the authorization endpoint
// and returns the redirect URL it answers with, without requesting it.
func (s *Server) Follow(authURL string) (string, error) {
	resp, err := Client().Get(authURL)
	if err != nil {
		return "", err
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		return "", fmt.Errorf("authorization endpoint answered %d", resp.StatusCode)
	}
	return resp.Header.Get("Location"), nil
}

// Visit plays the browser for authURL to the end: it follows the redirect
// to the client's listener and returns the listener's answer.
func (s *Server) Visit(authURL string) (*http.Response, error) {
	// A browser: cookies kept, redirects followed (oauthctl's one-time
	// launch address sets a cookie and redirects to authURL; the
	// authorization endpoint redirects to the callback).
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	return c.Get(authURL)
}

func (s *Server) authorize(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	if q.Get("response_type") != "code" || q.Get("code_challenge_method") != "S256" || q.Get("client_id") == "" {
		http.Error(w, "bad authorization request", http.StatusBadRequest)
		return
	}
	code := randomString()
	g := Grant{ClientID: q.Get("client_id"), RedirectURI: q.Get("redirect_uri"), Challenge: q.Get("code_challenge"),
		Nonce: q.Get("nonce"), State: q.Get("state"), Scopes: strings.Fields(q.Get("scope"))}
	s.mu.Lock()
	s.grants[code] = g
	redirect, iss, hook := url.Values{"code": {code}, "state": {g.State}}, s.IssParameter, s.Redirect
	s.mu.Unlock()
	if iss {
		redirect.Set("iss", s.URL)
	}
	if hook != nil {
		hook(redirect)
	}
	target, err := url.Parse(g.RedirectURI)
	if err != nil {
		http.Error(w, "bad redirect_uri", http.StatusBadRequest)
		return
	}
	target.RawQuery = redirect.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		oauthError(w, http.StatusBadRequest, "invalid_request")
		return
	}
	form := url.Values{}
	for k, v := range r.PostForm {
		form[k] = v
	}
	if u, _, ok := r.BasicAuth(); ok {
		form.Set("basic_user", u)
	}
	code := r.PostForm.Get("code")
	s.mu.Lock()
	s.tokenRequests = append(s.tokenRequests, form)
	method, secret := s.ClientAuthMethod, s.ClientSecret
	if method != "" {
		_, basicSecret, basic := r.BasicAuth()
		ok := basic && method == "client_secret_basic" && basicSecret == secret ||
			!basic && method == "client_secret_post" && r.PostForm.Get("client_secret") == secret
		if !ok {
			s.mu.Unlock()
			writeJSON(w, http.StatusUnauthorized, map[string]any{"error": "invalid_client",
				"error_description": "client authentication failed: this client is registered for " + method + " and the request used another method"})
			return
		}
	}
	g, ok := s.grants[code]
	delete(s.grants, code) // single use
	hook := s.Token
	s.mu.Unlock()
	if hook != nil && hook(w, r, g) {
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	switch {
	case r.PostForm.Get("grant_type") != "authorization_code":
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type")
		return
	case !ok, base64.RawURLEncoding.EncodeToString(sum[:]) != g.Challenge, r.PostForm.Get("redirect_uri") != g.RedirectURI:
		oauthError(w, http.StatusBadRequest, "invalid_grant")
		return
	}
	s.mu.Lock()
	noRT, granted := s.NoRefreshToken, s.GrantedScope
	s.mu.Unlock()
	if granted == "" {
		granted = strings.Join(g.Scopes, " ")
	}
	resp := map[string]any{"access_token": "fake-at-" + randomString(), "token_type": "Bearer", "expires_in": 3600, "scope": granted}
	if !noRT {
		resp["refresh_token"] = "fake-rt-" + randomString()
	}
	if slices.Contains(g.Scopes, "openid") {
		resp["id_token"] = s.IDToken(s.Claims0(g))
	}
	writeJSON(w, http.StatusOK, resp)
}

// Claims0 are the default ID token claims for a grant, with the Claims hook
// applied.
func (s *Server) Claims0(g Grant) map[string]any {
	now := time.Now()
	c := map[string]any{
		"iss": s.URL, "sub": Subject, "aud": g.ClientID, "exp": now.Add(time.Hour).Unix(), "iat": now.Unix(),
		"email": Email,
	}
	if g.Nonce != "" {
		c["nonce"] = g.Nonce
	}
	s.mu.Lock()
	hook := s.Claims
	s.mu.Unlock()
	if hook != nil {
		hook(c)
	}
	return c
}

// IDToken signs claims as an ID token with the published key (or SignKey).
func (s *Server) IDToken(claims map[string]any) string {
	s.mu.Lock()
	key := s.key
	if s.SignKey != nil {
		key = s.SignKey
	}
	s.mu.Unlock()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		panic(err)
	}
	payload, _ := json.Marshal(claims)
	jws, err := signer.Sign(payload)
	if err != nil {
		panic(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		panic(err)
	}
	return out
}

func (s *Server) jwks(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	hook := s.JWKS
	s.mu.Unlock()
	if hook != nil && hook(w, r) {
		return
	}
	writeJSON(w, http.StatusOK, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{
		{Key: &s.key.PublicKey, KeyID: "k1", Algorithm: string(jose.ES256), Use: "sig"},
	}})
}

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	iss, hook := s.IssParameter, s.Discovery
	s.mu.Unlock()
	doc := map[string]any{
		"issuer":                           s.URL,
		"authorization_endpoint":           s.URL + "/authorize",
		"token_endpoint":                   s.URL + "/token",
		"jwks_uri":                         s.URL + "/jwks",
		"userinfo_endpoint":                s.URL + "/userinfo",
		"revocation_endpoint":              s.URL + "/revoke",
		"code_challenge_methods_supported": []string{"S256"},
		"authorization_response_iss_parameter_supported": iss,
	}
	if hook != nil {
		hook(doc)
	}
	writeJSON(w, http.StatusOK, doc)
}

func oauthError(w http.ResponseWriter, status int, code string) {
	writeJSON(w, status, map[string]string{"error": code})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomString() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}
