package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/nodeop"
)

// nodeClient is a client like cmd.NewHTTPClient's: keep-alive connections,
// no redirects.
func nodeClient(t *testing.T) *http.Client {
	tr := &http.Transport{IdleConnTimeout: 30 * time.Second}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Timeout: 30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// nodeLogin logs in to op as login through the browser stand-in with the
// given client and returns the tokens, the identity and the resolved
// provider.
func nodeLogin(t *testing.T, op *nodeop.OP, c nodeop.Client, method string, login string, params map[string]string) (*auth.Token, *auth.Identity, *auth.Provider) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	client := nodeClient(t)
	p := &auth.Provider{Name: "node", Source: auth.SourceUser, Issuer: op.Issuer, ClientID: c.ID,
		Scopes: []string{"openid", "email", "offline_access"}, Grant: auth.GrantAuthorizationCode,
		NeedsDiscovery: true, TokenEndpointAuthMethod: method}
	rp, md, err := auth.ResolveEndpoints(ctx, client, p)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	l, err := auth.StartLogin(ctx, auth.LoginRequest{Provider: rp, ClientSecret: c.Secret, Scopes: rp.Scopes,
		Params: params, Metadata: md, HTTPClient: client})
	if err != nil {
		t.Fatalf("StartLogin: %v", err)
	}
	defer l.Close()
	b := nodeop.NewBrowser(op, login)
	visited := make(chan error, 1)
	go func() { _, err := b.Visit(ctx, l.AuthURL()); visited <- err }()
	if err := l.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v (browser: %v)", err, <-visited)
	}
	if err := <-visited; err != nil {
		t.Fatalf("browser: %v", err)
	}
	tok, id, err := l.Finish(ctx)
	if err != nil {
		t.Fatalf("Finish: %v", err)
	}
	return tok, id, rp
}

// TestNodeOP runs login, refresh, rotation with reuse detection and
// revocation against node-oidc-provider for each client authentication
// method, configured and discovered (issue 9: the suite's second,
// independent OP).
func TestNodeOP(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t)
	for _, c := range nodeop.Clients {
		for _, configured := range []string{c.Method, ""} {
			name := c.Method + "/configured"
			if configured == "" {
				name = c.Method + "/detected"
			}
			t.Run(name, func(t *testing.T) {
				t.Parallel()
				login := "user-" + c.ID + "-" + map[bool]string{true: "cfg", false: "auto"}[configured != ""]
				start := time.Now()
				tok, id, p := nodeLogin(t, op, c, configured, login, map[string]string{"prompt": "consent"})
				switch {
				case tok.RefreshToken == "":
					t.Fatal("no refresh token with prompt=consent and offline_access")
				case tok.IDToken == "":
					t.Error("no ID token")
				case id.Subject != login || id.Email != login+"@example.test":
					t.Errorf("identity %q %q, want %q", id.Subject, id.Email, login)
				case string(tok.ClientAuth) != c.Method:
					t.Errorf("ClientAuth %q, want %q", tok.ClientAuth, c.Method)
				}
				// expires_in is 60 s, counted from when the answer arrived: after
				// start, and before now (a slow login under load is no error).
				if earliest, latest := start.Add(55*time.Second), time.Now().Add(61*time.Second); tok.Expiry.Before(earliest) || tok.Expiry.After(latest) {
					t.Errorf("access token expires %v after the login began, want 60 s after the answer", tok.Expiry.Sub(start))
				}

				ctx := t.Context()
				client := nodeClient(t)
				refresh := func(rt string) (*auth.Token, error) {
					return auth.Refresh(ctx, client, auth.RefreshRequest{TokenURL: p.TokenURL, ClientID: c.ID,
						ClientSecret: c.Secret, ClientAuth: tok.ClientAuth, RefreshToken: rt}, time.Now, auth.RetryPolicy{Attempts: 1})
				}
				tok2, err := refresh(tok.RefreshToken)
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if tok2.IDToken != "" || tok2.RefreshToken == tok.RefreshToken || tok2.AccessToken == tok.AccessToken {
					t.Errorf("refresh: ID token %v, rotated %v, new access token %v; want no ID token, rotated, new",
						tok2.IDToken != "", tok2.RefreshToken != tok.RefreshToken, tok2.AccessToken != tok.AccessToken)
				}
				// Reuse of the rotated token: refused, and the grant is gone.
				if _, err := refresh(tok.RefreshToken); !errors.As(err, new(*auth.GrantRejectedError)) {
					t.Errorf("reusing the rotated refresh token: %v, want *GrantRejectedError", err)
				}
				if _, err := refresh(tok2.RefreshToken); !errors.Is(err, auth.ErrReauthRequired) {
					t.Errorf("refresh after reuse detection: %v, want ErrReauthRequired (grant revoked)", err)
				}

				// A new login, then logout's revocation with the same method.
				tok3, _, _ := nodeLogin(t, op, c, configured, login, map[string]string{"prompt": "consent"})
				creds := auth.ClientCreds{ID: c.ID, Secret: c.Secret, Auth: tok3.ClientAuth}
				if err := auth.Revoke(ctx, client, p, creds, tok3.RefreshToken, auth.HintRefreshToken); err != nil {
					t.Fatalf("revoke: %v", err)
				}
				if _, err := refresh(tok3.RefreshToken); !errors.Is(err, auth.ErrReauthRequired) {
					t.Errorf("refresh after revocation: %v, want ErrReauthRequired", err)
				}
			})
		}
	}
}

// TestNodeOPRefreshTokenNeedsConsent: node-oidc-provider drops
// offline_access without prompt=consent, so no refresh token comes back:
// what oauthctl's login must plan for (issue 9 item 5).
func TestNodeOPRefreshTokenNeedsConsent(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t)
	tok, _, _ := nodeLogin(t, op, nodeop.Clients[0], "", "no-consent", nil)
	if tok.RefreshToken != "" {
		t.Error("a refresh token without prompt=consent; the OP is not configured as the tests assume")
	}
	if tok.AccessToken == "" {
		t.Error("no access token")
	}
}

// TestNodeOPWrongMethod: a method the client is not registered for is
// refused with a message that names the method sent, and is not retried
// the other way round.
func TestNodeOPWrongMethod(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t)
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	client := nodeClient(t)
	c := nodeop.Clients[1] // client_secret_basic
	p := &auth.Provider{Name: "node", Source: auth.SourceUser, Issuer: op.Issuer, ClientID: c.ID,
		Scopes: []string{"openid"}, Grant: auth.GrantAuthorizationCode, NeedsDiscovery: true,
		TokenEndpointAuthMethod: string(auth.ClientAuthPost)}
	rp, _, err := auth.ResolveEndpoints(ctx, client, p)
	if err != nil {
		t.Fatal(err)
	}
	_, err = auth.Refresh(ctx, client, auth.RefreshRequest{TokenURL: rp.TokenURL, ClientID: c.ID, ClientSecret: c.Secret,
		ClientAuth: auth.ClientAuthPost, RefreshToken: "fake-unknown-refresh-token"}, time.Now, auth.RetryPolicy{Attempts: 1})
	var cae *auth.ClientAuthError
	if !errors.As(err, &cae) || len(cae.Tried) != 1 || cae.Tried[0] != auth.ClientAuthPost {
		t.Fatalf("error %v, want a *ClientAuthError after one client_secret_post request", err)
	}
	if got := err.Error(); !strings.Contains(got, "invalid_client") || !strings.Contains(got, "sent with client_secret_post") {
		t.Errorf("error %q does not name the code and the method sent", got)
	}
}
