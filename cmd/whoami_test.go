package cmd

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
)

func TestNewCmdWhoami(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     *WhoamiOptions
		wantCode int
	}{
		{name: "only account", args: nil, want: &WhoamiOptions{}},
		{name: "provider", args: []string{"google"}, want: &WhoamiOptions{Provider: "google"}},
		{name: "account and json", args: []string{"google", "-a", "work", "--json"}, want: &WhoamiOptions{Provider: "google", Account: "work", JSON: true}},
		{name: "two providers", args: []string{"google", "github"}, wantCode: ExitUsage},
		{name: "bad account", args: []string{"google", "--account", ""}, want: &WhoamiOptions{Provider: "google"}},
		{name: "control character in account", args: []string{"google", "--account", "a\x1bb"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *WhoamiOptions
			c := NewCmdWhoami(&Factory{IO: ios}, func(o *WhoamiOptions) error { got = o; return nil })
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

// TestWhoami asks a fake userinfo endpoint with the stored (still valid)
// access token and checks the summary, the raw claims, and the mapping of
// userinfo failures to exit codes.
func TestWhoami(t *testing.T) {
	t.Parallel()
	// ESC must be escaped in JSON; U+202E (bidi override) and U+009B (the C1
	// control sequence introducer) may appear raw.
	const claims = `{"sub":"sub-alice","email":"alice@example.com","name":"Alice \u001b[31mExample","zz":1,"bidi":"a` + "\u202e\u009b" + `b"}`
	tests := []struct {
		name      string
		args      []string
		status    int
		body      string
		header    [2]string
		noURL     bool
		code      int
		out       string // {issuer} is replaced
		errOut    string
		noRequest bool
		// machine seeds a client_credentials account "client" instead of
		// alice.
		machine bool
	}{
		{name: "summary", args: []string{"whoami", "acme"}, status: 200, body: claims,
			out: "provider: acme\naccount:  alice\nidentity: alice@example.com\nname:     Alice [31mExample\nsubject:  sub-alice\nissuer:   {issuer}\n"},
		{name: "the only account", args: []string{"whoami"}, status: 200, body: `{"sub":"sub-alice"}`,
			out: "provider: acme\naccount:  alice\nidentity: sub-alice\nsubject:  sub-alice\nissuer:   {issuer}\n"},
		{name: "raw claims, terminal controls escaped", args: []string{"whoami", "acme", "--json"}, status: 200, body: claims,
			out: "{\n  \"sub\": \"sub-alice\",\n  \"email\": \"alice@example.com\",\n  \"name\": \"Alice \\u001b[31mExample\",\n  \"zz\": 1,\n  \"bidi\": \"a\\u202e\\u009bb\"\n}\n"},
		{name: "401: log in again", args: []string{"whoami", "acme"}, status: 401, header: [2]string{"WWW-Authenticate", `Bearer error="invalid_token"`},
			code:   ExitSignIn,
			errOut: "oauthctl: sign-in required: the provider refused the access token at its userinfo endpoint (HTTP 401, invalid_token)\nrun: oauthctl login acme --account alice\n"},
		{name: "401 for a client_credentials account: no login hint", args: []string{"whoami", "acme"}, status: 401, machine: true,
			header: [2]string{"WWW-Authenticate", `Bearer error="invalid_token"`}, code: ExitSignIn,
			errOut: "oauthctl: the provider refused the access token at its userinfo endpoint (HTTP 401, invalid_token); acme:client is a client_credentials account: its access token stands for the client, not a user, and the provider's userinfo endpoint does not accept such machine tokens\n" +
				"if the token was revoked, get a new one: oauthctl token acme --account client --force-refresh\n"},
		{name: "403 for a client_credentials account", args: []string{"whoami", "acme"}, status: 403, machine: true, code: ExitSignIn,
			errOut: "oauthctl: the provider refused the access token at its userinfo endpoint (HTTP 403); acme:client is a client_credentials account: its access token stands for the client, not a user, and the provider's userinfo endpoint does not accept such machine tokens\n" +
				"if the token was revoked, get a new one: oauthctl token acme --account client --force-refresh\n"},
		{name: "503: unavailable", args: []string{"whoami", "acme"}, status: 503, body: "<html>down</html>", code: ExitUnavailable,
			errOut: "oauthctl: userinfo endpoint answered HTTP 503\n"},
		{name: "another subject", args: []string{"whoami", "acme"}, status: 200, body: `{"sub":"someone-else"}`, code: ExitError,
			errOut: "oauthctl: the userinfo subject \"someone-else\" is not the subject \"sub-alice\" the account acme:alice signed in as; not showing it\n"},
		{name: "no userinfo endpoint", args: []string{"whoami", "acme"}, noURL: true, code: ExitUsage, noRequest: true,
			errOut: "oauthctl: configuration error: acme has no userinfo endpoint\nset userinfo_url for acme in providers.yaml\n"},
		{name: "not logged in", args: []string{"whoami", "github"}, code: ExitSignIn, noRequest: true,
			errOut: "oauthctl: no stored credentials: not logged in to github\nrun: oauthctl login github\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var auths []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				auths = append(auths, r.Method+" "+r.URL.Path+" "+r.Header.Get("Authorization"))
				mu.Unlock()
				if tt.header[0] != "" {
					w.Header().Set(tt.header[0], tt.header[1])
				}
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = io.WriteString(w, tt.body)
			}))
			t.Cleanup(srv.Close)
			yaml := "providers:\n" + acProviderYAML("acme", srv.URL, "")
			if tt.noURL {
				yaml = strings.Replace(yaml, "    userinfo_url: "+srv.URL+"/userinfo\n", "", 1)
			}
			e := newAcEnv(t, yaml)
			name := "alice"
			a := acAccount("acme", srv.URL, name)
			if tt.machine {
				name = "client"
				a = acAccount("acme", srv.URL, name)
				a.Grant, a.Subject, a.Identity = auth.GrantClientCredentials, "", ""
			}
			e.seed(a, acRecord(name))
			r := e.run(tt.args...)
			want := acResult{code: tt.code, out: strings.ReplaceAll(tt.out, "{issuer}", srv.URL), errOut: tt.errOut}
			if diff := cmp.Diff(want, r, cmp.AllowUnexported(acResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			wantReq := []string{"GET /userinfo Bearer fake-at-" + name}
			if tt.noRequest {
				wantReq = nil
			}
			if diff := cmp.Diff(wantReq, auths); diff != "" {
				t.Errorf("userinfo requests (-want +got):\n%s", diff)
			}
			if strings.Contains(r.errOut+r.out, "fake-at-") {
				t.Errorf("output shows the token")
			}
		})
	}
}

// TestWhoamiEndpointBinding checks that whoami sends the access token only
// to the userinfo endpoint recorded at login, of the configuration the
// account logged in with (docs/security.md §3.6): otherwise exit 4 with the login
// hint, and no request to the old or the new endpoint. An index entry
// without a recorded endpoint (older oauthctl) is served only on the token
// endpoint's host.
func TestWhoamiEndpointBinding(t *testing.T) {
	t.Parallel()
	// {B} is the server of the login, {X} another server.
	tests := []struct {
		name        string
		userinfoURL string // in providers.yaml now
		tokenURL    string // in providers.yaml now; "" is {B}/token
		recorded    string // the index entry's userinfo endpoint
		code        int
		out         string
		errOut      string
		loginHits   int
	}{
		{name: "unchanged", userinfoURL: "{B}/userinfo", recorded: "{B}/userinfo",
			out: "provider: acme\naccount:  alice\nidentity: sub-alice\nsubject:  sub-alice\nissuer:   {B}\n", loginHits: 1},
		{name: "userinfo_url moved to another host", userinfoURL: "{X}/userinfo", recorded: "{B}/userinfo", code: ExitSignIn,
			errOut: "oauthctl: sign-in required: the configuration changed since acme:alice logged in (userinfo endpoint {B}/userinfo, now {X}/userinfo); no token was sent\n" +
				"run: oauthctl login acme --account alice\n"},
		{name: "userinfo_url changed on the same host", userinfoURL: "{B}/me", recorded: "{B}/userinfo", code: ExitSignIn,
			errOut: "oauthctl: sign-in required: the configuration changed since acme:alice logged in (userinfo endpoint {B}/userinfo, now {B}/me); no token was sent\n" +
				"run: oauthctl login acme --account alice\n"},
		{name: "token_url changed, access token still fresh", userinfoURL: "{B}/userinfo", tokenURL: "{X}/token", recorded: "{B}/userinfo", code: ExitSignIn,
			errOut: "oauthctl: sign-in required: the stored credentials of acme:alice were issued for another configuration (token endpoint {B}/token, now {X}/token); the refresh token was not sent\n" +
				"run: oauthctl login acme --account alice\n"},
		{name: "old index entry, userinfo on the token endpoint's host", userinfoURL: "{B}/userinfo",
			out: "provider: acme\naccount:  alice\nidentity: sub-alice\nsubject:  sub-alice\nissuer:   {B}\n", loginHits: 1},
		{name: "old index entry, userinfo on another host", userinfoURL: "{X}/userinfo", code: ExitSignIn,
			errOut: "oauthctl: sign-in required: the configuration changed since acme:alice logged in (userinfo endpoint {X}/userinfo was not recorded at login and is not on the token endpoint's host); no token was sent\n" +
				"run: oauthctl login acme --account alice\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			hits := map[string][]string{}
			server := func(name string) *httptest.Server {
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					mu.Lock()
					hits[name] = append(hits[name], r.Method+" "+r.URL.Path)
					mu.Unlock()
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, `{"sub":"sub-alice"}`)
				}))
				t.Cleanup(srv.Close)
				return srv
			}
			login, other := server("login"), server("other")
			x := strings.NewReplacer("{B}", login.URL, "{X}", other.URL).Replace
			yaml := "providers:\n" + acProviderYAML("acme", login.URL, "")
			yaml = strings.Replace(yaml, "    userinfo_url: "+login.URL+"/userinfo\n", "    userinfo_url: "+x(tt.userinfoURL)+"\n", 1)
			if tt.tokenURL != "" {
				yaml = strings.Replace(yaml, "    token_url: "+login.URL+"/token\n", "    token_url: "+x(tt.tokenURL)+"\n", 1)
			}
			e := newAcEnv(t, yaml)
			a := acAccount("acme", login.URL, "alice")
			a.UserinfoURL = x(tt.recorded)
			e.seed(a, acRecord("alice"))

			r := e.run("whoami", "acme")
			want := acResult{code: tt.code, out: x(tt.out), errOut: x(tt.errOut)}
			if diff := cmp.Diff(want, r, cmp.AllowUnexported(acResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if len(hits["login"]) != tt.loginHits || len(hits["other"]) != 0 {
				t.Errorf("requests %v, want %d to the login's server and none elsewhere", hits, tt.loginHits)
			}
			if !e.stored(a.Key()) {
				t.Error("whoami deleted the tokens")
			}
		})
	}
}
