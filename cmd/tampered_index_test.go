package cmd

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// evilServer counts every request: none may reach it.
func evilServer(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var hits atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"access_token":"stolen","token_type":"Bearer","expires_in":3600}`))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// tamper rewrites the index entry of key with edit, as someone who could
// write accounts.json would.
func (e *tkEnv) tamper(key keyring.Key, edit func(a *keyring.Account)) {
	e.t.Helper()
	ix := e.index()
	a := ix.Find(key.Provider, key.Account)
	if a == nil {
		e.t.Fatalf("no %s to tamper with", key)
	}
	cp := *a
	edit(&cp)
	ix.Put(cp)
	if err := ix.Save(e.paths.Index); err != nil {
		e.t.Fatal(err)
	}
}

// runRoot runs any command through the real root command.
func (e *tkEnv) runRoot(args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	root := NewCmdRoot(f)
	root.SetArgs(args)
	err := root.ExecuteContext(e.t.Context())
	if err != nil {
		errOut.WriteString(errorText(err2usage(err)))
	}
	return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
}

// TestTamperedIndexRedirectsNothing reproduces issue 10 item 2: for an
// issuer-only provider, token_url, userinfo_url and revocation_url came
// from accounts.json alone, and whoever could write it received the refresh
// token, the access token or a client secret. The endpoint binding is now
// also in the keychain record; when index and record disagree, nothing is
// sent (exit 4).
func TestTamperedIndexRedirectsNothing(t *testing.T) {
	t.Parallel()
	legit := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`))
	issuerOnly := "providers:\n  fake:\n    issuer: https://issuer.example\n    client_id: fake-client\n    scopes: [openid]\n" +
		"  svc:\n    issuer: https://issuer.example\n    grant: client_credentials\n    client_id: fake-svc\n"
	tests := []struct {
		name   string
		grant  string
		edit   func(a *keyring.Account, evil string)
		args   []string
		expect func(t *testing.T, r tkResult)
	}{
		{name: "token endpoint: the refresh token", edit: func(a *keyring.Account, evil string) { a.TokenURL = evil + "/token" },
			args: []string{"token", "fake"}},
		{name: "client credentials: the client secret", grant: auth.GrantClientCredentials,
			edit: func(a *keyring.Account, evil string) { a.TokenURL = evil + "/token" }, args: []string{"token", "svc", "--force-refresh"}},
		{name: "userinfo endpoint: the access token", edit: func(a *keyring.Account, evil string) { a.UserinfoURL = evil + "/userinfo" },
			args: []string{"whoami", "fake"}},
		{name: "revocation endpoint: logout", edit: func(a *keyring.Account, evil string) { a.RevocationURL = evil + "/revoke" },
			args: []string{"logout", "fake"}, expect: func(t *testing.T, r tkResult) {
				if r.code != 0 || !strings.Contains(r.errOut, "disagree") {
					t.Errorf("logout: exit %d, stderr:\n%s", r.code, r.errOut)
				}
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			evil, hits := evilServer(t)
			e := newTkEnv(t, issuerOnly)
			e.setenv("OAUTHCTL_SVC_CLIENT_SECRET", "fake-svc-secret")
			acct := fakeAccount(legit.srv.URL + "/token")
			acct.RevocationURL, acct.UserinfoURL = legit.srv.URL+"/revoke", legit.srv.URL+"/userinfo"
			if tt.grant != "" {
				acct.Provider, acct.Account, acct.Grant, acct.ClientID, acct.Refreshable = "svc", "fake-svc", tt.grant, "fake-svc", false
			}
			rec := &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-secret", TokenType: "Bearer",
				Expiry: e.clock().Add(-time.Minute), Binding: keyring.BindingOf(&acct)}
			if tt.grant != "" {
				rec.RefreshToken = ""
			}
			e.seed(acct, rec)
			e.tamper(acct.Key(), func(a *keyring.Account) { tt.edit(a, evil.URL) })

			r := e.runRoot(tt.args...)
			if n := hits.Load(); n != 0 {
				t.Errorf("the tampered endpoint received %d requests", n)
			}
			if strings.Contains(r.out, "stolen") || strings.Contains(r.errOut, "fake-rt-secret") {
				t.Errorf("output: %q %q", r.out, r.errOut)
			}
			if tt.expect != nil {
				tt.expect(t, r)
				return
			}
			if r.code != ExitSignIn || !strings.Contains(r.errOut, "the account index and the keychain disagree") || r.out != "" {
				t.Errorf("exit %d, stdout %q, stderr:\n%s", r.code, r.out, r.errOut)
			}
		})
	}
}

// TestTokenStoredMalformedNotPrinted: a token stored before tokens were
// checked on arrival (issue 10 item 3) with CR/LF in it is not printed:
// `curl -H "$(oauthctl token --header)"` would get an injected header.
func TestTokenStoredMalformedNotPrinted(t *testing.T) {
	t.Parallel()
	e := newTkEnv(t, fixedYAML("https://issuer.example/token"))
	acct := fakeAccount("https://issuer.example/token")
	e.seed(acct, &keyring.Record{AccessToken: "fake-at\r\nX-Injected: 1", TokenType: "Bearer", Expiry: e.clock().Add(time.Hour)})
	for _, args := range [][]string{{"token", "fake"}, {"token", "fake", "--header"}, {"token", "fake", "--json"}} {
		r := e.run(args...)
		if r.out != "" || r.code != ExitSignIn || !strings.Contains(r.errOut, "malformed") {
			t.Errorf("%v: exit %d, stdout %q, stderr %q", args, r.code, r.out, r.errOut)
		}
	}
}
