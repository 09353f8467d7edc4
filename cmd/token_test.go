package cmd

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// tkEnv is a private world for token tests: state and lock directories, a
// providers.yaml, an environment, a movable clock, a store, and counters
// that show whether the slow parts (catalogue, HTTP client) were touched.
type tkEnv struct {
	t      *testing.T
	dir    string
	paths  keyring.Paths
	store  keyring.Store
	mem    *keyring.Memory // store, when it is the in-memory one
	retry  auth.RetryPolicy
	vars   map[string]string
	varsMu sync.Mutex

	clockMu sync.Mutex
	now     time.Time

	catalogueLoads atomic.Int32
	httpClients    atomic.Int32
}

// newTkEnv makes an environment with an in-memory store and the clock at
// the real time.
func newTkEnv(t *testing.T, providersYAML string) *tkEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(cfg, []byte(providersYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	run := filepath.Join(dir, "run")
	if err := os.MkdirAll(run, 0o700); err != nil {
		t.Fatal(err)
	}
	e := &tkEnv{t: t, dir: dir, now: time.Now().UTC().Truncate(time.Second), mem: keyring.NewMemory(),
		retry: auth.RetryPolicy{Backoff: 10 * time.Millisecond, MaxWait: time.Second, Budget: 10 * time.Second},
		vars: map[string]string{
			"OAUTHCTL_CONFIG":    cfg,
			"OAUTHCTL_STATE_DIR": filepath.Join(dir, "state"),
			"OAUTHCTL_LOCK_DIR":  run,
			"HOME":               dir,
		}}
	e.store = e.mem
	paths, err := keyring.DefaultPaths(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	e.paths = paths
	// The kernel keys of this state directory go with the test (whatever
	// OAUTHCTL_KERNEL_CACHE the test set).
	t.Cleanup(keyring.NewKernelCache(paths.Index, "keychain", func(string) string { return "" }, time.Now).Clear)
	return e
}

func (e *tkEnv) getenv(k string) string {
	e.varsMu.Lock()
	defer e.varsMu.Unlock()
	return e.vars[k]
}

func (e *tkEnv) setenv(k, v string) {
	e.varsMu.Lock()
	defer e.varsMu.Unlock()
	e.vars[k] = v
}

// environ is the environment for a subprocess: the test process's own
// (which carries the private keyring's bus) plus the test variables.
func (e *tkEnv) environ() []string {
	e.varsMu.Lock()
	defer e.varsMu.Unlock()
	env := os.Environ()
	for k, v := range e.vars {
		env = append(env, k+"="+v)
	}
	return env
}

func (e *tkEnv) clock() time.Time {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	return e.now
}

// advance moves the injected clock.
func (e *tkEnv) advance(d time.Duration) {
	e.clockMu.Lock()
	defer e.clockMu.Unlock()
	e.now = e.now.Add(d)
}

// factory builds a Factory over the environment with fresh output buffers.
func (e *tkEnv) factory() (*Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, _, out, errOut := iostreams.Test()
	f := &Factory{
		IO: ios, Getenv: e.getenv, Now: e.clock, Version: "test",
		HTTPClient: func() *http.Client {
			e.httpClients.Add(1)
			return NewHTTPClient()
		},
		Store:       func() (keyring.Store, error) { return e.store, nil },
		Paths:       func() (keyring.Paths, error) { return e.paths, nil },
		KernelCache: e.kernelCache,
		Catalogue: func() (*auth.Catalogue, error) {
			e.catalogueLoads.Add(1)
			user, err := readUserConfig(e.getenv)
			if err != nil {
				return nil, err
			}
			return auth.LoadCatalogue(auth.ConfigSource{Path: "builtin"}, user, e.getenv)
		},
	}
	return f, out, errOut
}

// kernelCache is the real kernel keyring cache of the environment's state
// directory (its descriptions are unique to the test), with the injected
// clock and environment: OAUTHCTL_KERNEL_CACHE=0 in vars turns it off.
func (e *tkEnv) kernelCache() *keyring.KernelCache {
	return keyring.NewKernelCache(e.paths.Index, "keychain", e.getenv, e.clock)
}

// cachedNow reports whether the kernel cache answers `token` with the
// account index as it is now (for the request PROVIDER without --account).
func (e *tkEnv) cachedNow(provider string) (*keyring.CachedToken, bool) {
	e.t.Helper()
	index, err := keyring.ReadIndexFile(e.paths.Index)
	if err != nil {
		e.t.Fatal(err)
	}
	return e.cachedWith(provider, index)
}

// cachedWith is cachedNow with the index bytes given.
func (e *tkEnv) cachedWith(provider string, index []byte) (*keyring.CachedToken, bool) {
	return keyring.NewKernelCache(e.paths.Index, "keychain", func(string) string { return "" }, e.clock).
		Get(keyring.CacheRequest{Provider: provider}, index)
}

func (e *tkEnv) indexBytes() []byte {
	e.t.Helper()
	index, err := keyring.ReadIndexFile(e.paths.Index)
	if err != nil {
		e.t.Fatal(err)
	}
	return index
}

// tkResult is what one command run produced.
type tkResult struct {
	code        int
	out, errOut string
}

// run runs `oauthctl args...` through Run with the test's lock wait and
// retry policy.
func (e *tkEnv) run(args ...string) tkResult {
	return e.runWith(nil, args...)
}

// runWith runs args with the options adjusted by adjust before tokenRun.
func (e *tkEnv) runWith(adjust func(*TokenOptions), args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	root := NewCmdRoot(f)
	tok := NewCmdToken(f, func(o *TokenOptions) error {
		o.Retry = e.retry
		if o.LockWait == 0 {
			o.LockWait = 10 * time.Second
		}
		if adjust != nil {
			adjust(o)
		}
		return tokenRun(e.t.Context(), o)
	})
	replaceCommand(root, tok)
	root.SetArgs(args)
	err := root.ExecuteContext(e.t.Context())
	if err != nil {
		errOut.WriteString(errorText(err2usage(err)))
	}
	return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
}

// seed stores an account and its record as a login would.
func (e *tkEnv) seed(acct keyring.Account, rec *keyring.Record) {
	e.t.Helper()
	if err := e.store.Save(e.t.Context(), acct.Key(), rec); err != nil {
		e.t.Fatalf("seeding the store: %v", err)
	}
	if err := keyring.UpdateIndex(e.t.Context(), e.paths, func(ix *keyring.Index) error {
		ix.Put(acct)
		return nil
	}); err != nil {
		e.t.Fatalf("seeding the index: %v", err)
	}
}

func (e *tkEnv) load(key keyring.Key) *keyring.Record {
	e.t.Helper()
	rec, err := e.store.Load(e.t.Context(), key)
	if err != nil {
		e.t.Fatalf("loading %s: %v", key, err)
	}
	return rec
}

func (e *tkEnv) index() *keyring.Index {
	e.t.Helper()
	ix, err := keyring.LoadIndex(e.paths.Index)
	if err != nil {
		e.t.Fatal(err)
	}
	return ix
}

// fixedYAML is a providers.yaml with one provider "fake" whose token
// endpoint is tokenURL.
func fixedYAML(tokenURL string) string {
	return fmt.Sprintf("providers:\n  fake:\n    issuer: https://issuer.example\n    auth_url: https://issuer.example/auth\n    token_url: %s\n    client_id: fake-client\n    scopes: [openid]\n", tokenURL)
}

// fakeAccount is the stored account of provider "fake" bound to tokenURL.
func fakeAccount(tokenURL string) keyring.Account {
	return keyring.Account{Provider: "fake", Account: "me@example.com", Issuer: "https://issuer.example", TokenURL: tokenURL,
		ClientID: "fake-client", Scopes: []string{"openid"}, Refreshable: true, Grant: auth.GrantAuthorizationCode}
}

// tkTokenServer is a fake token endpoint that records the refresh tokens it
// is sent and answers with handler.
type tkTokenServer struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sent []string
}

func newTkTokenServer(t *testing.T, handler http.HandlerFunc) *tkTokenServer {
	ts := &tkTokenServer{}
	ts.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ts.mu.Lock()
		ts.sent = append(ts.sent, r.PostForm.Get("refresh_token"))
		ts.mu.Unlock()
		handler(w, r)
	}))
	t.Cleanup(ts.srv.Close)
	return ts
}

func (ts *tkTokenServer) refreshTokens() []string {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	return append([]string(nil), ts.sent...)
}

func tkJSON(status int, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}
}

// closedURL is a token endpoint on a port nothing listens on (offline).
func closedURL(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/token"
}

// tkLogin obtains tokens from op the way `oauthctl login` would (code flow
// with PKCE through the browser stand-in) and returns them with the
// account and record to seed.
func tkLogin(t *testing.T, op *testop.OP, provider, clientID, secret string) (keyring.Account, *keyring.Record) {
	t.Helper()
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	cfg := &oauth2.Config{ClientID: clientID, ClientSecret: secret, Endpoint: op.Endpoints().OAuth2(),
		RedirectURL: "http://127.0.0.1:1" + testop.RedirectPath, Scopes: []string{"openid", "email", "offline_access"}}
	cfg.Endpoint.AuthStyle = oauth2.AuthStyleInParams
	verifier := oauth2.GenerateVerifier()
	cb, err := testop.NewBrowser(op, testop.Username, testop.Password).FinalRedirect(ctx,
		cfg.AuthCodeURL("fake-state", oauth2.S256ChallengeOption(verifier), oauth2.SetAuthURLParam("nonce", "fake-nonce")))
	if err != nil {
		t.Fatalf("signing in: %v", err)
	}
	u, err := url.Parse(cb)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchanging the code: %v", err)
	}
	at, err := auth.FromOAuth2(tok, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if at.RefreshToken == "" || at.IDToken == "" {
		t.Fatalf("login returned no refresh token or ID token")
	}
	rec := &keyring.Record{AccessToken: at.AccessToken, RefreshToken: at.RefreshToken, IDToken: at.IDToken, TokenType: "Bearer",
		Expiry: at.Expiry, Scopes: at.Scopes}
	acct := keyring.Account{Provider: provider, Account: "test-user", Issuer: op.Issuer, TokenURL: op.Endpoints().Token, ClientID: clientID,
		Scopes: at.Scopes, Expiry: at.Expiry, Subject: testop.Subject, Refreshable: true, Grant: auth.GrantAuthorizationCode}
	return acct, rec
}

// testopTokenYAML is a providers.yaml entry for op with its endpoints
// spelled out (no discovery), client ID from the environment.
func testopTokenYAML(name string, op *testop.OP) string {
	ep := op.Endpoints()
	return fmt.Sprintf("providers:\n  %s:\n    issuer: %s\n    auth_url: %s\n    token_url: %s\n    revocation_url: %s\n    scopes: [openid, email, offline_access]\n",
		name, op.Issuer, ep.Authorization, ep.Token, ep.Revocation)
}

// refreshTokensSent lists the refresh tokens op received, in order.
func refreshTokensSent(op *testop.OP) []string {
	var out []string
	for _, r := range op.TokenRequests("refresh_token") {
		out = append(out, r.Form.Get("refresh_token"))
	}
	return out
}

func TestNewCmdToken(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     string
		want     TokenOptions
		wantCode int
	}{
		{name: "no arguments", args: "token", want: TokenOptions{MinTTL: time.Minute}},
		{name: "provider and account", args: "token google --account work@example.com",
			want: TokenOptions{Provider: "google", Account: "work@example.com", MinTTL: time.Minute}},
		{name: "short account flag", args: "token google -a me", want: TokenOptions{Provider: "google", Account: "me", MinTTL: time.Minute}},
		{name: "min-ttl and force", args: "token github --min-ttl 10m --force-refresh",
			want: TokenOptions{Provider: "github", MinTTL: 10 * time.Minute, MinTTLSet: true, Force: true}},
		{name: "header", args: "token google --header", want: TokenOptions{Provider: "google", MinTTL: time.Minute, Header: true}},
		{name: "json", args: "token google --json", want: TokenOptions{Provider: "google", MinTTL: time.Minute, JSON: true}},
		{name: "id-token", args: "token google --id-token", want: TokenOptions{Provider: "google", MinTTL: time.Minute, IDToken: true}},
		{name: "header and json exclude each other", args: "token google --header --json", wantCode: ExitUsage},
		{name: "json and id-token exclude each other", args: "token --json --id-token", wantCode: ExitUsage},
		{name: "two providers", args: "token google github", wantCode: ExitUsage},
		{name: "negative min-ttl", args: "token --min-ttl -1s", wantCode: ExitUsage},
		{name: "bad min-ttl", args: "token --min-ttl soon", wantCode: ExitUsage},
		{name: "unknown flag", args: "token --browser", wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, out, errOut := iostreams.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
			var got *TokenOptions
			root := NewCmdRoot(f)
			replaceCommand(root, NewCmdToken(f, func(o *TokenOptions) error { got = o; return nil }))
			root.SetArgs(strings.Fields(tt.args))
			err := root.ExecuteContext(t.Context())
			if code := ExitCode(err2usage(err)); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				if got != nil {
					t.Errorf("runF was called for a usage error")
				}
				return
			}
			if out.Len() != 0 || errOut.Len() != 0 {
				t.Errorf("output %q %q, want none", out, errOut)
			}
			got.IO, got.Factory = nil, nil
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// fakeIDToken is an unsigned JWT with the given exp, enough for
// idTokenExpiry.
func fakeIDToken(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none"}`)) + "." + enc(fmt.Appendf(nil, `{"sub":"id1","exp":%d}`, exp.Unix())) + ".fake-signature"
}

// TestTokenOutput covers the output formats and row 33: a token valid
// beyond the margin is printed after one keychain read, with no catalogue,
// no HTTP client and no lock.
func TestTokenOutput(t *testing.T) {
	t.Parallel()
	// Times in the table are durations from the test's clock; zero means
	// unknown.
	tests := []struct {
		name          string
		args          string
		rt            string
		idToken       bool
		expiry        time.Duration
		refreshExpiry time.Duration
		scopes        []string
		wantOut       string
		wantErr       string
		code          int
	}{
		{name: "plain", args: "token fake", expiry: time.Hour, wantOut: "fake-at\n"},
		{name: "no provider, the only account", args: "token", expiry: time.Hour, wantOut: "fake-at\n"},
		{name: "account flag", args: "token fake --account me@example.com", expiry: time.Hour, wantOut: "fake-at\n"},
		{name: "exactly min-ttl left", args: "token fake", expiry: time.Minute, wantOut: "fake-at\n"},
		{name: "header", args: "token fake --header", expiry: time.Hour, wantOut: "Authorization: Bearer fake-at\n"},
		{name: "json", args: "token fake --json", expiry: 90 * time.Minute, scopes: []string{"openid", "email"},
			wantOut: `{"access_token":"fake-at","token_type":"Bearer","expiry":"EXPIRY","expires_in":5400,"scopes":["openid","email"]}` + "\n"},
		{name: "json with unknown expiry and the index's scopes", args: "token fake --json",
			wantOut: `{"access_token":"fake-at","token_type":"Bearer","expiry":null,"expires_in":null,"scopes":["openid"]}` + "\n"},
		{name: "unknown expiry counts as fresh", args: "token fake", rt: "fake-rt", wantOut: "fake-at\n"},
		{name: "id-token", args: "token fake --id-token", expiry: time.Hour, idToken: true, wantOut: "IDTOKEN\n"},
		{name: "id-token valid while the access token is not", args: "token fake --id-token", rt: "fake-rt", expiry: -time.Hour, idToken: true, wantOut: "IDTOKEN\n"},
		{name: "id-token missing", args: "token fake --id-token", expiry: time.Hour, code: ExitSignIn,
			wantErr: "oauthctl: sign-in required: no ID token is stored for fake:me@example.com (the provider is not OpenID Connect, or the login did not ask for the openid scope)\nrun: oauthctl login fake\n"},
		{name: "refresh token running out warns", args: "token fake", rt: "fake-rt", expiry: time.Hour, refreshExpiry: 48 * time.Hour,
			wantOut: "fake-at\n", wantErr: "warning: the refresh token of fake:me@example.com expires in 2d; run: oauthctl login fake\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, fixedYAML("https://token.example/token"))
			rel := func(d time.Duration) time.Time {
				if d == 0 {
					return time.Time{}
				}
				return e.clock().Add(d)
			}
			rec := &keyring.Record{AccessToken: "fake-at", RefreshToken: tt.rt, Expiry: rel(tt.expiry), RefreshExpiry: rel(tt.refreshExpiry), Scopes: tt.scopes}
			if tt.idToken {
				rec.IDToken = fakeIDToken(e.clock().Add(time.Hour))
			}
			e.seed(fakeAccount("https://token.example/token"), rec)
			e.mem.Loads = 0
			got := e.run(strings.Fields(tt.args)...)
			wantOut := strings.NewReplacer("EXPIRY", rec.Expiry.Format(time.RFC3339), "IDTOKEN", rec.IDToken).Replace(tt.wantOut)
			if diff := cmp.Diff(tkResult{code: tt.code, out: wantOut, errOut: tt.wantErr}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if e.mem.Loads != 1 {
				t.Errorf("%d keychain reads, want 1", e.mem.Loads)
			}
			if n := e.catalogueLoads.Load() + e.httpClients.Load(); n != 0 {
				t.Errorf("the hot path loaded the catalogue or built an HTTP client (%d)", n)
			}
			if _, err := os.Stat(e.paths.AccountLockPath(keyring.Key{Provider: "fake", Account: "me@example.com"})); !os.IsNotExist(err) {
				t.Errorf("the hot path created the refresh lock file (%v)", err)
			}
		})
	}
}

// TestTokenNotStored covers row 32 and the account selection errors.
func TestTokenNotStored(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		seed    []keyring.Account
		args    string
		code    int
		wantErr string
	}{
		{name: "row 32: nothing stored", args: "token fake", code: ExitSignIn,
			wantErr: "oauthctl: no stored credentials: not logged in to fake\nrun: oauthctl login fake\n"},
		{name: "nothing stored, no provider", args: "token", code: ExitSignIn,
			wantErr: "oauthctl: no stored credentials: no account is logged in\nrun: oauthctl login PROVIDER (see: oauthctl providers)\n"},
		{name: "unknown provider", args: "token nope", code: ExitUsage,
			wantErr: "oauthctl: unknown provider \"nope\" (known: fake)\n"},
		{name: "unknown account", args: "token fake --account other", seed: []keyring.Account{fakeAccount("https://t.example/token")}, code: ExitSignIn,
			wantErr: "oauthctl: no stored credentials: no account \"other\" for fake\nrun: oauthctl login fake --account other\n"},
		{name: "two accounts, no provider", args: "token", code: ExitUsage,
			seed:    []keyring.Account{fakeAccount("https://t.example/token"), {Provider: "github", Account: "octo", TokenURL: "https://t.example/token"}},
			wantErr: "oauthctl: more than one stored account (fake: me@example.com; github: octo): name a provider, and add --account NAME for one that is not its default\n"},
		{name: "index entry without keychain item", args: "token fake", seed: []keyring.Account{fakeAccount("https://t.example/token")}, code: ExitSignIn,
			wantErr: "oauthctl: no stored tokens for account me@example.com of fake\nrun: oauthctl login fake --account me@example.com\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, fixedYAML("https://t.example/token"))
			if err := keyring.UpdateIndex(t.Context(), e.paths, func(ix *keyring.Index) error {
				for _, a := range tt.seed {
					ix.Put(a)
				}
				return nil
			}); err != nil {
				t.Fatal(err)
			}
			got := e.run(strings.Fields(tt.args)...)
			if diff := cmp.Diff(tkResult{code: tt.code, errOut: tt.wantErr}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if e.httpClients.Load() != 0 {
				t.Errorf("an HTTP client was built")
			}
		})
	}
}

// TestTokenCorrupt covers row 45 as `token` sees it: exit 4 with the login
// hint.
func TestTokenCorrupt(t *testing.T) {
	t.Parallel()
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at"})
	e.mem.FailLoad = fmt.Errorf("%w: fake:me@example.com: digest mismatch", keyring.ErrCorrupt)
	got := e.run("token", "fake")
	want := tkResult{code: ExitSignIn, errOut: "oauthctl: fake:me@example.com: stored credentials unreadable: fake:me@example.com: digest mismatch\nrun: oauthctl login fake\n"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
}

// TestTokenRotationEndToEnd runs refreshes against the certified OP: the
// access token expires (by the injected clock), `token` refreshes, the
// rotated refresh token is persisted, the index follows, and no refresh
// token is ever sent twice.
func TestTokenRotationEndToEnd(t *testing.T) {
	t.Parallel()
	op := testop.Start(t, testop.WithRevokeFamilyOnReuse())
	e := newTkEnv(t, testopTokenYAML("testop", op))
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	e.now = time.Now().UTC()
	e.seed(acct, rec)
	key := acct.Key()

	if got := e.run("token", "testop"); got.code != 0 || got.out != rec.AccessToken+"\n" {
		t.Fatalf("fresh token: %+v, want the stored access token", got)
	}
	sent := []string{}
	prev := rec
	for i := range 3 {
		e.advance(6 * time.Minute) // past the OP's 5 minute lifetime
		got := e.run("token", "testop")
		if got.code != 0 || got.errOut != "" {
			t.Fatalf("refresh %d: %+v", i+1, got)
		}
		cur := e.load(key)
		sent = append(sent, prev.RefreshToken)
		switch {
		case got.out != cur.AccessToken+"\n":
			t.Errorf("refresh %d printed %q, want the stored access token", i+1, got.out)
		case cur.AccessToken == prev.AccessToken:
			t.Errorf("refresh %d: access token unchanged", i+1)
		case cur.RefreshToken == prev.RefreshToken || cur.RefreshToken == "":
			t.Errorf("refresh %d: refresh token not rotated", i+1)
		case cur.IDToken == "":
			t.Errorf("refresh %d: ID token lost", i+1)
		}
		if want := e.clock().Add(5 * time.Minute); cur.Expiry.Before(want.Add(-5*time.Second)) || cur.Expiry.After(want.Add(5*time.Second)) {
			t.Errorf("refresh %d: expiry %v, want about %v", i+1, cur.Expiry, want)
		}
		a := e.index().Find("testop", "test-user")
		if a == nil || !a.Expiry.Equal(cur.Expiry) || a.LoginRequired || !a.Refreshable || a.Issuer != op.Issuer {
			t.Errorf("refresh %d: index entry %+v, want expiry %v", i+1, a, cur.Expiry)
		}
		// A second call right after is served from the keychain.
		if again := e.run("token", "testop"); again.out != got.out {
			t.Errorf("refresh %d: the next call printed %q, want the same token", i+1, again.out)
		}
		prev = cur
	}
	if diff := cmp.Diff(sent, refreshTokensSent(op)); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
	// The new access token is real: the OP's userinfo accepts it.
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, op.Endpoints().Userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+prev.AccessToken)
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("userinfo with the refreshed token: %s", resp.Status)
	}
	// --force-refresh refreshes a valid token, and --id-token prints the new
	// ID token.
	if got := e.run("token", "testop", "--force-refresh"); got.code != 0 || got.out == prev.AccessToken+"\n" {
		t.Errorf("--force-refresh: %+v, want a new token", got)
	}
	if got := e.run("token", "testop", "--id-token"); got.code != 0 || got.out != e.load(key).IDToken+"\n" {
		t.Errorf("--id-token: %+v", got)
	}
	if n := len(refreshTokensSent(op)); n != 4 {
		t.Errorf("%d refresh requests, want 4", n)
	}
}

// TestTokenRefreshRejected covers row 34: a revoked refresh token gives
// exit 4 with the hint, the index entry stays (marked), the dead refresh
// token is dropped and never sent again.
func TestTokenRefreshRejected(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	e := newTkEnv(t, testopTokenYAML("testop", op))
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	e.now = time.Now().UTC()
	e.seed(acct, rec)
	// Revoke the refresh token at the OP (as the user would on its site).
	resp, err := op.Client().PostForm(op.Endpoints().Revocation, url.Values{"token": {rec.RefreshToken},
		"token_type_hint": {"refresh_token"}, "client_id": {testop.NativeClientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("revocation: %s", resp.Status)
	}
	e.advance(6 * time.Minute)
	got := e.run("token", "testop")
	if got.code != ExitSignIn || got.out != "" || !strings.HasSuffix(got.errOut, "\nrun: oauthctl login testop\n") ||
		!strings.Contains(got.errOut, "rejected the refresh token (provider returned invalid_grant") {
		t.Errorf("token: %+v, want exit 4 with the login hint", got)
	}
	a := e.index().Find("testop", "test-user")
	if a == nil || !a.LoginRequired || a.Issuer != op.Issuer || a.Subject != testop.Subject || a.TokenURL != op.Endpoints().Token {
		t.Errorf("index entry %+v, want it kept with login_required", a)
	}
	if cur := e.load(acct.Key()); cur.RefreshToken != "" || cur.IDToken != rec.IDToken {
		t.Errorf("stored record: refresh token %q, ID token kept %v; want the refresh token dropped", cur.RefreshToken, cur.IDToken == rec.IDToken)
	}
	// Later, with the refresh token dropped, the message still says why.
	again := e.run("token", "testop")
	wantAgain := tkResult{code: ExitSignIn, errOut: "oauthctl: the provider rejected the refresh token of testop:test-user earlier; sign in again\nrun: oauthctl login testop\n"}
	if diff := cmp.Diff(wantAgain, again, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("second token (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
}

// TestTokenRotatedElsewhere covers row 35: the provider answers
// invalid_grant because another process (one that does not share the lock,
// e.g. under another OAUTHCTL_LOCK_DIR) rotated the token; the stored tokens
// are used.
func TestTokenRotatedElsewhere(t *testing.T) {
	t.Parallel()
	var e *tkEnv
	key := keyring.Key{Provider: "fake", Account: "me@example.com"}
	ts := newTkTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		other := &keyring.Record{AccessToken: "fake-at-other", RefreshToken: "fake-rt-other", TokenType: "Bearer", Expiry: e.clock().Add(time.Hour)}
		if err := e.store.Save(r.Context(), key, other); err != nil {
			t.Error(err)
		}
		tkJSON(400, `{"error":"invalid_grant"}`)(w, r)
	})
	e = newTkEnv(t, fixedYAML(ts.srv.URL))
	e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	got := e.run("token", "fake")
	if diff := cmp.Diff(tkResult{out: "fake-at-other\n"}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if a := e.index().Find("fake", "me@example.com"); a == nil || a.LoginRequired {
		t.Errorf("index entry %+v, want it not marked", a)
	}
	if cur := e.load(key); cur.RefreshToken != "fake-rt-other" {
		t.Errorf("stored refresh token %q, want the other process's", cur.RefreshToken)
	}
}

// TestTokenRefreshFaults covers rows 39, 40 and 41 and the other refresh
// outcomes against fake token endpoints.
func TestTokenRefreshFaults(t *testing.T) {
	t.Parallel()
	rotated := `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600,"refresh_token":"fake-rt-new"}`
	tests := []struct {
		name     string
		handler  http.HandlerFunc // nil: offline
		expiry   time.Duration    // of the stored access token, from now
		secret   string           // OAUTHCTL_FAKE_CLIENT_SECRET
		failSave bool
		args     []string
		want     tkResult
		wantErr  []string // substrings of stderr
		wantRT   string   // stored refresh token afterwards
		sends    int      // refresh requests
	}{
		{name: "rotation stored", handler: tkJSON(200, rotated), expiry: -time.Minute,
			want: tkResult{out: "fake-at-new\n"}, wantRT: "fake-rt-new", sends: 1},
		{name: "no new refresh token keeps the old one", handler: tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`),
			expiry: 30 * time.Second, want: tkResult{out: "fake-at-new\n"}, wantRT: "fake-rt-old", sends: 1},
		{name: "row 39: keychain write fails after rotation", handler: tkJSON(200, rotated), expiry: -time.Minute, failSave: true,
			want:    tkResult{code: ExitStorage},
			wantErr: []string{"oauthctl: storing the new tokens of fake:me@example.com: the keychain is unavailable: fake failure"}, wantRT: "fake-rt-old", sends: 1},
		{name: "row 40: invalid_client", handler: tkJSON(401, `{"error":"invalid_client","error_description":"bad secret"}`), expiry: -time.Minute,
			secret: "fake-wrong-secret", want: tkResult{code: ExitUsage},
			wantErr: []string{"rejected the client credentials", "OAUTHCTL_FAKE_CLIENT_SECRET", "\nset OAUTHCTL_FAKE_CLIENT_SECRET, or run: oauthctl client set fake\n"},
			wantRT:  "fake-rt-old", sends: 2}, // HTTP Basic, then the form (a user-defined provider's probe)
		{name: "row 41: offline, access token still valid", expiry: 30 * time.Second,
			want:    tkResult{out: "fake-at-old\n"},
			wantErr: []string{"warning: could not refresh the access token of fake:me@example.com (cannot reach the provider", "which expires in 30s\n"}, wantRT: "fake-rt-old"},
		{name: "offline, --force-refresh: exit 5, not the token the caller saw refused", expiry: 30 * time.Second, args: []string{"--force-refresh"},
			want: tkResult{code: ExitUnavailable}, wantErr: []string{"oauthctl: refreshing fake:me@example.com: cannot reach the provider"}, wantRT: "fake-rt-old"},
		{name: "row 41: offline, access token expired", expiry: -time.Second, want: tkResult{code: ExitUnavailable},
			wantErr: []string{"oauthctl: refreshing fake:me@example.com: cannot reach the provider"}, wantRT: "fake-rt-old"},
		{name: "503 three times, access token still valid", handler: tkJSON(503, `{"error":"temporarily_unavailable"}`), expiry: 50 * time.Second,
			want: tkResult{out: "fake-at-old\n"}, wantErr: []string{"warning: could not refresh", "temporarily_unavailable"}, wantRT: "fake-rt-old", sends: 3},
		{name: "500 three times, access token expired", handler: tkJSON(500, `<html>oops</html>`), expiry: -time.Second,
			want: tkResult{code: ExitUnavailable}, wantErr: []string{"HTTP 500"}, wantRT: "fake-rt-old", sends: 3},
		{name: "malformed answer, not retried", handler: tkJSON(200, `{"token_type":"Bearer"}`), expiry: -time.Second,
			want: tkResult{code: ExitUnavailable}, wantErr: []string{"access_token"}, wantRT: "fake-rt-old", sends: 1},
		{name: "force refresh of a valid token", handler: tkJSON(200, rotated), expiry: time.Hour, args: []string{"--force-refresh"},
			want: tkResult{out: "fake-at-new\n"}, wantRT: "fake-rt-new", sends: 1},
		{name: "min-ttl above the remaining lifetime refreshes", handler: tkJSON(200, rotated), expiry: 20 * time.Minute, args: []string{"--min-ttl", "30m"},
			want: tkResult{out: "fake-at-new\n"}, wantRT: "fake-rt-new", sends: 1},
		{name: "provider issues shorter tokens than min-ttl", handler: tkJSON(200, rotated), expiry: -time.Second, args: []string{"--min-ttl", "2h"},
			want: tkResult{out: "fake-at-new\n"}, wantErr: []string{"warning: the provider issued an access token valid for 1h, less than --min-ttl 2h"},
			wantRT: "fake-rt-new", sends: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tokenURL := closedURL(t)
			var ts *tkTokenServer
			if tt.handler != nil {
				ts = newTkTokenServer(t, tt.handler)
				tokenURL = ts.srv.URL
			}
			e := newTkEnv(t, fixedYAML(tokenURL))
			if tt.secret != "" {
				e.setenv("OAUTHCTL_FAKE_CLIENT_SECRET", tt.secret)
			}
			e.seed(fakeAccount(tokenURL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer",
				Expiry: e.clock().Add(tt.expiry)})
			e.mem.Saves = 0
			if tt.failSave {
				e.mem.FailSave = &keyring.UnavailableError{Op: "write", Msg: "fake failure"}
			}
			got := e.run(append([]string{"token", "fake"}, tt.args...)...)
			errOut := got.errOut
			got.errOut = ""
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s\nstderr: %s", diff, errOut)
			}
			for _, w := range tt.wantErr {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not contain %q", errOut, w)
				}
			}
			if len(tt.wantErr) == 0 && errOut != "" {
				t.Errorf("stderr %q, want none", errOut)
			}
			for _, secret := range []string{"fake-rt-old", "fake-rt-new", "fake-wrong-secret"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("stderr contains a secret: %q", errOut)
				}
			}
			e.mem.FailSave = nil
			if cur := e.load(keyring.Key{Provider: "fake", Account: "me@example.com"}); cur.RefreshToken != tt.wantRT {
				t.Errorf("stored refresh token %q, want %q", cur.RefreshToken, tt.wantRT)
			}
			if tt.failSave && e.mem.Saves != 2 {
				t.Errorf("%d keychain writes, want 2 (one retry)", e.mem.Saves)
			}
			if ts != nil {
				if n := len(ts.refreshTokens()); n != tt.sends {
					t.Errorf("%d refresh requests, want %d", n, tt.sends)
				}
			}
		})
	}
}

// TestTokenInvalidClientTestop is row 40 against the real OP: a confidential
// client with a wrong secret in the environment.
func TestTokenInvalidClientTestop(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	e := newTkEnv(t, testopTokenYAML("testop", op)+"    client_secret_required: true\n")
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.WebClientID)
	acct, rec := tkLogin(t, op, "testop", testop.WebClientID, testop.WebClientSecret)
	e.now = time.Now().UTC()
	e.seed(acct, rec)
	e.advance(6 * time.Minute)

	e.setenv("OAUTHCTL_TESTOP_CLIENT_SECRET", "fake-wrong-secret")
	got := e.run("token", "testop")
	if got.code != ExitUsage || got.out != "" || !strings.Contains(got.errOut, "OAUTHCTL_TESTOP_CLIENT_SECRET") || strings.Contains(got.errOut, "fake-wrong-secret") {
		t.Errorf("wrong secret: %+v, want exit 2 naming OAUTHCTL_TESTOP_CLIENT_SECRET", got)
	}
	if cur := e.load(acct.Key()); cur.RefreshToken != rec.RefreshToken {
		t.Errorf("the refresh token changed after invalid_client")
	}
	e.setenv("OAUTHCTL_TESTOP_CLIENT_SECRET", "")
	if got := e.run("token", "testop"); got.code != ExitUsage || !strings.Contains(got.errOut, "testop needs a client secret: set OAUTHCTL_TESTOP_CLIENT_SECRET") {
		t.Errorf("missing secret: %+v, want exit 2", got)
	}
	// The secret from the keychain (`oauthctl client set`) works.
	if err := e.store.SetClientSecret(t.Context(), "testop", testop.WebClientSecret); err != nil {
		t.Fatal(err)
	}
	if got := e.run("token", "testop"); got.code != 0 || got.out != e.load(acct.Key()).AccessToken+"\n" {
		t.Errorf("secret from the keychain: %+v", got)
	}
}

// TestTokenClockSkew covers row 42: with the local clock 10 minutes off in
// either direction, a refreshed token's expiry is receipt time + expires_in
// on the local clock, so the next call is served from the keychain instead
// of refreshing again.
func TestTokenClockSkew(t *testing.T) {
	t.Parallel()
	for _, skew := range []time.Duration{10 * time.Minute, -10 * time.Minute} {
		t.Run(skew.String(), func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			e := newTkEnv(t, testopTokenYAML("testop", op))
			e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
			acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
			e.now = time.Now().UTC().Add(skew)
			rec.Expiry = e.clock().Add(-time.Second)
			e.seed(acct, rec)
			if got := e.run("token", "testop"); got.code != 0 {
				t.Fatalf("token: %+v", got)
			}
			// The OP answers expires_in 299 or 300.
			if exp := e.load(acct.Key()).Expiry; !near(exp, e.clock().Add(5*time.Minute), 2*time.Second) {
				t.Errorf("expiry %v, want the skewed clock %v + 5m", exp, e.clock())
			}
			e.advance(3 * time.Minute)
			if got := e.run("token", "testop"); got.code != 0 {
				t.Fatalf("second token: %+v", got)
			}
			if n := len(refreshTokensSent(op)); n != 1 {
				t.Errorf("%d refresh requests, want 1", n)
			}
		})
	}
}

// TestTokenBinding covers row 49: credentials bound to another issuer,
// token endpoint or client ID are never sent.
func TestTokenBinding(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		yaml    func(stored, other string) string
		env     string // OAUTHCTL_FAKE_CLIENT_ID
		wantErr string
	}{
		{name: "token endpoint changed", yaml: func(stored, other string) string { return fixedYAML(other) },
			wantErr: "token endpoint STORED, now OTHER"},
		{name: "client ID changed", yaml: func(stored, other string) string { return fixedYAML(stored) }, env: "fake-other-client",
			wantErr: "client ID fake-client, now fake-other-client"},
		{name: "issuer changed", yaml: func(stored, other string) string {
			return strings.Replace(fixedYAML(stored), "issuer: https://issuer.example", "issuer: https://evil.example", 1)
		}, wantErr: `issuer "https://issuer.example", now "https://evil.example"`},
		{name: "discovered provider, issuer changed", yaml: func(stored, other string) string {
			return "providers:\n  fake:\n    issuer: https://evil.example\n    client_id: fake-client\n"
		}, wantErr: `issuer "https://issuer.example", now "https://evil.example"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			stored := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer"}`))
			other := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-evil","token_type":"Bearer"}`))
			e := newTkEnv(t, tt.yaml(stored.srv.URL, other.srv.URL))
			if tt.env != "" {
				e.setenv("OAUTHCTL_FAKE_CLIENT_ID", tt.env)
			}
			e.seed(fakeAccount(stored.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
			got := e.run("token", "fake")
			wantErr := strings.NewReplacer("STORED", stored.srv.URL, "OTHER", other.srv.URL).Replace(tt.wantErr)
			if got.code != ExitSignIn || got.out != "" || !strings.Contains(got.errOut, wantErr) ||
				!strings.Contains(got.errOut, "the refresh token was not sent") || !strings.HasSuffix(got.errOut, "\nrun: oauthctl login fake\n") {
				t.Errorf("token: %+v, want exit 4 explaining %q", got, wantErr)
			}
			if n := len(stored.refreshTokens()) + len(other.refreshTokens()); n != 0 {
				t.Errorf("%d refresh requests were sent", n)
			}
		})
	}
}

// TestTokenBindingDiscovered checks that a provider configured by issuer
// only refreshes at the token endpoint stored at login.
func TestTokenBindingDiscovered(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":600}`))
	e := newTkEnv(t, "providers:\n  fake:\n    issuer: https://issuer.example\n    client_id: fake-client\n")
	e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	if got := e.run("token", "fake"); got.code != 0 || got.out != "fake-at-new\n" {
		t.Errorf("token: %+v", got)
	}
	if diff := cmp.Diff([]string{"fake-rt-old"}, ts.refreshTokens()); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
}

// TestTokenLoginRequired checks the account marked after a rejected refresh
// token, whether the dead refresh token is still stored or was dropped (as
// refreshFailed does): a still-valid access token is served with a warning,
// one below --min-ttl too, an expired one is exit 4 saying that the
// provider rejected the refresh token (not "no refresh token is stored"),
// with --account in the hint when the provider has several accounts; the
// provider is not contacted.
func TestTokenLoginRequired(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		name    string
		rt      string // the stored refresh token
		other   bool   // the provider has a second account
		hintArg string
	}{
		{name: "refresh token kept", rt: "fake-rt-old", hintArg: "fake"},
		{name: "refresh token dropped", hintArg: "fake"},
		{name: "refresh token dropped, several accounts", other: true, hintArg: "fake --account me@example.com"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer"}`))
			e := newTkEnv(t, fixedYAML(ts.srv.URL))
			acct := fakeAccount(ts.srv.URL)
			acct.LoginRequired = true
			acct.Refreshable = false
			e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: tt.rt, Expiry: e.clock().Add(10 * time.Minute)})
			if tt.other {
				other := fakeAccount(ts.srv.URL)
				other.Account = "you@example.com"
				e.seed(other, &keyring.Record{AccessToken: "fake-at-you", RefreshToken: "fake-rt-you", Expiry: e.clock().Add(time.Hour)})
			}
			got := e.run("token", "fake", "--account", "me@example.com")
			want := tkResult{out: "fake-at-old\n", errOut: "warning: the provider rejected the refresh token of fake:me@example.com; this access token expires in 10m; run: oauthctl login fake\n"}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("valid token (-want +got):\n%s", diff)
			}
			e.advance(9*time.Minute + 30*time.Second)
			got = e.run("token", "fake", "--account", "me@example.com")
			want = tkResult{out: "fake-at-old\n", errOut: "warning: the provider rejected the refresh token of fake:me@example.com; this access token expires in 30s; run: oauthctl login " + tt.hintArg + "\n"}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("token below min-ttl (-want +got):\n%s", diff)
			}
			e.advance(time.Minute)
			got = e.run("token", "fake", "--account", "me@example.com")
			want = tkResult{code: ExitSignIn, errOut: "oauthctl: the provider rejected the refresh token of fake:me@example.com earlier; sign in again\nrun: oauthctl login " + tt.hintArg + "\n"}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("expired token (-want +got):\n%s", diff)
			}
			if n := len(ts.refreshTokens()); n != 0 {
				t.Errorf("%d refresh requests, want none", n)
			}
		})
	}
}

// TestTokenNoRefreshToken: an expired token without a refresh token is exit
// 4; one that expires soon is served with a warning.
func TestTokenNoRefreshToken(t *testing.T) {
	t.Parallel()
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: e.clock().Add(30 * time.Second)})
	got := e.run("token", "fake")
	want := tkResult{out: "fake-at\n", errOut: "warning: sign-in required: no refresh token is stored for fake:me@example.com; this access token expires in 30s; run: oauthctl login fake\n"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("soon expiring (-want +got):\n%s", diff)
	}
	e.advance(time.Minute)
	got = e.run("token", "fake")
	want = tkResult{code: ExitSignIn, errOut: "oauthctl: sign-in required: no refresh token is stored for fake:me@example.com\nrun: oauthctl login fake\n"}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("expired (-want +got):\n%s", diff)
	}
}

// TestTokenLockTimeout covers row 38: a lock holder that hangs makes
// `token` give up after the lock wait with exit 5, without contacting the
// provider.
func TestTokenLockTimeout(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer"}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	unlock, err := keyring.Lock(t.Context(), e.paths.AccountLockPath(acct.Key()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	start := time.Now()
	got := e.runWith(func(o *TokenOptions) { o.LockWait = time.Second }, "token", "fake")
	if got.code != ExitUnavailable || got.out != "" || !strings.HasPrefix(got.errOut, "oauthctl: timed out waiting for the refresh lock after 1s") {
		t.Errorf("token: %+v, want exit 5 timed out waiting for the refresh lock", got)
	}
	if d := time.Since(start); d < time.Second || d > 5*time.Second {
		t.Errorf("gave up after %v, want about 1s", d)
	}
	if n := len(ts.refreshTokens()); n != 0 {
		t.Errorf("%d refresh requests, want none", n)
	}
}

// TestTokenWaitsForConcurrentRefresh: a process that waited for the lock
// finds the token another one refreshed meanwhile and does not refresh.
func TestTokenWaitsForConcurrentRefresh(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer"}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	unlock, err := keyring.Lock(t.Context(), e.paths.AccountLockPath(acct.Key()), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	time.AfterFunc(300*time.Millisecond, func() {
		_ = e.store.Save(context.Background(), acct.Key(), &keyring.Record{AccessToken: "fake-at-other", RefreshToken: "fake-rt-other", Expiry: e.clock().Add(time.Hour)})
		unlock()
	})
	got := e.run("token", "fake")
	if diff := cmp.Diff(tkResult{out: "fake-at-other\n"}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if n := len(ts.refreshTokens()); n != 0 {
		t.Errorf("%d refresh requests, want none", n)
	}
}

// ccYAML is a client_credentials provider "svc" at op.
func ccYAML(op *testop.OP) string {
	return fmt.Sprintf("providers:\n  svc:\n    token_url: %s\n    revocation_url: %s\n    grant: client_credentials\n    client_id: %s\n",
		op.Endpoints().Token, op.Endpoints().Revocation, testop.ServiceClientID)
}

// TestTokenClientCredentials is issue 6's client credentials test against
// the certified OP: the first call mints, the second is served from the
// keychain, an expired one is minted again.
func TestTokenClientCredentials(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	e := newTkEnv(t, ccYAML(op))
	e.setenv("OAUTHCTL_SVC_CLIENT_SECRET", testop.ServiceClientSecret)
	key := keyring.Key{Provider: "svc", Account: ClientCredentialsAccount}

	first := e.run("token", "svc")
	if first.code != 0 || first.errOut != "" || first.out == "" {
		t.Fatalf("first token: %+v", first)
	}
	rec := e.load(key)
	if first.out != rec.AccessToken+"\n" || rec.RefreshToken != "" || !near(rec.Expiry, e.clock().Add(5*time.Minute), 2*time.Second) {
		t.Errorf("stored record: expiry %v, refresh token %q; printed %q", rec.Expiry, rec.RefreshToken, first.out)
	}
	a := e.index().Find("svc", ClientCredentialsAccount)
	if a == nil || a.Grant != auth.GrantClientCredentials || a.ClientID != testop.ServiceClientID || a.TokenURL != op.Endpoints().Token ||
		a.RevocationURL != op.Endpoints().Revocation || !a.Expiry.Equal(rec.Expiry) {
		t.Errorf("index entry %+v", a)
	}
	e.mem.Loads = 0
	loads := e.catalogueLoads.Load()
	second := e.run("token", "svc")
	if second != first || e.mem.Loads != 1 || e.catalogueLoads.Load() != loads {
		t.Errorf("second token: %+v (%d reads, %d catalogue loads), want the cached token from one read", second, e.mem.Loads, e.catalogueLoads.Load()-loads)
	}
	e.advance(5 * time.Minute)
	third := e.run("token", "svc", "--json")
	if third.code != 0 || strings.Contains(third.out, strings.TrimSpace(first.out)) {
		t.Errorf("expired token: %+v, want a new one", third)
	}
	if n := len(op.TokenRequests("client_credentials")); n != 2 {
		t.Errorf("%d client_credentials requests, want 2", n)
	}
	// Another client ID in the environment does not get the cached token.
	e.setenv("OAUTHCTL_SVC_CLIENT_ID", "fake-other-client")
	if got := e.run("token", "svc"); got.code != ExitUsage || !strings.Contains(got.errOut, "OAUTHCTL_SVC_CLIENT_SECRET") {
		t.Errorf("other client: %+v, want exit 2 (the OP rejects the unknown client)", got)
	}
}

// TestTokenClientCredentialsErrors: no secret, or a wrong one, is exit 2.
func TestTokenClientCredentialsErrors(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	tests := []struct {
		name, secret, wantErr string
	}{
		{"no secret", "", "oauthctl: configuration error: svc needs a client secret: set OAUTHCTL_SVC_CLIENT_SECRET\nor store it in the keychain: oauthctl client set svc\n"},
		{"wrong secret", "fake-wrong-secret", "OAUTHCTL_SVC_CLIENT_SECRET"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, ccYAML(op))
			e.setenv("OAUTHCTL_SVC_CLIENT_SECRET", tt.secret)
			got := e.run("token", "svc")
			if got.code != ExitUsage || got.out != "" || !strings.Contains(got.errOut, tt.wantErr) {
				t.Errorf("token: %+v, want exit 2 with %q", got, tt.wantErr)
			}
			if len(e.index().Accounts) != 0 {
				t.Errorf("index has accounts after a failed mint")
			}
		})
	}
}

// TestTokenJSONShape checks the --json keys scripts rely on.
func TestTokenJSONShape(t *testing.T) {
	t.Parallel()
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: e.clock().Add(time.Hour)})
	got := e.run("token", "fake", "--json")
	var m map[string]any
	if err := json.Unmarshal([]byte(got.out), &m); err != nil {
		t.Fatalf("--json output %q: %v", got.out, err)
	}
	want := map[string]any{"access_token": "fake-at", "token_type": "Bearer", "expiry": e.clock().Add(time.Hour).Format(time.RFC3339),
		"expires_in": float64(3600), "scopes": []any{"openid"}}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("--json (-want +got):\n%s", diff)
	}
}

// near reports whether a and b are at most d apart.
func near(a, b time.Time, d time.Duration) bool {
	return a.Sub(b) <= d && b.Sub(a) <= d
}

// replaceCommand swaps root's subcommand of the same name for c (the one
// NewCmdRoot registered without a runF).
func replaceCommand(root, c *cobra.Command) {
	for _, old := range root.Commands() {
		if old.Name() == c.Name() {
			root.RemoveCommand(old)
		}
	}
	root.AddCommand(c)
}

// TestTokenClientCredentialsDiscovered: a client_credentials entry with just
// an issuer discovers the token endpoint once; later mints reuse it.
func TestTokenClientCredentialsDiscovered(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	e := newTkEnv(t, fmt.Sprintf("providers:\n  svc:\n    issuer: %s\n    grant: client_credentials\n    client_id: %s\n", op.Issuer, testop.ServiceClientID))
	e.setenv("OAUTHCTL_SVC_CLIENT_SECRET", testop.ServiceClientSecret)
	first := e.run("token", "svc")
	if first.code != 0 || first.out == "" {
		t.Fatalf("first token: %+v", first)
	}
	if a := e.index().Find("svc", ClientCredentialsAccount); a == nil || a.TokenURL != op.Endpoints().Token || a.Issuer != op.Issuer {
		t.Errorf("index entry %+v, want the discovered token endpoint", a)
	}
	e.advance(10 * time.Minute)
	if again := e.run("token", "svc"); again.code != 0 || again.out == first.out {
		t.Errorf("expired token: %+v, want a new one", again)
	}
	discoveries := 0
	for _, r := range op.Requests() {
		if r.Path == "/.well-known/openid-configuration" {
			discoveries++
		}
	}
	if discoveries != 1 || len(op.TokenRequests("client_credentials")) != 2 {
		t.Errorf("%d discovery and %d client_credentials requests, want 1 and 2", discoveries, len(op.TokenRequests("client_credentials")))
	}
}

// TestTokenFastPathTree checks that Run's token-only command tree behaves
// like the full one: help, usage errors and the output of a run.
func TestTokenFastPathTree(t *testing.T) {
	t.Parallel()
	for _, args := range [][]string{
		{"token", "--help"},
		{"token", "fake", "--bogus"},
		{"token", "a", "b"},
		{"token", "--json", "--header"},
		{"token", "fake"},
		{"token", "fake", "--json"},
		{"token", "fake", "--header", "-a", "me@example.com", "--min-ttl", "5m"},
		{"token", "--account=nobody", "fake"},
		{"token", "fake", "--min-ttl", "2h"},
		{"token", "fake", "--min-ttl", "-1s"},
		{"token", "fake", "--account"},
		{"token", "nosuch"},
		{"token"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, fixedYAML("https://t.example/token"))
			e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: e.clock().Add(time.Hour)})
			// Through Run (the fast path) ...
			f, out, errOut := e.factory()
			code := Run(t.Context(), f, args)
			fast := tkResult{code: code, out: out.String(), errOut: errOut.String()}
			// ... and through the full tree.
			f, out, errOut = e.factory()
			root := NewCmdRoot(f)
			root.SetArgs(args)
			err := root.ExecuteContext(t.Context())
			if err != nil {
				errOut.WriteString(errorText(usageFromCobra(err, args)))
			}
			full := tkResult{code: ExitCode(usageFromCobra(err, args)), out: out.String(), errOut: errOut.String()}
			if diff := cmp.Diff(full, fast, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("fast path differs from the full tree (-full +fast):\n%s", diff)
			}
		})
	}
}
