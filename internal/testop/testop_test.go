package testop_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	gooidc "github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/oauthctl/oauthctl/internal/testop"
)

// listen starts a stand-in for the CLI's loopback listener on addr and
// returns its redirect_uri and the query of every callback it receives.
func listen(t *testing.T, addr string) (string, chan url.Values) {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("listening on %s: %v", addr, err)
	}
	got := make(chan url.Values, 4)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r.URL.Query()
		fmt.Fprint(w, "login complete")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL + testop.RedirectPath, got
}

// flow is one OAuth client of an OP, with a context carrying the OP's HTTP client.
type flow struct {
	op  *testop.OP
	cfg *oauth2.Config
	ctx context.Context
}

func newFlow(t *testing.T, op *testop.OP, clientID, secret string, style oauth2.AuthStyle) *flow {
	ep := op.Endpoints().OAuth2()
	ep.AuthStyle = style
	return &flow{op: op, ctx: context.WithValue(t.Context(), oauth2.HTTPClient, op.Client()), cfg: &oauth2.Config{
		ClientID: clientID, ClientSecret: secret, Endpoint: ep,
		Scopes: []string{gooidc.ScopeOpenID, "email", gooidc.ScopeOfflineAccess},
	}}
}

// login runs the authorization code flow with PKCE S256 and a nonce through
// the browser stand-in and the listener on addr, and verifies the ID token.
func (f *flow) login(t *testing.T, addr string) *oauth2.Token {
	t.Helper()
	redirect, got := listen(t, addr)
	f.cfg.RedirectURL = redirect
	verifier := oauth2.GenerateVerifier()
	authURL := f.cfg.AuthCodeURL("state-1", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "nonce-1"))
	res, err := testop.NewBrowser(f.op, testop.Username, testop.Password).Visit(f.ctx, authURL)
	if err != nil {
		t.Fatalf("Visit: %v", err)
	}
	if res.StatusCode != http.StatusOK || res.Body != "login complete" || !strings.HasPrefix(res.URL, redirect+"?") {
		t.Fatalf("Visit = %+v, want 200 login complete from %s", res, redirect)
	}
	q := <-got
	if len(got) != 0 || q.Get("state") != "state-1" {
		t.Fatalf("callbacks: first %v, %d more; want one with state-1", q, len(got))
	}
	tok, err := f.cfg.Exchange(f.ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	f.verifyIDToken(t, tok, "nonce-1")
	if reqs := f.op.TokenRequests("authorization_code"); len(reqs) != 1 || reqs[0].Form.Get("code_verifier") != verifier {
		t.Errorf("authorization_code requests = %+v, want one with the code_verifier", reqs)
	}
	return tok
}

func (f *flow) verifyIDToken(t *testing.T, tok *oauth2.Token, nonce string) {
	t.Helper()
	provider, err := gooidc.NewProvider(f.ctx, f.op.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := provider.Verifier(&gooidc.Config{ClientID: f.cfg.ClientID}).Verify(f.ctx, raw)
	if err != nil {
		t.Fatalf("verifying the ID token: %v", err)
	}
	if idt.Subject != testop.Subject || idt.Nonce != nonce {
		t.Errorf("ID token sub %q nonce %q, want %q %q", idt.Subject, idt.Nonce, testop.Subject, nonce)
	}
}

// userinfo reports whether the userinfo endpoint accepts the access token.
func (f *flow) userinfo(tok *oauth2.Token) error {
	provider, err := gooidc.NewProvider(f.ctx, f.op.Issuer)
	if err != nil {
		return err
	}
	info, err := provider.UserInfo(f.ctx, oauth2.StaticTokenSource(tok))
	if err == nil && info.Subject != testop.Subject {
		err = fmt.Errorf("userinfo sub %q", info.Subject)
	}
	return err
}

func (f *flow) refresh(refreshToken string) (*oauth2.Token, error) {
	return f.cfg.TokenSource(f.ctx, &oauth2.Token{RefreshToken: refreshToken}).Token()
}

// errorCode returns the OAuth error code of an x/oauth2 error, or "".
func errorCode(err error) string {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		return re.ErrorCode
	}
	return ""
}

func TestAuthorizationCode(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, clientID, secret, addr string
		style                        oauth2.AuthStyle
	}{
		{"native on 127.0.0.1", testop.NativeClientID, "", "127.0.0.1:0", oauth2.AuthStyleInParams},
		{"native on [::1]", testop.NativeClientID, "", "[::1]:0", oauth2.AuthStyleInParams},
		{"web with client_secret_basic", testop.WebClientID, testop.WebClientSecret, "127.0.0.1:0", oauth2.AuthStyleInHeader},
		{"web with client_secret_post", testop.WebClientID, testop.WebClientSecret, "127.0.0.1:0", oauth2.AuthStyleInParams},
		{"web on [::1]", testop.WebClientID, testop.WebClientSecret, "[::1]:0", oauth2.AuthStyleInHeader},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, testop.Start(t), tt.clientID, tt.secret, tt.style)
			start := time.Now()
			tok := f.login(t, tt.addr)
			if tok.RefreshToken == "" || tok.Expiry.Before(start.Add(4*time.Minute)) || tok.Expiry.After(time.Now().Add(5*time.Minute)) {
				t.Errorf("token: refresh %q expiry %v, want a refresh token and about 5 minutes", tok.RefreshToken, tok.Expiry)
			}
			if err := f.userinfo(tok); err != nil {
				t.Errorf("userinfo: %v", err)
			}
			var want [2]string // HTTP Basic user, client_secret form field
			if tt.secret != "" && tt.style == oauth2.AuthStyleInHeader {
				want[0] = tt.clientID
			} else if tt.secret != "" {
				want[1] = tt.secret
			}
			req := f.op.TokenRequests("authorization_code")[0]
			if got := [2]string{req.BasicAuthUser, req.Form.Get("client_secret")}; got != want {
				t.Errorf("client authentication (basic user, client_secret) = %q, want %q", got, want)
			}
		})
	}
}

func TestFinalRedirect(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	f := newFlow(t, op, testop.NativeClientID, "", oauth2.AuthStyleInParams)
	redirect, got := listen(t, "127.0.0.1:0")
	f.cfg.RedirectURL = redirect
	verifier := oauth2.GenerateVerifier()
	authURL := f.cfg.AuthCodeURL("state-2", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "n2"))
	final, err := testop.NewBrowser(op, testop.OtherUsername, testop.Password).FinalRedirect(f.ctx, authURL)
	if err != nil {
		t.Fatalf("FinalRedirect: %v", err)
	}
	u, err := url.Parse(final)
	if err != nil || u.Scheme+"://"+u.Host+u.Path != redirect || u.Query().Get("state") != "state-2" {
		t.Fatalf("FinalRedirect = %q, want %s with state-2", final, redirect)
	}
	if len(got) != 0 {
		t.Errorf("the listener received %d requests, want none", len(got))
	}
	var paths []string
	for _, r := range op.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	want := []string{"GET /auth", "GET /login/username", "POST /login/username", "GET /auth/callback"}
	if diff := cmp.Diff(want, paths); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if _, err := f.cfg.Exchange(f.ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier)); err != nil {
		t.Errorf("exchanging the pasted code: %v", err)
	}
}

func TestRefreshRotation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		opts       []testop.Option
		familyLive bool // whether the latest tokens survive a replay of an old refresh token
	}{
		{"rotation only", nil, true},
		{"reuse revokes the family", []testop.Option{testop.WithRevokeFamilyOnReuse()}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, testop.Start(t, tt.opts...), testop.NativeClientID, "", oauth2.AuthStyleInParams)
			first := f.login(t, "127.0.0.1:0")
			second, err := f.refresh(first.RefreshToken)
			if err != nil || second.RefreshToken == "" || second.RefreshToken == first.RefreshToken {
				t.Fatalf("refresh = %v, %v; want a new refresh token", second, err)
			}
			f.verifyIDToken(t, second, "") // a refreshed ID token carries no nonce
			if err := f.userinfo(first); err == nil {
				t.Error("userinfo accepted the access token of the rotated refresh token")
			}
			if _, err := f.refresh(first.RefreshToken); errorCode(err) != "invalid_grant" {
				t.Errorf("replaying the old refresh token: %v, want invalid_grant", err)
			}
			if err := f.userinfo(second); (err == nil) != tt.familyLive {
				t.Errorf("userinfo with the latest access token after the replay: %v, want success %v", err, tt.familyLive)
			}
			if _, err := f.refresh(second.RefreshToken); (err == nil) != tt.familyLive || !tt.familyLive && errorCode(err) != "invalid_grant" {
				t.Errorf("refreshing with the latest refresh token after the replay: %v, want success %v", err, tt.familyLive)
			}
			type grant struct {
				Token  string
				Status int
			}
			var sent []grant
			for _, r := range f.op.TokenRequests("refresh_token") {
				sent = append(sent, grant{r.Form.Get("refresh_token"), r.Status})
			}
			last := http.StatusOK
			if !tt.familyLive {
				last = http.StatusBadRequest
			}
			want := []grant{{first.RefreshToken, http.StatusOK}, {first.RefreshToken, http.StatusBadRequest}, {second.RefreshToken, last}}
			if diff := cmp.Diff(want, sent); diff != "" {
				t.Errorf("refresh_token grants (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRevocation(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, which, hint     string
		refreshOK, userinfoOK bool
		clientID, secret      string
	}{
		{"refresh token", "refresh", "refresh_token", false, false, testop.NativeClientID, ""},
		{"refresh token without hint", "refresh", "", false, false, testop.NativeClientID, ""},
		{"access token", "access", "access_token", true, false, testop.NativeClientID, ""},
		{"refresh token of a confidential client", "refresh", "refresh_token", false, false, testop.WebClientID, testop.WebClientSecret},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			f := newFlow(t, op, tt.clientID, tt.secret, oauth2.AuthStyleInParams)
			tok := f.login(t, "127.0.0.1:0")
			form := url.Values{"token": {tok.RefreshToken}, "client_id": {tt.clientID}}
			if tt.which == "access" {
				form.Set("token", tok.AccessToken)
			}
			if tt.hint != "" {
				form.Set("token_type_hint", tt.hint)
			}
			if tt.secret != "" {
				form.Set("client_secret", tt.secret)
			}
			resp, err := op.Client().PostForm(op.Endpoints().Revocation, form)
			if err != nil || resp.StatusCode != http.StatusOK {
				t.Fatalf("revocation: %v %v", resp, err)
			}
			resp.Body.Close()
			if err := f.userinfo(tok); (err == nil) != tt.userinfoOK {
				t.Errorf("userinfo after revocation: %v, want success %v", err, tt.userinfoOK)
			}
			if _, err := f.refresh(tok.RefreshToken); (err == nil) != tt.refreshOK || !tt.refreshOK && errorCode(err) != "invalid_grant" {
				t.Errorf("refresh after revocation: %v, want success %v", err, tt.refreshOK)
			}
		})
	}
}

func TestDeviceFlow(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, clientID, secret string
		style                  oauth2.AuthStyle
		deny, wantRefresh      bool
	}{
		{"public client approves", testop.NativeClientID, "", oauth2.AuthStyleInParams, false, true},
		{"confidential client approves", testop.DeviceClientID, testop.DeviceClientSecret, oauth2.AuthStyleInHeader, false, false},
		{"user denies", testop.NativeClientID, "", oauth2.AuthStyleInParams, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			f := newFlow(t, op, tt.clientID, tt.secret, tt.style)
			da, err := f.cfg.DeviceAuth(f.ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.VerificationURI != op.Issuer+"/device" {
				t.Errorf("verification_uri = %q", da.VerificationURI)
			}
			b := testop.NewBrowser(op, testop.Username, testop.Password)
			if tt.deny {
				err = b.DenyDevice(f.ctx, da.UserCode)
			} else {
				err = b.ApproveDevice(f.ctx, da.UserCode)
			}
			if err != nil {
				t.Fatalf("browser: %v", err)
			}
			da.Interval = 1 // poll after a second instead of the OP's five
			tok, err := f.cfg.DeviceAccessToken(f.ctx, da)
			if tt.deny {
				if errorCode(err) != "access_denied" {
					t.Errorf("DeviceAccessToken: %v, want access_denied", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			f.verifyIDToken(t, tok, "")
			if err := f.userinfo(tok); err != nil {
				t.Errorf("userinfo: %v", err)
			}
			if (tok.RefreshToken != "") != tt.wantRefresh {
				t.Fatalf("refresh token %q, want one: %v", tok.RefreshToken, tt.wantRefresh)
			}
			if tt.wantRefresh {
				if _, err := f.refresh(tok.RefreshToken); err != nil {
					t.Errorf("refresh: %v", err)
				}
			}
		})
	}
}

func TestClientCredentials(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	tests := []struct{ name, secret, wantCode string }{
		{"right secret", testop.ServiceClientSecret, ""},
		{"wrong secret", "fake-wrong-secret", "invalid_client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: testop.ServiceClientID, ClientSecret: tt.secret, TokenURL: op.Endpoints().Token}
			tok, err := cfg.Token(ctx)
			if errorCode(err) != tt.wantCode || tt.wantCode == "" && (err != nil || tok.AccessToken == "") {
				t.Errorf("Token = %v, %v; want error code %q", tok, err, tt.wantCode)
			}
		})
	}
}

func TestAccessTokenLifetime(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		lifetime   time.Duration
		userinfoOK bool
	}{
		{"thirty seconds", 30 * time.Second, true},
		{"already expired", time.Nanosecond, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFlow(t, testop.Start(t, testop.WithAccessTokenLifetime(tt.lifetime)), testop.NativeClientID, "", oauth2.AuthStyleInParams)
			tok := f.login(t, "127.0.0.1:0")
			if tt.userinfoOK && (tok.Expiry.After(time.Now().Add(tt.lifetime)) || tok.Expiry.Before(time.Now().Add(tt.lifetime-5*time.Second))) {
				t.Errorf("expiry in %v, want about %v", time.Until(tok.Expiry), tt.lifetime)
			}
			if err := f.userinfo(tok); (err == nil) != tt.userinfoOK {
				t.Errorf("userinfo: %v, want success %v", err, tt.userinfoOK)
			}
		})
	}
}

func TestBrowserErrors(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	authURL := func(redirect string) string {
		cfg := oauth2.Config{ClientID: testop.NativeClientID, Endpoint: op.Endpoints().OAuth2(), RedirectURL: redirect, Scopes: []string{"openid"}}
		return cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()))
	}
	tests := []struct {
		name, password, authURL, userCode, wantErr string
	}{
		{"wrong password", "fake-wrong", authURL("http://127.0.0.1:1/callback"), "", "username or password wrong"},
		{"authorization URL off the issuer", testop.Password, "http://example.com/auth", "", "not on the issuer"},
		{"unregistered redirect_uri", testop.Password, authURL("http://example.com/callback"), "", "expected the login form"},
		{"unknown user code", testop.Password, "", "BCDF-GHJK", "user code not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := testop.NewBrowser(op, testop.Username, tt.password)
			var err error
			if tt.userCode != "" {
				err = b.ApproveDevice(ctx, tt.userCode)
			} else {
				_, err = b.Visit(ctx, tt.authURL)
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}
