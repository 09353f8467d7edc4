package cmd

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// testopYAML is a providers.yaml entry for the in-process OP: only an
// issuer, so the login discovers the endpoints.
func testopYAML(name, issuer, clientID string, scopes string) string {
	return fmt.Sprintf("providers:\n  %s:\n    issuer: %s\n    client_id: %s\n    scopes: [%s]\n", name, issuer, clientID, scopes)
}

// visitor is a browser stand-in for the Factory: it drives the OP's login
// form as user in the background and reports what the loopback listener
// answered.
type visitor struct {
	results chan *testop.Result
	errs    chan error
	urls    chan string
}

func newVisitor(t *testing.T, op *testop.OP, user string) (*visitor, browser.Opener) {
	v := &visitor{results: make(chan *testop.Result, 4), errs: make(chan error, 4), urls: make(chan string, 4)}
	b := testop.NewBrowser(op, user, testop.Password)
	return v, func(ctx context.Context, u string) error {
		// The launcher gets oauthctl's one-time address; the browser
		// opens it (cookie kept) and is sent to the authorization URL,
		// which is what the tests inspect.
		u, err := b.Launch(ctx, u)
		if err != nil {
			return err
		}
		v.urls <- u
		go func() {
			res, err := b.Visit(t.Context(), u)
			if err != nil {
				v.errs <- err
				return
			}
			v.results <- res
		}()
		return nil
	}
}

// result returns the listener's answer to the browser.
func (v *visitor) result(t *testing.T) *testop.Result {
	t.Helper()
	select {
	case r := <-v.results:
		return r
	case err := <-v.errs:
		t.Fatalf("browser: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("browser: no result")
	}
	return nil
}

// TestLoginEndToEnd signs in against the in-process certified OP with a
// native public client and a confidential web client, through the real
// command line, the real loopback listener and the real keychain (a private
// gnome-keyring), and checks what was sent and what was stored.
func TestLoginEndToEnd(t *testing.T) {
	testkeyring.Require(t)
	tests := []struct {
		name, provider, clientID, secret string
		wantBasicAuth                    bool
	}{
		{name: "native public client", provider: "e2e-native", clientID: testop.NativeClientID},
		{name: "confidential web client", provider: "e2e-web", clientID: testop.WebClientID, secret: testop.WebClientSecret, wantBasicAuth: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			env := newLoginEnv(t, testopYAML(tt.provider, op.Issuer, tt.clientID, "openid, email, profile, offline_access"))
			if tt.secret != "" {
				env.set("OAUTHCTL_"+strings.ToUpper(strings.ReplaceAll(tt.provider, "-", "_"))+"_CLIENT_SECRET", tt.secret)
			}
			kc := keyring.NewKeychain()
			t.Cleanup(func() {
				_ = kc.Delete(context.WithoutCancel(t.Context()), keyring.Key{Provider: tt.provider, Account: "test-user@zitadel.ch"})
			})
			v, open := newVisitor(t, op, testop.Username)
			f, out, errOut := loginFactory(env, kc, open, nil)

			if code := Run(t.Context(), f, []string{"login", tt.provider}); code != 0 {
				t.Fatalf("exit %d, stderr:\n%s", code, errOut)
			}
			if out.String() != "" {
				t.Errorf("stdout = %q, want nothing", out.String())
			}
			t.Logf("stderr:\n%s", errOut)
			res := v.result(t)
			if res.StatusCode != http.StatusOK || !strings.Contains(res.Body, "You are signed in to "+tt.provider) {
				t.Errorf("browser page: %d %q", res.StatusCode, res.Body)
			}
			authURL, _ := url.Parse(<-v.urls)
			q := authURL.Query()
			redirect, _ := url.Parse(q.Get("redirect_uri"))
			for k, want := range map[string]string{"code_challenge_method": "S256", "response_type": "code", "prompt": "consent", "client_id": tt.clientID} {
				if q.Get(k) != want {
					t.Errorf("authorization URL %s = %q, want %q", k, q.Get(k), want)
				}
			}
			if len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 || q.Get("state") == q.Get("nonce") {
				t.Errorf("state %q and nonce %q must be distinct 32-byte values", q.Get("state"), q.Get("nonce"))
			}
			if redirect.Scheme != "http" || redirect.Hostname() != "127.0.0.1" || redirect.Port() == "" || redirect.Path != "/callback" {
				t.Errorf("redirect_uri = %s, want http://127.0.0.1:PORT/callback", redirect)
			}
			for _, stderrWant := range []string{"Opening your browser to sign in to " + tt.provider, "If your browser did not open, visit:\n\n  http://127.0.0.1:",
				"Logged in to " + tt.provider + " as test-user@zitadel.ch.", "Granted scopes: "} {
				if !strings.Contains(errOut.String(), stderrWant) {
					t.Errorf("stderr lacks %q:\n%s", stderrWant, errOut)
				}
			}
			if strings.Contains(errOut.String(), "warning") {
				t.Errorf("unexpected warning:\n%s", errOut)
			}

			// Exactly one code exchange, with the verifier, the same
			// redirect_uri and the client authentication of the client type.
			reqs := op.TokenRequests("authorization_code")
			if len(reqs) != 1 {
				t.Fatalf("%d authorization_code requests, want 1", len(reqs))
			}
			xr := reqs[0]
			if xr.Form.Get("code_verifier") == "" || xr.Form.Get("redirect_uri") != redirect.String() || xr.Status != http.StatusOK {
				t.Errorf("exchange: verifier %q redirect_uri %q status %d", xr.Form.Get("code_verifier"), xr.Form.Get("redirect_uri"), xr.Status)
			}
			if got := xr.BasicAuthUser == tt.clientID; got != tt.wantBasicAuth {
				t.Errorf("HTTP Basic client authentication = %v, want %v", got, tt.wantBasicAuth)
			}
			if xr.Form.Get("client_secret") != "" {
				t.Errorf("the secret went in the form")
			}

			// The keychain holds the tokens; the index the metadata.
			rec, err := kc.Load(t.Context(), keyring.Key{Provider: tt.provider, Account: "test-user@zitadel.ch"})
			if err != nil {
				t.Fatalf("keychain: %v", err)
			}
			if rec.AccessToken == "" || rec.RefreshToken == "" || rec.IDToken == "" || rec.TokenType != "Bearer" || rec.Expiry.Before(time.Now()) {
				t.Errorf("stored record incomplete: AT %t RT %t ID %t type %q expiry %v",
					rec.AccessToken != "", rec.RefreshToken != "", rec.IDToken != "", rec.TokenType, rec.Expiry)
			}
			ix := env.loadIndex(t)
			endpoints := op.Endpoints()
			want := []keyring.Account{{
				Provider: tt.provider, Account: "test-user@zitadel.ch", Issuer: op.Issuer, TokenURL: endpoints.Token,
				// Recorded as discovery found them (logout and whoami check them).
				RevocationURL: endpoints.Revocation, UserinfoURL: endpoints.Userinfo,
				ClientID: tt.clientID, Subject: testop.Subject, Identity: "test-user@zitadel.ch", Refreshable: true,
				Grant: "authorization_code", ClientAuth: map[bool]string{true: "client_secret_basic", false: "none"}[tt.secret != ""],
			}}
			if diff := cmp.Diff(want, ix.Accounts, cmpopts.IgnoreFields(keyring.Account{}, "Scopes", "Expiry", "UpdatedAt")); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
			if ix.Defaults[tt.provider] != "test-user@zitadel.ch" {
				t.Errorf("default account = %q", ix.Defaults[tt.provider])
			}
		})
	}
}

// TestLoginEndToEndRelogin logs in twice as the same identity and once as
// another: the same identity replaces its account (the rotated-out refresh
// token is revoked at the OP), the other identity becomes a second account,
// and the first stays the default.
func TestLoginEndToEndRelogin(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("relogin", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	store := keyring.NewMemory()
	login := func(user string, extra ...string) string {
		t.Helper()
		v, open := newVisitor(t, op, user)
		f, out, errOut := loginFactory(env, store, open, nil)
		if code := Run(t.Context(), f, append([]string{"login", "relogin"}, extra...)); code != 0 {
			t.Fatalf("login as %s: exit %d:\n%s", user, code, errOut)
		}
		if out.String() != "" {
			t.Errorf("stdout = %q", out)
		}
		v.result(t)
		return <-v.urls
	}
	firstURL := login(testop.Username)
	first, _ := store.Load(t.Context(), keyring.Key{Provider: "relogin", Account: "test-user@zitadel.ch"})

	// A re-login that names the account, which holds a refresh token: no
	// consent needed.
	secondURL := login(testop.Username, "--account", "test-user@zitadel.ch")
	second, _ := store.Load(t.Context(), keyring.Key{Provider: "relogin", Account: "test-user@zitadel.ch"})
	if first.RefreshToken == second.RefreshToken {
		t.Fatal("the re-login did not store the new refresh token")
	}
	if u, _ := url.Parse(firstURL); u.Query().Get("prompt") != "consent" {
		t.Errorf("first login: prompt = %q, want consent", u.Query().Get("prompt"))
	}
	if u, _ := url.Parse(secondURL); u.Query().Has("prompt") {
		t.Errorf("re-login of an account with a refresh token: prompt = %q, want none", u.Query().Get("prompt"))
	}
	// The replaced refresh token was revoked: the OP refuses it now.
	revocations := 0
	for _, r := range op.Requests() {
		if r.Method == http.MethodPost && op.Issuer+r.Path == op.Endpoints().Revocation {
			revocations++
			if r.Form.Get("token") != first.RefreshToken || r.Form.Get("token_type_hint") != "refresh_token" {
				t.Errorf("revocation of the wrong token")
			}
		}
	}
	if revocations != 1 {
		t.Errorf("%d revocation requests, want 1", revocations)
	}

	// Without --account nobody knows who signs in: consent is asked, so the
	// other person also gets a refresh token (issue 9 item 5).
	otherURL := login(testop.OtherUsername)
	if u, _ := url.Parse(otherURL); u.Query().Get("prompt") != "consent" {
		t.Errorf("login without --account while the default holds a refresh token: prompt = %q, want consent", u.Query().Get("prompt"))
	}
	if rec, err := store.Load(t.Context(), keyring.Key{Provider: "relogin", Account: "test-user2@zitadel.ch"}); err != nil || rec.RefreshToken == "" {
		t.Errorf("the second person's account has no refresh token (%v)", err)
	}
	ix := env.loadIndex(t)
	var names []string
	for _, a := range ix.Accounts {
		names = append(names, a.Account+"="+a.Subject)
	}
	if diff := cmp.Diff([]string{"test-user2@zitadel.ch=id2", "test-user@zitadel.ch=id1"}, names); diff != "" {
		t.Errorf("accounts (-want +got):\n%s", diff)
	}
	if ix.Defaults["relogin"] != "test-user@zitadel.ch" {
		t.Errorf("default = %q, want the first account", ix.Defaults["relogin"])
	}
}

// TestLoginEndToEndAddScopes adds a scope to a stored account: the request
// asks for the granted scopes plus the new one, with the provider's
// incremental parameter and a login_hint, and updates the same account.
func TestLoginEndToEndAddScopes(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("incr", op.Issuer, testop.NativeClientID, "openid, email, offline_access")+
		"    incremental_param: include_granted_scopes\n")
	store := keyring.NewMemory()
	run := func(args ...string) (string, string) {
		v, open := newVisitor(t, op, testop.Username)
		f, _, errOut := loginFactory(env, store, open, nil)
		if code := Run(t.Context(), f, append([]string{"login", "incr"}, args...)); code != 0 {
			t.Fatalf("exit %d:\n%s", code, errOut)
		}
		v.result(t)
		return <-v.urls, errOut.String()
	}
	run()
	u, stderr := run("--add-scopes", "profile")
	q, _ := url.Parse(u)
	if diff := cmp.Diff("openid email offline_access profile", q.Query().Get("scope")); diff != "" {
		t.Errorf("scope (-want +got):\n%s", diff)
	}
	if q.Query().Get("include_granted_scopes") != "true" {
		t.Errorf("include_granted_scopes = %q", q.Query().Get("include_granted_scopes"))
	}
	if q.Query().Get("login_hint") != "test-user@zitadel.ch" {
		t.Errorf("login_hint = %q", q.Query().Get("login_hint"))
	}
	ix := env.loadIndex(t)
	if len(ix.Accounts) != 1 || !strings.Contains(strings.Join(ix.Accounts[0].Scopes, " "), "profile") {
		t.Errorf("accounts = %+v, want the one account with profile", ix.Accounts)
	}
	if !strings.Contains(stderr, "Logged in to incr as test-user@zitadel.ch.") {
		t.Errorf("stderr:\n%s", stderr)
	}
}

// TestLoginEndToEndPasteRedirect is the headless login against the real OP:
// --no-browser prints the URL; the user signs in elsewhere and pastes the
// redirect address. A pasted address with a wrong state is refused and the
// login keeps reading; the right one completes it.
func TestLoginEndToEndPasteRedirect(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("paste", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	store := keyring.NewMemory()
	stdinR, stdinW := io.Pipe()
	f, out, errOut := loginFactory(env, store, noBrowser(t), stdinR)
	done := make(chan int, 1)
	go func() { done <- Run(t.Context(), f, []string{"login", "paste", "--no-browser"}) }()

	authURL := errOut.waitFor(t, regexp.MustCompile(`\n  (http://\S+)\n`))[1]
	final, err := testop.NewBrowser(op, testop.Username, testop.Password).FinalRedirect(t.Context(), authURL)
	if err != nil {
		t.Fatal(err)
	}
	forged := regexp.MustCompile(`state=[^&]+`).ReplaceAllString(final, "state=forged")
	fmt.Fprintf(stdinW, "\n%s\n", forged)
	errOut.waitFor(t, regexp.MustCompile(`refused the pasted address: .*state does not match`))
	fmt.Fprintf(stdinW, "  %s  \n", final)
	if code := <-done; code != 0 {
		t.Fatalf("exit %d:\n%s", code, errOut)
	}
	stdinW.Close()
	if out.String() != "" {
		t.Errorf("stdout = %q", out)
	}
	if reqs := op.TokenRequests("authorization_code"); len(reqs) != 1 {
		t.Errorf("%d exchanges, want 1", len(reqs))
	}
	if _, err := store.Load(t.Context(), keyring.Key{Provider: "paste", Account: "test-user@zitadel.ch"}); err != nil {
		t.Errorf("not stored: %v", err)
	}
	if strings.Count(errOut.String(), "refused the pasted address") != 1 {
		t.Errorf("stderr:\n%s", errOut)
	}
}
