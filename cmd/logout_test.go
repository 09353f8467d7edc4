package cmd

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

func TestNewCmdLogout(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     *LogoutOptions
		wantCode int
	}{
		{name: "default account", args: []string{"google"}, want: &LogoutOptions{Provider: "google"}},
		{name: "one account", args: []string{"google", "--account", "work@example.com"}, want: &LogoutOptions{Provider: "google", Account: "work@example.com"}},
		{name: "short flag", args: []string{"google", "-a", "work"}, want: &LogoutOptions{Provider: "google", Account: "work"}},
		{name: "all", args: []string{"github", "--all"}, want: &LogoutOptions{Provider: "github", All: true}},
		{name: "account and all", args: []string{"github", "--all", "--account", "x"}, wantCode: ExitUsage},
		{name: "bad account name", args: []string{"github", "--account", "a:b"}, wantCode: ExitUsage},
		{name: "no provider", args: []string{}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *LogoutOptions
			c := NewCmdLogout(&Factory{IO: ios}, func(o *LogoutOptions) error { got = o; return nil })
			if code := acParse(c, tt.args); code != tt.wantCode {
				t.Fatalf("exit %d, want %d", code, tt.wantCode)
			}
			if tt.want == nil {
				return
			}
			got.IO, got.Session = nil, nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// revocationServer is a fake provider whose /revoke answers from a script
// (the last handler repeats) and records what it was sent.
type revocationServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	got      []string // "token hint client_id basic-user:basic-password"
	handlers []http.HandlerFunc
}

func newRevocationServer(t *testing.T, handlers ...http.HandlerFunc) *revocationServer {
	rs := &revocationServer{handlers: handlers}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		form, _ := url.ParseQuery(string(body))
		user, pass, _ := r.BasicAuth()
		rs.mu.Lock()
		n := len(rs.got)
		rs.got = append(rs.got, strings.Join([]string{r.Method + " " + r.URL.Path, form.Get("token"), form.Get("token_type_hint"),
			form.Get("client_id"), form.Get("client_secret"), user + ":" + pass}, " "))
		h := rs.handlers[min(n, len(rs.handlers)-1)]
		rs.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *revocationServer) requests() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.got...)
}

func acReply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, body)
	}
}

// TestLogout covers which accounts are logged out, what is sent to the
// revocation endpoint, and that the stored tokens are deleted whatever the
// provider answers (docs/security.md fault matrix row 50: 503, timeout, no endpoint), with
// a warning naming the page to remove access by hand, exit 0 and nothing on
// stdout.
func TestLogout(t *testing.T) {
	t.Parallel()
	const ok = "Logged out of acme (alice); the stored tokens are deleted.\n"
	const manage = "Remove the app's access by hand at https://acme.example/connections\n"
	// moved is what a logout of the default account alice adds (issue 9
	// item 7).
	const moved = "The default account of acme is now bob: `oauthctl token acme` prints its token.\n"
	rt := func(account, client, secret, basic string) string {
		return "POST /revoke fake-rt-" + account + " refresh_token " + client + " " + secret + " " + basic
	}
	at := func(account, client, secret, basic string) string {
		return "POST /revoke fake-at-" + account + " access_token " + client + " " + secret + " " + basic
	}
	tests := []struct {
		name     string
		args     []string
		handlers []http.HandlerFunc
		noRevURL bool
		setup    func(e *acEnv, base string)
		code     int
		errOut   string // exact stderr, or with errHas a substring
		errHas   []string
		requests []string
		accounts []string // index afterwards
		gone     []string // accounts whose keychain record must be gone
		kept     []string // accounts whose keychain record must remain
	}{
		{name: "default account, revoked", args: []string{"logout", "acme"}, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut: "Revoked the tokens of alice at acme.\n" + ok +
				"The default account of acme is now bob: `oauthctl token acme` prints its token.\n",
			requests: []string{rt("alice", "acme-client", "", ":"), at("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}, kept: []string{"bob", "carol"}},
		{name: "another account", args: []string{"logout", "acme", "--account", "bob"}, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut:   "Revoked the tokens of bob at acme.\nLogged out of acme (bob); the stored tokens are deleted.\n",
			requests: []string{rt("bob", "acme-client", "", ":"), at("bob", "acme-client", "", ":")},
			accounts: []string{"acme/alice*", "other/carol*"}, gone: []string{"bob"}, kept: []string{"alice", "carol"}},
		{name: "all accounts", args: []string{"logout", "acme", "--all"}, handlers: []http.HandlerFunc{acReply(200, "")},
			errHas: []string{"Logged out of acme (alice)", "Logged out of acme (bob)", "deleted.\nacme has no accounts left.\n"},
			requests: []string{rt("alice", "acme-client", "", ":"), at("alice", "acme-client", "", ":"),
				rt("bob", "acme-client", "", ":"), at("bob", "acme-client", "", ":")},
			accounts: []string{"other/carol*"}, gone: []string{"alice", "bob"}, kept: []string{"carol"}},
		{name: "client secret from the environment, HTTP Basic", args: []string{"logout", "acme"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup:    func(e *acEnv, _ string) { e.setenv("OAUTHCTL_ACME_CLIENT_SECRET", "fake-env-secret") },
			errOut:   "Revoked the tokens of alice at acme.\n" + ok + moved,
			requests: []string{rt("alice", "", "", "acme-client:fake-env-secret"), at("alice", "", "", "acme-client:fake-env-secret")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "client secret from the keychain", args: []string{"logout", "acme"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup: func(e *acEnv, _ string) {
				_ = e.store.SetClientSecret(context.Background(), "acme", "fake-stored-secret")
			},
			errOut:   "Revoked the tokens of alice at acme.\n" + ok + moved,
			requests: []string{rt("alice", "", "", "acme-client:fake-stored-secret"), at("alice", "", "", "acme-client:fake-stored-secret")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "confidential client without its secret: invalid_client says the secret is missing", args: []string{"logout", "acme"},
			handlers: []http.HandlerFunc{acReply(401, `{"error":"invalid_client"}`)},
			errOut: "warning: could not revoke the tokens of acme:alice at the provider: the provider needs the client secret to revoke them, and no client secret is set (revoking the refresh token: provider returned invalid_client)\n" +
				"Set OAUTHCTL_ACME_CLIENT_SECRET or run: oauthctl client set acme, so that logouts can revoke tokens.\n" + manage + ok + moved,
			requests: []string{rt("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "stored secret of another client ID: not sent, and said so", args: []string{"logout", "acme"},
			handlers: []http.HandlerFunc{acReply(401, `{"error":"invalid_client"}`)},
			setup: func(e *acEnv, _ string) {
				_ = e.store.SetClientSecret(context.Background(), "acme", "fake-env-secret")
				_ = keyring.UpdateClients(context.Background(), e.paths, func(c *keyring.Clients) error {
					c.Providers["acme"] = keyring.ClientRegistration{ClientID: "web", SecretStored: true}
					return nil
				})
			},
			errOut: "warning: could not revoke the tokens of acme:alice at the provider: the provider needs the client secret to revoke them, and the client secret in the keychain is for another client ID (web) (revoking the refresh token: provider returned invalid_client)\n" +
				"Set OAUTHCTL_ACME_CLIENT_SECRET or run: oauthctl client set acme, so that logouts can revoke tokens.\n" + manage + ok + moved,
			requests: []string{rt("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "unsupported_token_type: the access token instead", args: []string{"logout", "acme"},
			handlers: []http.HandlerFunc{acReply(400, `{"error":"unsupported_token_type"}`), acReply(200, "")},
			errOut: "Revoked the tokens of alice at acme.\n" + ok +
				"The default account of acme is now bob: `oauthctl token acme` prints its token.\n",
			requests: []string{rt("alice", "acme-client", "", ":"), at("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "row 50: 503, retried once after Retry-After", args: []string{"logout", "acme"},
			handlers: []http.HandlerFunc{acReply(503, "", "Retry-After", "0")},
			errOut: "warning: could not revoke the tokens of acme:alice at the provider: revoking the refresh token: revocation endpoint answered HTTP 503\n" +
				manage + ok + moved,
			requests: []string{rt("alice", "acme-client", "", ":"), rt("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}, kept: []string{"bob"}},
		{name: "row 50: timeout", args: []string{"logout", "acme"},
			handlers: []http.HandlerFunc{func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }},
			setup: func(e *acEnv, _ string) {
				e.client = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 150 * time.Millisecond}
			},
			errOut: "warning: could not revoke the tokens of acme:alice at the provider: revoking the refresh token: revocation endpoint: the provider did not answer in time\n" +
				manage + ok + moved,
			requests: []string{rt("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "row 50: no revocation endpoint", args: []string{"logout", "acme"}, noRevURL: true, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut:   "note: acme has no token revocation endpoint; the tokens stay valid at the provider until they expire\n" + manage + ok + moved,
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "row 50: 500 with a page", args: []string{"logout", "acme"}, handlers: []http.HandlerFunc{acReply(500, "<html>oops</html>")},
			errHas:   []string{"warning: could not revoke the tokens of acme:alice at the provider: revoking the refresh token: revocation endpoint answered HTTP 500\n", manage, ok},
			requests: []string{rt("alice", "acme-client", "", ":")},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "configuration changed since login: tokens not sent", args: []string{"logout", "acme"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup: func(e *acEnv, base string) {
				a := acAccount("acme", base, "alice")
				a.TokenURL = "https://old.example/token"
				e.seed(a, acRecord("alice"))
			},
			errHas: []string{"warning: the tokens of acme:alice were not sent to the provider to revoke them: the stored credentials of acme:alice were issued for another configuration (token endpoint https://old.example/token, now ",
				manage, ok},
			accounts: []string{"acme/bob*", "other/carol*"}, gone: []string{"alice"}},
		{name: "provider removed from providers.yaml", args: []string{"logout", "gone"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup: func(e *acEnv, base string) { e.seed(acAccount("gone", base, "dave"), acRecord("dave")) },
			errOut: "warning: could not revoke the tokens of gone:dave at the provider: the provider's configuration is not usable: unknown provider \"gone\" (known: acme, github, gitlab, google, microsoft, other)\n" +
				"Remove the app's access by hand in your gone account settings.\nLogged out of gone (dave); the stored tokens are deleted.\ngone has no accounts left.\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}, gone: []string{"dave"}},
		{name: "no tokens in the keychain", args: []string{"logout", "acme", "--account", "erin"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup:    func(e *acEnv, base string) { e.seed(acAccount("acme", base, "erin"), nil) },
			errOut:   "note: no tokens of acme:erin were stored; nothing to revoke\nLogged out of acme (erin); the stored tokens are deleted.\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}},
		{name: "keychain leftover without an index entry", args: []string{"logout", "acme", "--account", "ghost"}, handlers: []http.HandlerFunc{acReply(200, "")},
			setup: func(e *acEnv, _ string) {
				_ = e.store.Save(context.Background(), keyring.Key{Provider: "acme", Account: "ghost"}, acRecord("ghost"))
			},
			errHas:   []string{"could not revoke the tokens of acme:ghost", "no metadata", "Logged out of acme (ghost)"},
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}, gone: []string{"ghost"}},
		{name: "unknown account", args: []string{"logout", "acme", "--account", "zed"}, code: ExitSignIn, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut:   "oauthctl: no stored credentials: no acme account \"zed\" (accounts: alice, bob)\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}, kept: []string{"alice", "bob"}},
		{name: "not logged in", args: []string{"logout", "github"}, code: ExitSignIn, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut:   "oauthctl: no stored credentials: not logged in to github\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}},
		{name: "unknown provider", args: []string{"logout", "nope"}, code: ExitUsage, handlers: []http.HandlerFunc{acReply(200, "")},
			errOut:   "oauthctl: unknown provider \"nope\" (known: acme, github, gitlab, google, microsoft, other)\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}},
		{name: "keychain unavailable: nothing deleted", args: []string{"logout", "acme"}, code: ExitStorage, handlers: []http.HandlerFunc{acReply(200, "")},
			setup: func(e *acEnv, _ string) {
				e.store.FailLoad = &keyring.UnavailableError{Op: "read", Msg: "no Secret Service"}
			},
			errOut:   "oauthctl: logging out acme:alice: the keychain is unavailable: no Secret Service\n",
			accounts: []string{"acme/alice*", "acme/bob", "other/carol*"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			rs := newRevocationServer(t, tt.handlers...)
			base := rs.srv.URL
			rev := base + "/revoke"
			if tt.noRevURL {
				rev = ""
			}
			e := newAcEnv(t, "providers:\n"+acProviderYAML("acme", base, rev)+acProviderYAML("other", base, rev))
			e.seed(acAccount("acme", base, "alice"), acRecord("alice"))
			e.seed(acAccount("acme", base, "bob"), acRecord("bob"))
			e.seed(acAccount("other", base, "carol"), acRecord("carol"))
			if tt.setup != nil {
				tt.setup(e, base)
			}
			r := e.run(tt.args...)
			if r.code != tt.code || r.out != "" {
				t.Errorf("exit %d, stdout %q; want %d and nothing", r.code, r.out, tt.code)
			}
			if tt.errHas == nil {
				if diff := cmp.Diff(tt.errOut, r.errOut); diff != "" {
					t.Errorf("stderr (-want +got):\n%s", diff)
				}
			}
			for _, s := range tt.errHas {
				if !strings.Contains(r.errOut, s) {
					t.Errorf("stderr lacks %q:\n%s", s, r.errOut)
				}
			}
			if strings.Contains(r.errOut, "fake-rt-") || strings.Contains(r.errOut, "fake-at-") || strings.Contains(r.errOut, "fake-env-secret") {
				t.Errorf("stderr shows a secret:\n%s", r.errOut)
			}
			if diff := cmp.Diff(tt.requests, rs.requests()); diff != "" {
				t.Errorf("revocation requests (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.accounts, e.accountNames()); diff != "" {
				t.Errorf("index (-want +got):\n%s", diff)
			}
			e.store.FailLoad = nil
			provider := func(account string) string {
				if account == "carol" {
					return "other"
				}
				if account == "dave" {
					return "gone"
				}
				return "acme"
			}
			for _, a := range tt.gone {
				if e.stored(keyring.Key{Provider: provider(a), Account: a}) {
					t.Errorf("the tokens of %s are still in the keychain", a)
				}
			}
			for _, a := range tt.kept {
				if !e.stored(keyring.Key{Provider: provider(a), Account: a}) {
					t.Errorf("the tokens of %s were deleted", a)
				}
			}
		})
	}
}

// TestLogoutGitHub deletes the OAuth app's grant with GitHub's API shape
// (DELETE with Basic client_id:secret), and without a secret keeps the
// local delete with a warning.
func TestLogoutGitHub(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		secret   string
		requests []string
		errHas   string
	}{
		{name: "with the client secret", secret: "fake-gh-secret",
			requests: []string{"DELETE /applications/gh-client/grant     gh-client:fake-gh-secret"},
			errHas:   "Revoked the tokens of octocat at gh.\n"},
		{name: "without a secret", errHas: "warning: could not revoke the tokens of gh:octocat at the provider: deleting the grant needs the client secret (set OAUTHCTL_GH_CLIENT_SECRET or run: oauthctl client set gh)\n" +
			"Remove the app's access by hand at https://github.com/settings/applications\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var body string
			rs := newRevocationServer(t, func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(http.StatusNoContent)
			})
			// Record the JSON body separately: the recorder parses forms.
			inner := rs.srv.Config.Handler
			var mu sync.Mutex
			rs.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				mu.Lock()
				body = string(b)
				mu.Unlock()
				r.Body = io.NopCloser(strings.NewReader(string(b)))
				inner.ServeHTTP(w, r)
			})
			base := rs.srv.URL
			yaml := "providers:\n  gh:\n    auth_url: " + base + "/login/oauth/authorize\n    token_url: " + base + "/login/oauth/access_token\n" +
				"    grant_revocation_url: " + base + "/applications/{client_id}/grant\n    manage_url: https://github.com/settings/applications\n" +
				"    client_id: gh-client\n    scopes: [read:user]\n"
			e := newAcEnv(t, yaml)
			if tt.secret != "" {
				e.setenv("OAUTHCTL_GH_CLIENT_SECRET", tt.secret)
			}
			a := acAccount("gh", base, "octocat")
			a.Issuer, a.TokenURL, a.ClientID = "", base+"/login/oauth/access_token", "gh-client"
			e.seed(a, acRecord("octocat"))
			r := e.run("logout", "gh")
			if r.code != 0 || r.out != "" || !strings.Contains(r.errOut, tt.errHas) || !strings.Contains(r.errOut, "Logged out of gh (octocat)") {
				t.Errorf("exit %d stdout %q stderr:\n%s\nwant stderr with %q", r.code, r.out, r.errOut, tt.errHas)
			}
			if diff := cmp.Diff(tt.requests, rs.requests()); diff != "" {
				t.Errorf("requests (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if tt.secret != "" && body != `{"access_token":"fake-at-octocat"}` {
				t.Errorf("body = %s", body)
			}
			if e.stored(a.Key()) || len(e.index().Accounts) != 0 {
				t.Errorf("the local copy remains")
			}
		})
	}
}

// TestLogoutEndpointBinding checks that logout sends tokens only to the
// revocation endpoints recorded at login (docs/security.md §3.6): when
// providers.yaml moved revocation_url or grant_revocation_url, nothing is
// sent to either the old or the new endpoint, the stored tokens are deleted,
// stderr says why and where to remove access by hand, and the exit status
// is 0. An index entry without recorded endpoints (written by an older
// oauthctl) revokes only on the token endpoint's host.
func TestLogoutEndpointBinding(t *testing.T) {
	t.Parallel()
	const manage = "Remove the app's access by hand at https://acme.example/connections\n"
	const ok = "Logged out of acme (alice); the stored tokens are deleted.\n"
	// {B} is the server of the login, {X} another server.
	tests := []struct {
		name string
		// revURL, grantURL and userinfoURL are the configuration's now.
		revURL, grantURL, userinfoURL string
		// recorded sets the index entry's endpoints.
		recRev, recGrant, recUserinfo string
		errOut                        string
		loginRequests                 []string
	}{
		{name: "unchanged: revoked", revURL: "{B}/revoke", recRev: "{B}/revoke",
			errOut:        "Revoked the tokens of alice at acme.\n" + ok,
			loginRequests: []string{"POST /revoke fake-rt-alice", "POST /revoke fake-at-alice"}},
		{name: "revocation_url moved to another host", revURL: "{X}/revoke", recRev: "{B}/revoke",
			errOut: "warning: the tokens of acme:alice were not sent to the provider to revoke them: the configuration changed since acme:alice logged in (revocation endpoint {B}/revoke, now {X}/revoke)\n" +
				manage + ok},
		{name: "revocation_url changed on the same host", revURL: "{B}/revoke2", recRev: "{B}/revoke",
			errOut: "warning: the tokens of acme:alice were not sent to the provider to revoke them: the configuration changed since acme:alice logged in (revocation endpoint {B}/revoke, now {B}/revoke2)\n" +
				manage + ok},
		{name: "grant_revocation_url moved", grantURL: "{X}/applications/{client_id}/grant", recGrant: "{B}/applications/{client_id}/grant",
			errOut: "warning: the tokens of acme:alice were not sent to the provider to revoke them: the configuration changed since acme:alice logged in (grant revocation endpoint {B}/applications/{client_id}/grant, now {X}/applications/{client_id}/grant)\n" +
				manage + ok},
		{name: "only userinfo_url moved: revocation goes on", revURL: "{B}/revoke", recRev: "{B}/revoke", userinfoURL: "{X}/userinfo", recUserinfo: "{B}/userinfo",
			errOut:        "Revoked the tokens of alice at acme.\n" + ok,
			loginRequests: []string{"POST /revoke fake-rt-alice", "POST /revoke fake-at-alice"}},
		{name: "revocation_url removed", recRev: "{B}/revoke",
			errOut: "note: acme has no token revocation endpoint; the tokens stay valid at the provider until they expire\n" + manage + ok},
		{name: "old index entry, revocation endpoint on the token endpoint's host", revURL: "{B}/revoke",
			errOut:        "Revoked the tokens of alice at acme.\n" + ok,
			loginRequests: []string{"POST /revoke fake-rt-alice", "POST /revoke fake-at-alice"}},
		{name: "old index entry, revocation endpoint on another host", revURL: "{X}/revoke",
			errOut: "warning: the tokens of acme:alice were not sent to the provider to revoke them: the configuration changed since acme:alice logged in (revocation endpoint {X}/revoke was not recorded at login and is not on the token endpoint's host)\n" +
				manage + ok},
		{name: "old index entry, grant revocation endpoint on another host", grantURL: "{X}/applications/{client_id}/grant",
			errOut: "warning: the tokens of acme:alice were not sent to the provider to revoke them: the configuration changed since acme:alice logged in (grant revocation endpoint {X}/applications/{client_id}/grant was not recorded at login and is not on the token endpoint's host)\n" +
				manage + ok},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			login := newRevocationServer(t, acReply(200, ""))
			other := newRevocationServer(t, acReply(200, ""))
			x := strings.NewReplacer("{B}", login.srv.URL, "{X}", other.srv.URL).Replace
			yaml := "providers:\n" + acProviderYAML("acme", login.srv.URL, x(tt.revURL))
			yaml = strings.Replace(yaml, "    userinfo_url: "+login.srv.URL+"/userinfo\n", "", 1)
			if tt.userinfoURL != "" {
				yaml += "    userinfo_url: " + x(tt.userinfoURL) + "\n"
			}
			if tt.grantURL != "" {
				yaml += "    grant_revocation_url: " + x(tt.grantURL) + "\n"
			}
			e := newAcEnv(t, yaml)
			e.setenv("OAUTHCTL_ACME_CLIENT_SECRET", "fake-env-secret")
			a := acAccount("acme", login.srv.URL, "alice")
			a.RevocationURL, a.GrantRevocationURL, a.UserinfoURL = x(tt.recRev), x(tt.recGrant), x(tt.recUserinfo)
			e.seed(a, acRecord("alice"))

			r := e.run("logout", "acme")
			want := acResult{code: 0, errOut: x(tt.errOut) + "acme has no accounts left.\n"}
			if diff := cmp.Diff(want, r, cmp.AllowUnexported(acResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			var got []string
			for _, req := range login.requests() {
				f := strings.Fields(req)
				got = append(got, strings.Join(f[:3], " "))
			}
			if diff := cmp.Diff(tt.loginRequests, got); diff != "" {
				t.Errorf("requests to the login's endpoints (-want +got):\n%s", diff)
			}
			if reqs := other.requests(); len(reqs) != 0 {
				t.Errorf("requests to the changed endpoint: %q", reqs)
			}
			if e.stored(a.Key()) || len(e.index().Accounts) != 0 {
				t.Error("the local copy remains")
			}
		})
	}
}

// TestLogoutIssuerOnlyUsesRecordedEndpoint: for an issuer-only entry
// (endpoints from discovery), logout revokes at the revocation endpoint the
// login recorded, without fetching the discovery document first: a
// provider whose discovery is down still gets the revocation.
func TestLogoutIssuerOnlyUsesRecordedEndpoint(t *testing.T) {
	t.Parallel()
	rs := newRevocationServer(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/revoke" {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		acReply(200, "")(w, r)
	})
	base := rs.srv.URL
	e := newAcEnv(t, "providers:\n  acme:\n    issuer: "+base+"\n    client_id: acme-client\n    scopes: [openid, email, offline_access]\n")
	a := acAccount("acme", base, "alice")
	a.RevocationURL, a.UserinfoURL = base+"/revoke", base+"/userinfo"
	e.seed(a, acRecord("alice"))
	r := e.run("logout", "acme")
	want := acResult{errOut: "Revoked the tokens of alice at acme.\nLogged out of acme (alice); the stored tokens are deleted.\nacme has no accounts left.\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(acResult{})); diff != "" {
		t.Errorf("logout (-want +got):\n%s", diff)
	}
	wantReq := []string{"POST /revoke fake-rt-alice refresh_token acme-client  :", "POST /revoke fake-at-alice access_token acme-client  :"}
	if diff := cmp.Diff(wantReq, rs.requests()); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if e.stored(a.Key()) {
		t.Error("the tokens are still in the keychain")
	}
}
