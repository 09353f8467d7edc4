package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/nodeop"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/keyring"
)

// nodeEnv is a login environment for provider "node" at op with client c;
// method, when set, is the entry's token_endpoint_auth_method.
func nodeEnv(t *testing.T, op *nodeop.OP, c nodeop.Client, method string) *loginEnv {
	env := newLoginEnv(t, op.ProviderYAML("node", c, method))
	if c.Secret != "" {
		env.set("OAUTHCTL_NODE_CLIENT_SECRET", c.Secret)
	}
	return env
}

// nodeRun runs `oauthctl args...` in env with store; a login signs in as
// login through node-oidc-provider's pages.
func nodeRun(t *testing.T, op *nodeop.OP, env *loginEnv, store keyring.Store, login string, args ...string) (code int, stdout, stderr, authURL string) {
	t.Helper()
	launched := make(chan struct{}, 1)
	urls := make(chan string, 1)
	visited := make(chan error, 1)
	// A browser that fails ends the command at once rather than leaving the
	// login to wait out its 5-minute timeout.
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	open := func(_ context.Context, u string) error {
		launched <- struct{}{}
		go func() {
			b := nodeop.NewBrowser(op, login)
			// The launcher gets oauthctl's one-time address; the
			// authorization URL is where it redirects.
			auth, err := b.Launch(t.Context(), u)
			urls <- auth
			if err == nil {
				_, err = b.Visit(t.Context(), auth)
			}
			if err != nil {
				cancel()
			}
			visited <- err
		}()
		return nil
	}
	f, out, errOut := loginFactory(env, store, open, nil)
	code = Run(ctx, f, args)
	select {
	case <-launched:
		authURL = <-urls
		if err := <-visited; err != nil {
			t.Errorf("browser: %v", err)
		}
	default:
	}
	return code, out.String(), errOut.String(), authURL
}

// TestNodeOPEndToEnd runs the login, token, refresh and logout use cases
// against node-oidc-provider, the suite's second independent OP, with each
// client authentication method, configured in providers.yaml and found by
// trying (issue 9). node-oidc-provider is strict: 60 s tokens, no ID token
// on refresh, refresh tokens only with prompt=consent, rotation with reuse
// detection, and each client refuses the other methods.
func TestNodeOPEndToEnd(t *testing.T) {
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
				env := nodeEnv(t, op, c, configured)
				store := keyring.NewMemory()
				user := strings.ReplaceAll("e2e-"+name, "/", "-")
				account := user + "@example.test"

				code, out, errOut, authURL := nodeRun(t, op, env, store, user, "login", "node")
				if code != 0 || out != "" {
					t.Fatalf("login: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
				}
				if !strings.Contains(authURL, "prompt=consent") {
					t.Errorf("the first login did not ask for consent: %s", authURL)
				}
				if strings.Contains(errOut, "warning") {
					t.Errorf("login warned:\n%s", errOut)
				}
				a := env.loadIndex(t).Find("node", account)
				if a == nil || !a.Refreshable || a.ClientAuth != c.Method {
					t.Fatalf("index entry %+v, want a refreshable account with token_endpoint_auth_method %s", a, c.Method)
				}
				first, err := store.Load(t.Context(), a.Key())
				if err != nil || first.IDToken == "" || first.RefreshToken == "" {
					t.Fatalf("stored record: %v", err)
				}
				if life := first.Expiry.Sub(first.IssuedAt); life != nodeop.TokenLifetime {
					t.Errorf("granted lifetime %v, want %v", life, nodeop.TokenLifetime)
				}

				// A fresh 60 s token is served as it is: no refresh, no warning.
				code, out, errOut, _ = nodeRun(t, op, env, store, user, "token", "node")
				if code != 0 || out != first.AccessToken+"\n" || errOut != "" {
					t.Errorf("token: exit %d, same token %v, stderr %q", code, out == first.AccessToken+"\n", errOut)
				}
				// A refresh: rotated, no ID token in the answer, the method kept.
				code, out, errOut, _ = nodeRun(t, op, env, store, user, "token", "node", "--force-refresh")
				second, _ := store.Load(t.Context(), a.Key())
				if code != 0 || out != second.AccessToken+"\n" || second.AccessToken == first.AccessToken ||
					second.RefreshToken == first.RefreshToken || errOut != "" {
					t.Errorf("token --force-refresh: exit %d, stderr %q; rotated %v", code, errOut, second.RefreshToken != first.RefreshToken)
				}
				// The ID token from the login is still valid: printed (issue 9 item 3).
				code, out, errOut, _ = nodeRun(t, op, env, store, user, "token", "node", "--id-token")
				if code != 0 || out != first.IDToken+"\n" {
					t.Errorf("token --id-token: exit %d, stdout is the login's ID token: %v, stderr %q", code, out == first.IDToken+"\n", errOut)
				}

				// Logout revokes with the account's method and says the
				// provider has no account left.
				code, out, errOut, _ = nodeRun(t, op, env, store, user, "logout", "node")
				if code != 0 || out != "" || !strings.Contains(errOut, "Revoked the tokens of "+account) ||
					!strings.HasSuffix(errOut, "node has no accounts left.\n") {
					t.Errorf("logout: exit %d, stderr:\n%s", code, errOut)
				}
				_, err = auth.Refresh(t.Context(), NewHTTPClient(), auth.RefreshRequest{TokenURL: a.TokenURL, ClientID: c.ID,
					ClientSecret: c.Secret, ClientAuth: auth.ClientAuth(c.Method), RefreshToken: second.RefreshToken},
					time.Now, auth.RetryPolicy{Attempts: 1})
				if !errors.Is(err, auth.ErrReauthRequired) {
					t.Errorf("refresh after logout: %v, want the refresh token revoked", err)
				}
			})
		}
	}
}

// TestNodeOPSecondPerson is the regression test of issue 9 item 5 against
// the strict OP: with alice as the provider's default account (holding a
// refresh token), `login node` without --account, signed in as bob, asks
// for consent and so gets bob a refresh token; hints name bob's account;
// logging out alice says bob is the default now (item 7).
func TestNodeOPSecondPerson(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t)
	env := nodeEnv(t, op, nodeop.Clients[0], "")
	store := keyring.NewMemory()
	if code, _, errOut, _ := nodeRun(t, op, env, store, "alice", "login", "node"); code != 0 {
		t.Fatalf("alice's login: exit %d:\n%s", code, errOut)
	}
	code, _, errOut, authURL := nodeRun(t, op, env, store, "bob", "login", "node")
	if code != 0 {
		t.Fatalf("bob's login: exit %d:\n%s", code, errOut)
	}
	if !strings.Contains(authURL, "prompt=consent") {
		t.Errorf("bob's login did not ask for consent: %s", authURL)
	}
	if strings.Contains(errOut, "no refresh token") || strings.Contains(errOut, "not granted") {
		t.Errorf("bob's login:\n%s", errOut)
	}
	bob := env.loadIndex(t).Find("node", "bob@example.test")
	if bob == nil || !bob.Refreshable {
		t.Fatalf("bob's account %+v, want one with a refresh token", bob)
	}
	// --prompt login without consent: node drops offline_access, so no
	// refresh token; the warning names commands that work for bob.
	code, _, errOut, authURL = nodeRun(t, op, env, store, "bob", "login", "node", "--account", "bob@example.test", "--prompt", "login")
	if code != 0 || !strings.Contains(authURL, "prompt=login") {
		t.Fatalf("login --prompt login: exit %d, URL %s:\n%s", code, authURL, errOut)
	}
	if rec, _ := store.Load(t.Context(), bob.Key()); rec == nil || rec.RefreshToken == "" {
		t.Error("the refresh token bob already had was not kept")
	}
	code, _, errOut, _ = nodeRun(t, op, env, store, "alice", "logout", "node")
	if code != 0 || !strings.HasSuffix(errOut, "The default account of node is now bob@example.test: `oauthctl token node` prints its token.\n") {
		t.Errorf("logout of the default: exit %d, stderr:\n%s", code, errOut)
	}
}

// TestNodeOPNoRefreshTokenHint: a login that comes back without a refresh
// token (node-oidc-provider drops offline_access without prompt=consent)
// says so with commands that name the stored account.
func TestNodeOPNoRefreshTokenHint(t *testing.T) {
	t.Parallel()
	op := nodeop.Start(t)
	env := nodeEnv(t, op, nodeop.Clients[0], "")
	store := keyring.NewMemory()
	if code, _, errOut, _ := nodeRun(t, op, env, store, "alice", "login", "node"); code != 0 {
		t.Fatalf("alice's login: exit %d:\n%s", code, errOut)
	}
	code, _, errOut, _ := nodeRun(t, op, env, store, "carol", "login", "node", "--prompt", "login")
	if code != 0 {
		t.Fatalf("carol's login: exit %d:\n%s", code, errOut)
	}
	for _, want := range []string{
		"issued no refresh token: `oauthctl token node --account carol@example.test` works until",
		"To get one, sign in again with consent: oauthctl login node --account carol@example.test --prompt consent\n",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr does not contain %q:\n%s", want, errOut)
		}
	}
}

// TestNodeOPConcurrentProcesses is issue 9 item 4's acceptance test with
// the real binary and the real Secret Service against node-oidc-provider
// (rotation with reuse detection that revokes the grant): 20 `oauthctl
// token` processes start at once on a 60 s token with 20 s left. Exactly
// one refresh reaches the OP, none is refused, every process prints the
// same new token, and none warns.
func TestNodeOPConcurrentProcesses(t *testing.T) {
	testkeyring.Require(t)
	op := nodeop.Start(t)
	bin := buildOauthctl(t)
	c := nodeop.Clients[2] // client_secret_post
	env := nodeEnv(t, op, c, "")
	store := keyring.NewMemory()
	if code, _, errOut, _ := nodeRun(t, op, env, store, "concurrent", "login", "node"); code != 0 {
		t.Fatalf("login: exit %d:\n%s", code, errOut)
	}
	acct := *env.loadIndex(t).Find("node", "concurrent@example.test")
	rec, _ := store.Load(t.Context(), acct.Key())
	// Into the real keychain, under a unique account name, as a 60 s token
	// issued 40 s ago.
	kc := keyring.NewKeychain()
	acct.Account = tkAccountName(t)
	rec.IssuedAt = time.Now().Add(-40 * time.Second)
	rec.Expiry = rec.IssuedAt.Add(nodeop.TokenLifetime)
	if err := kc.Save(t.Context(), acct.Key(), rec); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = kc.Delete(context.Background(), acct.Key()) })
	paths, _ := keyring.DefaultPaths(env.getenv)
	if err := keyring.UpdateIndex(t.Context(), paths, func(ix *keyring.Index) error { ix.Put(acct); return nil }); err != nil {
		t.Fatal(err)
	}
	before := len(op.Grants("refresh_token"))

	outs, errs := runAtOnce(t, 20, env.environ(), bin, "token", "node", "--account", acct.Account)
	stored, err := kc.Load(t.Context(), acct.Key())
	if err != nil || stored.AccessToken == rec.AccessToken {
		t.Fatalf("the stored token was not refreshed (%v)", err)
	}
	for i := range outs {
		if outs[i].String() != stored.AccessToken+"\n" || errs[i].Len() != 0 {
			t.Errorf("process %d printed the new token: %v, stderr %q", i, outs[i].String() == stored.AccessToken+"\n", errs[i])
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for len(op.Grants("refresh_token"))-before < 1 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if got := len(op.Grants("refresh_token")) - before; got != 1 {
		t.Errorf("%d refreshes reached the OP, want exactly 1", got)
	}
	for _, ev := range op.Errors() {
		if ev.GrantType == "refresh_token" {
			t.Errorf("the OP refused a refresh: %+v", ev)
		}
	}
}
