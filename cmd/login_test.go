package cmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/fakeas"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// TestNewCmdLogin checks argv -> options, and the usage errors cobra
// reports before anything runs.
func TestNewCmdLogin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     LoginOptions
		wantCode int
	}{
		{name: "defaults", args: []string{"google"}, want: LoginOptions{Provider: "google", Timeout: 5 * time.Minute}},
		{name: "every flag", args: []string{"gitlab", "--account", "work", "--scopes", "openid,read_api", "--no-browser", "--timeout", "90s"},
			want: LoginOptions{Provider: "gitlab", Account: "work", Scopes: []string{"openid", "read_api"}, NoBrowser: true, Timeout: 90 * time.Second}},
		{name: "add scopes", args: []string{"google", "--add-scopes", "a,b"},
			want: LoginOptions{Provider: "google", AddScopes: []string{"a", "b"}, Timeout: 5 * time.Minute}},
		{name: "browser command", args: []string{"github", "--browser-command", "wslview"},
			want: LoginOptions{Provider: "github", BrowserCommand: "wslview", Timeout: 5 * time.Minute}},
		{name: "device", args: []string{"microsoft", "--device"}, want: LoginOptions{Provider: "microsoft", Device: true, Timeout: 5 * time.Minute}},
		{name: "prompt", args: []string{"google", "--prompt", "select_account"}, want: LoginOptions{Provider: "google", Prompt: "select_account", Timeout: 5 * time.Minute}},
		{name: "no provider", args: nil, want: LoginOptions{Timeout: 5 * time.Minute}},
		{name: "two providers", args: []string{"a", "b"}, wantCode: ExitUsage},
		{name: "scopes and add-scopes", args: []string{"google", "--scopes", "a", "--add-scopes", "b"}, wantCode: ExitUsage},
		{name: "device and no-browser", args: []string{"google", "--device", "--no-browser"}, wantCode: ExitUsage},
		{name: "device and browser-command", args: []string{"google", "--device", "--browser-command", "x"}, wantCode: ExitUsage},
		{name: "bad timeout", args: []string{"google", "--timeout", "soon"}, wantCode: ExitUsage},
		{name: "unknown flag", args: []string{"google", "--client-secret", "x"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }}
			var got *LoginOptions
			root := NewCmdRoot(f)
			for _, c := range root.Commands() {
				if c.Name() == "login" {
					root.RemoveCommand(c)
				}
			}
			root.AddCommand(NewCmdLogin(f, func(o *LoginOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"login"}, tt.args...))
			err := root.ExecuteContext(t.Context())
			if code := ExitCode(err2usage(err)); code != tt.wantCode {
				t.Fatalf("exit %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				if got != nil {
					t.Error("runF was called")
				}
				return
			}
			opts := *got
			opts.IO, opts.Browser, opts.Session = nil, nil, nil
			if opts.Pick == nil {
				t.Error("no picker wired")
			}
			opts.Pick, opts.Builtin = nil, nil
			if diff := cmp.Diff(tt.want, opts); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if out.Len() != 0 || errOut.Len() != 0 {
				t.Errorf("output: %q %q", out, errOut)
			}
		})
	}
}

// fakeLogin is a login command wired to the fake authorization server, a
// memory store and a browser that visits the authorization URL (a fake
// provider's redirect comes straight back to the listener).
type fakeLogin struct {
	as     *fakeas.Server
	env    *loginEnv
	store  *keyring.Memory
	f      *Factory
	out    *syncBuffer
	errOut *syncBuffer
	urls   chan string
	now    time.Time
}

func newFakeLogin(t *testing.T, yaml func(as *fakeas.Server) string) *fakeLogin {
	t.Helper()
	as := fakeas.Start(t)
	if yaml == nil {
		yaml = func(as *fakeas.Server) string {
			return as.ProviderYAML("fake", "client-1", "openid, email, offline_access")
		}
	}
	fl := &fakeLogin{as: as, env: newLoginEnv(t, yaml(as)), store: keyring.NewMemory(), urls: make(chan string, 4),
		now: time.Now().UTC().Truncate(time.Second)}
	fl.f, fl.out, fl.errOut = loginFactory(fl.env, fl.store, fl.visit, nil)
	fl.f.Now = func() time.Time { return fl.now }
	return fl
}

// visit is the default browser: it follows the URL in the background.
func (fl *fakeLogin) visit(_ context.Context, u string) error {
	// A browser with a cookie jar: it opens oauthctl's one-time launch
	// address, which sets the login cookie and redirects to the
	// authorization URL; that URL is what the tests inspect.
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	if pu, err := url.Parse(u); err == nil && strings.HasPrefix(pu.Path, "/start/") {
		nc := *c
		nc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := nc.Get(u)
		if err != nil {
			return err
		}
		resp.Body.Close()
		u = resp.Header.Get("Location")
	}
	fl.urls <- u
	go func() {
		if resp, err := c.Get(u); err == nil {
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	}()
	return nil
}

func (fl *fakeLogin) run(ctx context.Context, args ...string) int {
	return Run(ctx, fl.f, append([]string{"login"}, args...))
}

// TestLoginRunFaults covers docs/security.md fault matrix rows 3, 5, 7, 8, 15, 17, 19, 20,
// 29, 30 and 31 through the command: exit code, the last lines of stderr,
// nothing on stdout, and whether anything was stored.
func TestLoginRunFaults(t *testing.T) {
	t.Parallel()
	heldPort, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { heldPort.Close() })

	tests := []struct {
		name  string
		yaml  func(as *fakeas.Server) string
		setup func(t *testing.T, fl *fakeLogin)
		args  []string
		// browser replaces the default one.
		browser    func(fl *fakeLogin) browser.Opener
		wantCode   int
		wantSuffix string   // the end of stderr
		wantStderr []string // also in stderr
		wantStored bool
		noBrowser  bool // the browser must not have been opened
		check      func(t *testing.T, fl *fakeLogin)
	}{
		{name: "row 3: access_denied", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Redirect = func(q url.Values) { q.Del("code"); q.Set("error", "access_denied") }
		}, wantCode: ExitLogin, wantSuffix: "oauthctl: sign-in cancelled (access_denied)\n"},
		{name: "row 5: server_error", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Redirect = func(q url.Values) { q.Del("code"); q.Set("error", "server_error") }
		}, wantCode: ExitUnavailable, wantSuffix: "oauthctl: the provider refused the sign-in (provider returned server_error)\n" +
			"the provider reported a temporary problem; try again in a moment\n"},
		{name: "row 7: neither code nor error", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Redirect = func(q url.Values) { q.Del("code") }
		}, wantCode: ExitLogin, wantSuffix: "oauthctl: login failed: malformed authorization response: neither code nor error\n"},
		{name: "row 8: iss mismatch", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Redirect = func(q url.Values) { q.Set("iss", "https://evil.example") }
		}, wantCode: ExitLogin, wantStderr: []string{`oauthctl: issuer mismatch (possible mix-up attack): the authorization response names issuer "https://evil.example"`}},
		{name: "row 9: iss missing while advertised (issuer-only entry)",
			yaml: func(as *fakeas.Server) string {
				return fmt.Sprintf("providers:\n  fake:\n    issuer: %s\n    client_id: client-1\n    scopes: [openid]\n", as.URL)
			},
			setup: func(t *testing.T, fl *fakeLogin) {
				fl.as.IssParameter = true
				fl.as.Redirect = func(q url.Values) { q.Del("iss") }
			}, wantCode: ExitLogin, wantStderr: []string{"promises an iss parameter but the authorization response has none"}},
		{name: "row 15: timeout", args: []string{"--timeout", "50ms"}, browser: func(*fakeLogin) browser.Opener {
			return func(context.Context, string) error { return nil }
		}, wantCode: ExitLogin, wantSuffix: "oauthctl: timed out after 50ms; try --no-browser\n"},
		{name: "row 15: timeout with a device endpoint",
			yaml: func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid") + "    device_auth_url: " + as.URL + "/device\n"
			},
			args: []string{"--timeout", "50ms"}, browser: func(*fakeLogin) browser.Opener {
				return func(context.Context, string) error { return nil }
			}, wantCode: ExitLogin, wantSuffix: "oauthctl: timed out after 50ms; try --no-browser or --device\n"},
		{name: "row 17: fixed port in use",
			yaml: func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid") + "    redirect_uri: http://" + heldPort.Addr().String() + "/cb\n"
			},
			wantCode: ExitUnavailable, noBrowser: true,
			wantStderr: []string{"oauthctl: cannot listen on " + heldPort.Addr().String() + " for the redirect_uri"}},
		{name: "row 19: browser cannot be launched", browser: func(fl *fakeLogin) browser.Opener {
			return func(ctx context.Context, u string) error {
				fl.visit(ctx, u) // the user copies the printed URL into a browser elsewhere
				return errors.New(`exec: "xdg-open": executable file not found in $PATH`)
			}
		}, wantCode: 0, wantStored: true, wantStderr: []string{
			"If your browser did not open, visit:\n\n  http://",
			"warning: could not open a browser: exec: \"xdg-open\": executable file not found in $PATH\n" +
				"no browser and stdin is not a terminal: use --device or --no-browser. Still waiting up to 5m (--timeout) for the redirect to http://127.0.0.1:",
			"/callback (a forwarded port may bring it)...\n",
		}},
		{name: "row 20: javascript authorization endpoint in providers.yaml",
			yaml: func(as *fakeas.Server) string {
				return strings.Replace(as.ProviderYAML("fake", "client-1", "openid"), "auth_url: "+as.URL+"/authorize", "auth_url: javascript:alert(1)", 1)
			},
			wantCode: ExitUsage, noBrowser: true, wantStderr: []string{"auth_url: must be an absolute https URL"}},
		{name: "row 20: file authorization endpoint from discovery",
			yaml: func(as *fakeas.Server) string {
				return fmt.Sprintf("providers:\n  fake:\n    issuer: %s\n    client_id: client-1\n    scopes: [openid]\n", as.URL)
			},
			setup: func(t *testing.T, fl *fakeLogin) {
				fl.as.Discovery = func(d map[string]any) { d["authorization_endpoint"] = "file:///etc/passwd" }
			}, wantCode: ExitUsage, noBrowser: true, wantStderr: []string{"authorization_endpoint must be an absolute https URL"}},
		{name: "row 29: code exchange invalid_grant", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(400)
				io.WriteString(w, `{"error":"invalid_grant"}`)
				return true
			}
		}, wantCode: ExitLogin, wantSuffix: "oauthctl: the provider refused the authorization code (provider returned invalid_grant)\n" +
			"rerun login: oauthctl login fake\n"},
		{name: "row 30: ID token for another audience", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Claims = func(c map[string]any) { c["aud"] = "other-client" }
		}, wantCode: ExitLogin, wantStderr: []string{`oauthctl: invalid ID token: expected audience "client-1"`}},
		{name: "row 30: ID token signed with another key", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.SignKey = fakeas.NewKey(t)
		}, wantCode: ExitLogin, wantStderr: []string{"oauthctl: invalid ID token: failed to verify signature"}},
		{name: "row 30: ID token with a wrong nonce", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Claims = func(c map[string]any) { c["nonce"] = "old" }
		}, wantCode: ExitLogin, wantStderr: []string{"oauthctl: invalid ID token: nonce does not match"}},
		{name: "row 30: ID token of another issuer", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Claims = func(c map[string]any) { c["iss"] = "https://evil.example" }
		}, wantCode: ExitLogin, wantStderr: []string{"oauthctl: invalid ID token: id token issued by a different provider"}},
		{name: "row 30 and 42: expired ID token (clock off)", setup: func(t *testing.T, fl *fakeLogin) {
			fl.now = fl.now.Add(2 * time.Hour)
		}, wantCode: ExitLogin, wantStderr: []string{"oauthctl: invalid ID token: expired at "},
			wantSuffix: "check the system clock: it differs from the provider's by more than 5m\n"},
		{name: "row 31: narrower scope granted", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.GrantedScope = "openid offline_access"
		}, wantCode: 0, wantStored: true, wantSuffix: "Granted scopes: openid offline_access\n" +
			"warning: fake granted fewer scopes than requested; not granted: email\n",
			check: func(t *testing.T, fl *fakeLogin) {
				if a := fl.env.loadIndex(t).Find("fake", fakeas.Email); a == nil || strings.Join(a.Scopes, " ") != "openid offline_access" {
					t.Errorf("stored scopes: %+v", a)
				}
			}},
		{name: "row 31: no refresh token", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.NoRefreshToken = true
		}, wantCode: 0, wantStored: true,
			wantStderr: []string{"warning: fake issued no refresh token: `oauthctl token fake` works until the access token expires ("},
			check: func(t *testing.T, fl *fakeLogin) {
				if a := fl.env.loadIndex(t).Find("fake", fakeas.Email); a == nil || a.Refreshable {
					t.Errorf("index entry %+v, want not refreshable", a)
				}
			}},
		{name: "invalid_client at the exchange", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(401)
				io.WriteString(w, `{"error":"invalid_client"}`)
				return true
			}
		}, wantCode: ExitUsage, wantSuffix: "oauthctl: the provider rejected the client credentials (provider returned invalid_client; sent without a client secret)\n" +
			"this client may need a secret: set OAUTHCTL_FAKE_CLIENT_SECRET or run: oauthctl client set fake\n"},
		{name: "token endpoint 500", setup: func(t *testing.T, fl *fakeLogin) {
			fl.as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
				w.WriteHeader(502)
				io.WriteString(w, "<h1>Bad Gateway</h1>")
				return true
			}
		}, wantCode: ExitUnavailable, wantSuffix: "oauthctl: exchanging the authorization code: token endpoint answered HTTP 502: <h1>Bad Gateway</h1>\n"},
		{name: "no client ID",
			yaml: func(as *fakeas.Server) string {
				return strings.Replace(as.ProviderYAML("fake", "client-1", "openid"), "    client_id: client-1\n", "", 1)
			},
			wantCode: ExitUsage, noBrowser: true, wantStderr: []string{"oauthctl: no client ID for fake: set OAUTHCTL_FAKE_CLIENT_ID, or client_id under fake in "},
			wantSuffix: "register an OAuth client with the provider first (see: oauthctl help client), then run: oauthctl client set fake\n"},
		{name: "client secret required and missing",
			yaml: func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid") + "    client_secret_required: true\n"
			},
			wantCode: ExitUsage, noBrowser: true,
			wantSuffix: "oauthctl: fake requires a client secret: set OAUTHCTL_FAKE_CLIENT_SECRET or run: oauthctl client set fake\n" +
				"the secret never goes on the command line or in providers.yaml\n"},
		{name: "keychain write fails", setup: func(t *testing.T, fl *fakeLogin) {
			fl.store.FailSave = &keyring.UnavailableError{Op: "write", Msg: "the keychain is locked"}
		}, wantCode: ExitStorage,
			wantSuffix: "oauthctl: saving the tokens of fake:alice@example.com: the keychain is locked\nunlock it in your desktop's prompt or run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n",
			check: func(t *testing.T, fl *fakeLogin) {
				if ix := fl.env.loadIndex(t); len(ix.Accounts) != 0 {
					t.Errorf("the index was written: %+v", ix.Accounts)
				}
			}},
		{name: "keychain write fails with a plain error", setup: func(t *testing.T, fl *fakeLogin) {
			fl.store.FailSave = errors.New("disk full")
		}, wantCode: ExitStorage, wantSuffix: "oauthctl: saving the tokens of fake:alice@example.com: secure storage unavailable: disk full\n"},
		{name: "unknown provider", args: []string{"--account", "x"}, setup: func(t *testing.T, fl *fakeLogin) {
			fl.f.Catalogue = func() (*auth.Catalogue, error) {
				return auth.LoadCatalogue(auth.ConfigSource{}, auth.ConfigSource{Path: "p.yaml", Data: []byte(fl.as.ProviderYAML("other", "c", "openid"))}, fl.env.getenv)
			}
		}, wantCode: ExitUsage, noBrowser: true, wantSuffix: "oauthctl: unknown provider \"fake\" (known: other)\n"},
		{name: "client_credentials provider",
			yaml: func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid") + "    grant: client_credentials\n"
			},
			wantCode: ExitUsage, noBrowser: true,
			wantSuffix: "oauthctl: fake uses the client_credentials grant: there is no user to sign in\nrun: oauthctl token fake\n"},
		{name: "invalid account name", args: []string{"--account", "a:b"}, wantCode: ExitUsage, noBrowser: true,
			wantSuffix: "oauthctl: --account: account name \"a:b\" must not contain '#' or ':'\n"},
		{name: "add-scopes without an account", args: []string{"--add-scopes", "profile"}, wantCode: ExitSignIn, noBrowser: true,
			wantSuffix: "oauthctl: --add-scopes: no stored credentials: no account of fake to add scopes to\nlog in first: oauthctl login fake\n"},
		{name: "zero timeout", args: []string{"--timeout", "0s"}, wantCode: ExitUsage, noBrowser: true,
			wantSuffix: "oauthctl: --timeout must be positive, e.g. 5m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fl := newFakeLogin(t, tt.yaml)
			opened := 0
			open := fl.visit
			if tt.browser != nil {
				open = tt.browser(fl)
			}
			fl.f.Browser = func(ctx context.Context, u string) error { opened++; return open(ctx, u) }
			if tt.setup != nil {
				tt.setup(t, fl)
			}
			code := fl.run(t.Context(), append([]string{"fake"}, tt.args...)...)
			stderr := fl.errOut.String()
			if code != tt.wantCode {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tt.wantCode, stderr)
			}
			if !strings.HasSuffix(stderr, tt.wantSuffix) {
				t.Errorf("stderr does not end with %q:\n%s", tt.wantSuffix, stderr)
			}
			for _, w := range tt.wantStderr {
				if !strings.Contains(stderr, w) {
					t.Errorf("stderr lacks %q:\n%s", w, stderr)
				}
			}
			if fl.out.String() != "" {
				t.Errorf("stdout = %q, want nothing", fl.out)
			}
			if tt.noBrowser && opened != 0 {
				t.Error("the browser was opened")
			}
			_, err := fl.store.Load(t.Context(), keyring.Key{Provider: "fake", Account: fakeas.Email})
			if stored := err == nil; stored != tt.wantStored {
				t.Errorf("stored = %v, want %v", stored, tt.wantStored)
			}
			if !tt.wantStored {
				if ix := fl.env.loadIndex(t); len(ix.Accounts) != 0 {
					t.Errorf("index = %+v, want empty", ix.Accounts)
				}
			}
			for _, secret := range []string{"fake-at-", "fake-rt-", "client_secret", "code="} {
				if strings.Contains(stderr, secret) {
					t.Errorf("stderr shows %q:\n%s", secret, stderr)
				}
			}
			if tt.check != nil {
				tt.check(t, fl)
			}
		})
	}
}

// TestLoginRunStores checks a successful login through the command against
// the fake server: the exact index entry, the keychain record, the stderr
// report, and nothing on stdout.
func TestLoginRunStores(t *testing.T) {
	t.Parallel()
	fl := newFakeLogin(t, nil)
	if code := fl.run(t.Context(), "fake"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, fl.errOut)
	}
	authURL := <-fl.urls
	// What is printed (and what the launcher got) is the one-time launch
	// address on the listener, never the authorization URL.
	au, _ := url.Parse(authURL)
	redirect, _ := url.Parse(au.Query().Get("redirect_uri"))
	launch := regexp.MustCompile(`http://` + regexp.QuoteMeta(redirect.Host) + `/start/[A-Za-z0-9_-]{43}\n`)
	gotStderr := launch.ReplaceAllString(fl.errOut.String(), "{LAUNCH}\n")
	wantStderr := "Opening your browser to sign in to fake...\nIf your browser did not open, visit:\n\n  {LAUNCH}\n\n" +
		"Waiting for you to finish signing in in the browser… (Ctrl-C to cancel)\n" +
		"Logged in to fake as alice@example.com.\nGranted scopes: openid email offline_access\n"
	if diff := cmp.Diff(wantStderr, gotStderr); diff != "" {
		t.Errorf("stderr (-want +got):\n%s", diff)
	}
	if fl.out.String() != "" {
		t.Errorf("stdout = %q", fl.out)
	}
	ix := fl.env.loadIndex(t)
	want := keyring.Account{
		Provider: "fake", Account: fakeas.Email, Issuer: fl.as.URL, TokenURL: fl.as.URL + "/token", ClientID: "client-1",
		RevocationURL: fl.as.URL + "/revoke", UserinfoURL: fl.as.URL + "/userinfo",
		Scopes: []string{"openid", "email", "offline_access"}, Expiry: fl.now.Add(time.Hour), Subject: fakeas.Subject,
		Identity: fakeas.Email, Refreshable: true, Grant: "authorization_code", ClientAuth: "none", UpdatedAt: fl.now,
	}
	if diff := cmp.Diff([]keyring.Account{want}, ix.Accounts); diff != "" {
		t.Errorf("index (-want +got):\n%s", diff)
	}
	if ix.Defaults["fake"] != fakeas.Email {
		t.Errorf("defaults = %v", ix.Defaults)
	}
	rec, err := fl.store.Load(t.Context(), keyring.Key{Provider: "fake", Account: fakeas.Email})
	if err != nil || !strings.HasPrefix(rec.AccessToken, "fake-at-") || !strings.HasPrefix(rec.RefreshToken, "fake-rt-") ||
		rec.IDToken == "" || !rec.Expiry.Equal(fl.now.Add(time.Hour)) {
		t.Errorf("record %+v, %v", rec, err)
	}
	// The keychain record carries the endpoint binding too (issue 10 item 2).
	if err == nil && rec.Binding != keyring.BindingOf(&want) {
		t.Errorf("record binding %+v, want %+v", rec.Binding, keyring.BindingOf(&want))
	}
	if q, _ := url.Parse(authURL); q.Query().Get("prompt") != "consent" {
		t.Errorf("first login with offline_access: prompt = %q, want consent", q.Query().Get("prompt"))
	}
}

// TestLoginRunClientSecret checks where the secret comes from (the
// environment first, else the keychain) and that it is sent only to the
// token endpoint, never shown.
func TestLoginRunClientSecret(t *testing.T) {
	t.Parallel()
	for _, from := range []string{"env", "keychain"} {
		t.Run(from, func(t *testing.T) {
			t.Parallel()
			fl := newFakeLogin(t, func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid") + "    client_secret_required: true\n"
			})
			if from == "env" {
				fl.env.set("OAUTHCTL_FAKE_CLIENT_SECRET", "fake-secret-env")
				_ = fl.store.SetClientSecret(t.Context(), "fake", "fake-secret-keychain-unused")
			} else {
				_ = fl.store.SetClientSecret(t.Context(), "fake", "fake-secret-keychain")
			}
			if code := fl.run(t.Context(), "fake"); code != 0 {
				t.Fatalf("exit %d:\n%s", code, fl.errOut)
			}
			reqs := fl.as.TokenRequests()
			if len(reqs) != 1 || reqs[0].Get("basic_user") != "client-1" {
				t.Fatalf("token requests %v, want one with HTTP Basic", reqs)
			}
			if strings.Contains(fl.errOut.String(), "fake-secret") || strings.Contains(<-fl.urls, "fake-secret") {
				t.Error("the secret was shown or put in the URL")
			}
		})
	}
}

// TestLoginRunRelogin checks what a second login of the same identity does
// with the first one's refresh token: replaced and revoked; kept when no
// new one comes back for the same scopes (also when the provider echoed
// them expanded, as Google does); dropped with a warning and revoked when
// no new one comes back but other scopes were requested (the old token
// would bring the old scopes back at the next refresh); replaced, or
// dropped, but not revoked when revoking would end the whole grant
// (Google).
func TestLoginRunRelogin(t *testing.T) {
	t.Parallel()
	const dropped = "note: the previous refresh token was for other scopes and is not kept\n"
	tests := []struct {
		name          string
		extraYAML     string
		firstGranted  string // the first response's scope, when not the requested one
		secondArgs    []string
		noRTSecond    bool
		wantPrompt    bool
		wantRevoked   bool
		wantKeepFirst bool
		wantWarning   string // "" means no warning at all
		wantScopes    string
	}{
		{name: "new refresh token: the old one is revoked", wantRevoked: true,
			wantScopes: "openid email offline_access"},
		{name: "no new refresh token: the old one is kept", noRTSecond: true, wantKeepFirst: true,
			wantScopes: "openid email offline_access"},
		{name: "no new refresh token, same scopes in another order: kept", noRTSecond: true, wantKeepFirst: true,
			secondArgs: []string{"--scopes", "offline_access,email,openid"}, wantScopes: "offline_access email openid"},
		{name: "no new refresh token, same scopes echoed expanded: kept", noRTSecond: true, wantKeepFirst: true,
			firstGranted: "openid https://www.googleapis.com/auth/userinfo.email offline_access", wantScopes: "openid email offline_access"},
		{name: "revocation ends the grant: not revoked", extraYAML: "    revocation_revokes_grant: true\n",
			wantScopes: "openid email offline_access"},
		{name: "no new refresh token, narrower scopes: dropped and revoked", noRTSecond: true,
			secondArgs: []string{"--scopes", "openid,email"}, wantRevoked: true,
			wantWarning: dropped, wantScopes: "openid email"},
		{name: "no new refresh token, broader scopes: consent asked, dropped and revoked", noRTSecond: true,
			secondArgs: []string{"--scopes", "openid,email,offline_access,profile"}, wantPrompt: true, wantRevoked: true,
			wantWarning: dropped, wantScopes: "openid email offline_access profile"},
		{name: "no new refresh token, other scopes, revocation ends the grant: dropped, not revoked", noRTSecond: true,
			extraYAML: "    revocation_revokes_grant: true\n", secondArgs: []string{"--scopes", "openid,email"},
			wantWarning: dropped, wantScopes: "openid email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			fl := newFakeLogin(t, func(as *fakeas.Server) string {
				return as.ProviderYAML("fake", "client-1", "openid, email, offline_access") + tt.extraYAML
			})
			key := keyring.Key{Provider: "fake", Account: fakeas.Email}
			fl.as.Set(func(s *fakeas.Server) { s.GrantedScope = tt.firstGranted })
			if code := fl.run(t.Context(), "fake"); code != 0 {
				t.Fatalf("first login: exit %d:\n%s", code, fl.errOut)
			}
			<-fl.urls
			first, _ := fl.store.Load(t.Context(), key)
			if first == nil || first.RefreshToken == "" {
				t.Fatalf("first login stored %+v, want a refresh token", first)
			}
			fl.as.Set(func(s *fakeas.Server) { s.NoRefreshToken, s.GrantedScope = tt.noRTSecond, "" })
			before := len(fl.errOut.String())
			// The re-login names the account: only then is it known
			// beforehand who signs in (without --account consent is asked,
			// see TestLoginEndToEndRelogin).
			if code := fl.run(t.Context(), append([]string{"fake", "--account", fakeas.Email}, tt.secondArgs...)...); code != 0 {
				t.Fatalf("second login: exit %d:\n%s", code, fl.errOut)
			}
			if q, _ := url.Parse(<-fl.urls); q.Query().Has("prompt") != tt.wantPrompt {
				t.Errorf("re-login: prompt = %q, want it = %v", q.Query().Get("prompt"), tt.wantPrompt)
			}
			second, _ := fl.store.Load(t.Context(), key)
			if kept := second.RefreshToken == first.RefreshToken; kept != tt.wantKeepFirst {
				t.Errorf("kept the first refresh token = %v, want %v", kept, tt.wantKeepFirst)
			}
			if second.AccessToken == first.AccessToken {
				t.Error("the access token was not replaced")
			}
			revoked := fl.as.Revoked()
			if got := len(revoked) == 1 && revoked[0].Get("token") == first.RefreshToken && revoked[0].Get("token_type_hint") == "refresh_token"; got != tt.wantRevoked {
				t.Errorf("revocations %v, want the first refresh token revoked = %v", revoked, tt.wantRevoked)
			}
			if !tt.wantRevoked && len(revoked) != 0 {
				t.Errorf("revocations %v, want none", revoked)
			}
			ix := fl.env.loadIndex(t)
			if len(ix.Accounts) != 1 {
				t.Fatal("the re-login made a second account")
			}
			a := ix.Accounts[0]
			if wantRefreshable := second.RefreshToken != ""; a.Refreshable != wantRefreshable {
				t.Errorf("index: refreshable = %v, want %v", a.Refreshable, wantRefreshable)
			}
			if got := strings.Join(a.Scopes, " "); got != tt.wantScopes {
				t.Errorf("index scopes = %q, want %q", got, tt.wantScopes)
			}
			stderr := fl.errOut.String()[before:]
			switch {
			case tt.wantWarning == "":
				if strings.Contains(stderr, "warning") {
					t.Errorf("warnings:\n%s", stderr)
				}
			case strings.Count(stderr, tt.wantWarning) != 1:
				t.Errorf("stderr lacks (once) %q:\n%s", tt.wantWarning, stderr)
			}
		})
	}
}

// TestLoginRunAccountNames checks the account a login is stored under.
func TestLoginRunAccountNames(t *testing.T) {
	t.Parallel()
	t.Run("--account", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		if code := fl.run(t.Context(), "fake", "--account", "work"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		if !strings.Contains(fl.errOut.String(), "Logged in to fake as alice@example.com (account \"work\").\n") {
			t.Errorf("stderr:\n%s", fl.errOut)
		}
		if a := fl.env.loadIndex(t).Find("fake", "work"); a == nil || a.Identity != fakeas.Email {
			t.Errorf("account work: %+v", a)
		}
	})
	t.Run("same subject under another name", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		if code := fl.run(t.Context(), "fake", "--account", "work"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		<-fl.urls
		// The email changed at the provider; the subject did not.
		fl.as.Set(func(s *fakeas.Server) { s.Claims = func(c map[string]any) { c["email"] = "alice@new.example" } })
		if code := fl.run(t.Context(), "fake"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		ix := fl.env.loadIndex(t)
		if len(ix.Accounts) != 1 || ix.Accounts[0].Account != "work" || ix.Accounts[0].Identity != "alice@new.example" {
			t.Errorf("accounts %+v, want work updated", ix.Accounts)
		}
	})
	t.Run("no email: preferred_username, then sub", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, func(as *fakeas.Server) string {
			return strings.Replace(as.ProviderYAML("fake", "client-1", "openid"), "    userinfo_url: "+as.URL+"/userinfo\n", "", 1)
		})
		fl.as.Claims = func(c map[string]any) { delete(c, "email"); c["preferred_username"] = "al:ice#1" }
		if code := fl.run(t.Context(), "fake"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		if a := fl.env.loadIndex(t).Find("fake", "al_ice_1"); a == nil || a.Identity != "al:ice#1" {
			t.Errorf("accounts %+v", fl.env.loadIndex(t).Accounts)
		}
	})
	t.Run("add-scopes as another identity stores nothing", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		if code := fl.run(t.Context(), "fake"); code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		<-fl.urls
		before, _ := fl.store.Load(t.Context(), keyring.Key{Provider: "fake", Account: fakeas.Email})
		fl.as.Set(func(s *fakeas.Server) {
			s.Claims = func(c map[string]any) { c["sub"] = "user-2"; c["email"] = "bob@example.com" }
		})
		code := fl.run(t.Context(), "fake", "--add-scopes", "profile")
		if code != ExitLogin || !strings.Contains(fl.errOut.String(), `--add-scopes: signed in as bob@example.com, but account "alice@example.com" is alice@example.com; nothing was stored`) {
			t.Errorf("exit %d:\n%s", code, fl.errOut)
		}
		after, _ := fl.store.Load(t.Context(), keyring.Key{Provider: "fake", Account: fakeas.Email})
		if after.AccessToken != before.AccessToken {
			t.Error("the account was overwritten")
		}
	})
}

// TestLoginRunNonOIDC is a GitHub-style provider: no issuer, no ID token,
// a token without expiry or refresh token, and the account named after the
// user API's login, keyed by its numeric id.
func TestLoginRunNonOIDC(t *testing.T) {
	t.Parallel()
	fl := newFakeLogin(t, func(as *fakeas.Server) string {
		return fmt.Sprintf("providers:\n  fake:\n    auth_url: %s/authorize\n    token_url: %s/token\n    userinfo_url: %s/userinfo\n    client_id: client-1\n    scopes: [read:user]\n",
			as.URL, as.URL, as.URL)
	})
	fl.as.UserinfoClaims = map[string]any{"login": "octocat", "id": 583231, "email": nil}
	fl.as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
		w.Header().Set("Content-Type", "application/x-www-form-urlencoded")
		io.WriteString(w, "access_token=gho_fake&token_type=bearer&scope=read%3Auser")
		return true
	}
	if code := fl.run(t.Context(), "fake"); code != 0 {
		t.Fatalf("exit %d:\n%s", code, fl.errOut)
	}
	q, _ := url.Parse(<-fl.urls)
	if q.Query().Has("nonce") || q.Query().Has("prompt") || q.Query().Get("code_challenge_method") != "S256" {
		t.Errorf("authorization request %v", q.Query())
	}
	want := "Logged in to fake as octocat.\nGranted scopes: read:user\n" +
		"note: fake issued an access token without an expiry date and no refresh token; it works until revoked\n"
	if !strings.HasSuffix(fl.errOut.String(), want) {
		t.Errorf("stderr does not end with %q:\n%s", want, fl.errOut)
	}
	a := fl.env.loadIndex(t).Find("fake", "octocat")
	if a == nil || a.Subject != "583231" || a.Identity != "octocat" || a.Refreshable || a.Issuer != "" {
		t.Errorf("account %+v", a)
	}
}

// TestLoginRunInterrupted covers row 16: Ctrl-C while waiting for the
// browser or during the code exchange ends with 130, closes the listener
// and stores nothing.
func TestLoginRunInterrupted(t *testing.T) {
	t.Parallel()
	for _, when := range []string{"waiting", "exchanging"} {
		t.Run(when, func(t *testing.T) {
			t.Parallel()
			fl := newFakeLogin(t, nil)
			ctx, cancel := context.WithCancel(t.Context())
			defer cancel()
			if when == "waiting" {
				fl.f.Browser = func(_ context.Context, u string) error { fl.urls <- u; cancel(); return nil }
			} else {
				fl.as.Token = func(w http.ResponseWriter, r *http.Request, g fakeas.Grant) bool {
					cancel()
					<-r.Context().Done()
					return true
				}
			}
			code := fl.run(ctx, "fake")
			if code != ExitInterrupted || !strings.HasSuffix(fl.errOut.String(), "oauthctl: interrupted\n") {
				t.Errorf("exit %d, stderr:\n%s", code, fl.errOut)
			}
			if fl.store.Saves != 0 || len(fl.env.loadIndex(t).Accounts) != 0 {
				t.Errorf("%d saves after an interrupt", fl.store.Saves)
			}
			q, _ := url.Parse(<-fl.urls)
			redirect, _ := url.Parse(q.Query().Get("redirect_uri"))
			if c, err := net.Dial("tcp", redirect.Host); err == nil {
				c.Close()
				t.Errorf("the listener %s is still open", redirect.Host)
			}
		})
	}
}

// TestLoginRunPaste checks --no-browser: the URL is printed (the browser is
// not opened), refused lines are reported and reading goes on, the first
// valid pasted address wins, and the listener serves meanwhile.
func TestLoginRunPaste(t *testing.T) {
	t.Parallel()
	t.Run("pasted", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		fl.f.IO.In = stdinR
		fl.f.Browser = noBrowser(t)
		done := make(chan int, 1)
		go func() { done <- fl.run(t.Context(), "fake", "--no-browser") }()
		authURL := fl.errOut.waitFor(t, regexp.MustCompile(`\n  (http://\S+)\n`))[1]
		loc, err := fl.as.Follow(authURL)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintln(stdinW, "hello")
		fl.errOut.waitFor(t, regexp.MustCompile(`refused the pasted address: not this sign-in's redirect address`))
		fmt.Fprintln(stdinW, loc+"&code=again")
		fl.errOut.waitFor(t, regexp.MustCompile(`refused the pasted address: malformed redirect: duplicate parameter "code"`))
		fmt.Fprintln(stdinW, loc)
		if code := <-done; code != 0 {
			t.Fatalf("exit %d:\n%s", code, fl.errOut)
		}
		if !strings.Contains(fl.errOut.String(), "To sign in to fake, open this address in a browser on any machine:\n\n  "+authURL+"\n\n") {
			t.Errorf("stderr:\n%s", fl.errOut)
		}
		if len(fl.as.TokenRequests()) != 1 || fl.store.Saves != 1 {
			t.Errorf("%d exchanges, %d saves", len(fl.as.TokenRequests()), fl.store.Saves)
		}
	})
	t.Run("listener wins while stdin is open", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		stdinR, stdinW := io.Pipe()
		defer stdinW.Close()
		fl.f.IO.In = stdinR
		done := make(chan int, 1)
		go func() { done <- fl.run(t.Context(), "fake", "--no-browser") }()
		authURL := fl.errOut.waitFor(t, regexp.MustCompile(`\n  (http://\S+)\n`))[1]
		resp, err := fl.as.Visit(authURL) // e.g. through an SSH port forward
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code := <-done; code != 0 || resp.StatusCode != 200 {
			t.Fatalf("exit %d, page %d:\n%s", code, resp.StatusCode, fl.errOut)
		}
		if strings.Contains(fl.errOut.String(), "stdin closed") {
			t.Errorf("stdin never closed, but stderr says so:\n%s", fl.errOut)
		}
	})
	// stdin at EOF (</dev/null, a closed pipe): say once that the listener
	// is still waiting, then let the redirect through the listener finish
	// the login.
	t.Run("stdin closed", func(t *testing.T) {
		t.Parallel()
		fl := newFakeLogin(t, nil)
		stdinR, stdinW := io.Pipe()
		fl.f.IO.In = stdinR
		fl.f.Browser = noBrowser(t)
		done := make(chan int, 1)
		go func() { done <- fl.run(t.Context(), "fake", "--no-browser") }()
		authURL := fl.errOut.waitFor(t, regexp.MustCompile(`\n  (http://\S+)\n`))[1]
		u, err := url.Parse(authURL)
		if err != nil {
			t.Fatal(err)
		}
		redirect := u.Query().Get("redirect_uri")
		if !regexp.MustCompile(`^http://127\.0\.0\.1:\d+/callback$`).MatchString(redirect) {
			t.Fatalf("redirect_uri = %q", redirect)
		}
		stdinW.Close()
		want := "stdin closed; still waiting for the browser redirect on " + redirect + " (Ctrl-C to cancel)\n"
		fl.errOut.waitFor(t, regexp.MustCompile(regexp.QuoteMeta(want)))
		resp, err := fl.as.Visit(authURL)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if code := <-done; code != 0 || resp.StatusCode != 200 {
			t.Fatalf("exit %d, page %d:\n%s", code, resp.StatusCode, fl.errOut)
		}
		if n := strings.Count(fl.errOut.String(), "stdin closed"); n != 1 {
			t.Errorf("the stdin notice appears %d times, want once:\n%s", n, fl.errOut)
		}
		if fl.store.Saves != 1 {
			t.Errorf("%d saves, want 1", fl.store.Saves)
		}
	})
}

// TestFactoryWiresEveryDependency: Factory.Session is the one builder of
// session.Service in cmd, and it sets every dependency the Service has;
// the commands that run use cases get their Service from it, and every
// front-end that signs in (login, git-credential --login, kube-credential
// --login) gets its dependencies from Factory.loginOptions. A hand-copied
// set once left out State, so a login from git with OAUTHCTL_STORE=vault
// wrote the account index to a local file while the tokens went to Vault,
// and the next step could not find the account; hand-built Services in
// logout, switch, whoami and status each held a different subset.
func TestFactoryWiresEveryDependency(t *testing.T) {
	ios, _, _, _ := iostreams.Test()
	f := NewFactory(t.Context(), ios, nil, "test")
	checkServiceWired(t, "Factory.Session()", f.Session())

	opts := f.loginOptions()
	ov, ft := reflect.ValueOf(opts).Elem(), reflect.TypeOf(*f)
	for i := range ov.NumField() {
		name := ov.Type().Field(i).Name
		if _, onFactory := ft.FieldByName(name); !onFactory {
			continue
		}
		if v := ov.Field(i); v.IsZero() {
			t.Errorf("LoginOptions.%s is not wired from the Factory", name)
		}
	}
	checkServiceWired(t, "loginOptions().Session", opts.Session)
	if opts.Timeout != DefaultLoginTimeout {
		t.Errorf("Timeout %v, want %v", opts.Timeout, DefaultLoginTimeout)
	}

	// The Service each command would run with.
	var got *session.Service
	for _, tt := range []struct {
		name string
		cmd  *cobra.Command
		args []string
	}{
		{"login", NewCmdLogin(f, func(o *LoginOptions) error { got = o.Session; return nil }), []string{"google"}},
		{"logout", NewCmdLogout(f, func(o *LogoutOptions) error { got = o.Session; return nil }), []string{"google"}},
		{"switch", NewCmdSwitch(f, func(o *SwitchOptions) error { got = o.Session; return nil }), []string{"google", "me"}},
		{"status", NewCmdStatus(f, func(o *StatusOptions) error { got = o.Session; return nil }), nil},
		{"whoami", NewCmdWhoami(f, func(o *WhoamiOptions) error { got = o.Session; return nil }), nil},
	} {
		got = nil
		tt.cmd.SetArgs(tt.args)
		tt.cmd.SetOut(io.Discard)
		tt.cmd.SetErr(io.Discard)
		if err := tt.cmd.ExecuteContext(t.Context()); err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		checkServiceWired(t, tt.name+"'s Session", got)
	}
}

// checkServiceWired fails t for every dependency of svc that is not set.
func checkServiceWired(t *testing.T, what string, svc *session.Service) {
	t.Helper()
	if svc == nil {
		t.Errorf("%s is nil", what)
		return
	}
	v := reflect.ValueOf(svc).Elem()
	for i := range v.NumField() {
		if v.Field(i).IsZero() {
			t.Errorf("%s: %s is not wired from the Factory", what, v.Type().Field(i).Name)
		}
	}
}
