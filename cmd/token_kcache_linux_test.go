package cmd

import (
	"context"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"

	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// requireKernelKeyring skips a test when the kernel refuses keyctl (a
// container's seccomp profile), unless CI=true.
func requireKernelKeyring(t *testing.T) {
	t.Helper()
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the kernel keyring is unavailable: %v", err)
		}
		t.Skipf("the kernel keyring is unavailable: %v", err)
	}
}

// countingStore counts the Loads of a store, race-free.
type countingStore struct {
	keyring.Store
	loads atomic.Int32
}

func (s *countingStore) Load(ctx context.Context, key keyring.Key) (*keyring.Record, error) {
	s.loads.Add(1)
	return s.Store.Load(ctx, key)
}

// TestTokenKernelCacheHit: the first `token` reads the keychain and fills
// the kernel cache; the next ones, through cobra or Run's plain-argument
// path, print the same token in every format without reading the keychain,
// with the warning the keychain path gives.
func TestTokenKernelCacheHit(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	cs := &countingStore{Store: e.store}
	e.store = cs
	acct := fakeAccount("https://t.example/token")
	e.seed(acct, &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", TokenType: "Bearer",
		Expiry: e.clock().Add(time.Hour), RefreshExpiry: e.clock().Add(50 * time.Hour), Scopes: []string{"openid", "email"}})
	const warn = "warning: the refresh token of fake:me@example.com expires in 2d2h; run: oauthctl login fake\n"

	// What the keychain path prints, with the cache off.
	e.setenv(keyring.KernelCacheEnv, "0")
	want := map[string]tkResult{}
	for _, format := range []string{"", "--json", "--header"} {
		want[format] = e.run(strings.Fields("token fake " + format)...)
		if want[format].code != 0 || want[format].errOut != warn {
			t.Fatalf("token %s with the cache off: %+v", format, want[format])
		}
	}
	if _, ok := e.cachedNow("fake"); ok {
		t.Fatal("OAUTHCTL_KERNEL_CACHE=0 filled the kernel cache")
	}
	e.setenv(keyring.KernelCacheEnv, "")

	if r := e.run("token", "fake"); r != want[""] {
		t.Fatalf("first token: %+v", r)
	}
	if c, ok := e.cachedNow("fake"); !ok || c.AccessToken != "fake-at" {
		t.Fatalf("after the first token the kernel cache holds %+v, %v", c, ok)
	}
	loads := cs.loads.Load()
	for _, format := range []string{"", "--json", "--header"} {
		if diff := cmp.Diff(want[format], e.run(strings.Fields("token fake "+format)...), cmp.AllowUnexported(tkResult{})); diff != "" {
			t.Errorf("token %s from the cache (-keychain path +cache):\n%s", format, diff)
		}
		f, out, errOut := e.factory()
		code := Run(t.Context(), f, strings.Fields("token fake "+format))
		if diff := cmp.Diff(want[format], tkResult{code: code, out: out.String(), errOut: errOut.String()}, cmp.AllowUnexported(tkResult{})); diff != "" {
			t.Errorf("Run token %s from the cache (-keychain path +cache):\n%s", format, diff)
		}
	}
	if n := cs.loads.Load() - loads; n != 0 {
		t.Errorf("%d keychain reads on cache hits, want 0", n)
	}

	// Below --min-ttl the cached copy is not enough: the keychain path runs
	// and tries to refresh (the token endpoint does not resolve).
	r := e.run("token", "fake", "--min-ttl", "2h")
	if cs.loads.Load() == loads || !strings.Contains(r.errOut, "could not refresh") {
		t.Errorf("token --min-ttl 2h with a 1h token: %+v, %d keychain reads; want the refresh path", r, cs.loads.Load()-loads)
	}
}

// TestTokenKernelCacheRefresh: a refresh (here --force-refresh) drops the
// cached copy before it stores the new token, so that even a reader of the
// old index can no longer get the old token, and the next `token` prints
// the new one.
func TestTokenKernelCacheRefresh(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":3600}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(time.Hour)})
	if r := e.run("token", "fake"); r.out != "fake-at-old\n" {
		t.Fatalf("first token: %+v", r)
	}
	old := e.indexBytes()
	if _, ok := e.cachedWith("fake", old); !ok {
		t.Fatal("the first token did not fill the kernel cache")
	}
	if r := e.run("token", "fake", "--force-refresh"); r.out != "fake-at-new\n" {
		t.Fatalf("token --force-refresh: %+v", r)
	}
	if c, ok := e.cachedWith("fake", old); ok {
		t.Errorf("after the refresh the kernel cache still answers readers of the old index with %q", c.AccessToken)
	}
	for range 2 {
		if r := e.run("token", "fake"); r.out != "fake-at-new\n" {
			t.Errorf("token after the refresh: %+v", r)
		}
	}
	if c, ok := e.cachedNow("fake"); !ok || c.AccessToken != "fake-at-new" {
		t.Errorf("the kernel cache holds %+v, %v; want the new token", c, ok)
	}
}

// TestTokenKernelCacheLogout: `logout` drops the cached copy, and `token`
// then says that nothing is stored.
func TestTokenKernelCacheLogout(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: e.clock().Add(time.Hour)})
	if r := e.run("token", "fake"); r.out != "fake-at\n" {
		t.Fatalf("token: %+v", r)
	}
	old := e.indexBytes()
	f, _, errOut := e.factory()
	if code := Run(t.Context(), f, []string{"logout", "fake"}); code != 0 {
		t.Fatalf("logout: exit %d: %s", code, errOut)
	}
	if c, ok := e.cachedWith("fake", old); ok {
		t.Errorf("after logout the kernel cache still holds %q", c.AccessToken)
	}
	if r := e.run("token", "fake"); r.code != ExitSignIn || r.out != "" {
		t.Errorf("token after logout: %+v, want exit 4 and nothing printed", r)
	}
}

// TestTokenKernelCacheClientSet: `client set` drops the provider's cached
// tokens: they were issued to the old client.
func TestTokenKernelCacheClientSet(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: e.clock().Add(time.Hour)})
	if r := e.run("token", "fake"); r.out != "fake-at\n" {
		t.Fatalf("token: %+v", r)
	}
	for _, args := range [][]string{{"client", "set", "fake"}, {"client", "unset", "fake"}} {
		if r := e.run("token", "fake"); r.out != "fake-at\n" {
			t.Fatalf("token: %+v", r)
		}
		if _, ok := e.cachedNow("fake"); !ok {
			t.Fatal("token did not fill the kernel cache")
		}
		f, _, errOut := e.factory()
		f.IO.In = strings.NewReader("fake-client-2\nfake-secret\n")
		if code := Run(t.Context(), f, args); code != 0 {
			t.Fatalf("%s: exit %d: %s", strings.Join(args, " "), code, errOut)
		}
		if c, ok := e.cachedNow("fake"); ok {
			t.Errorf("after %s the kernel cache still holds %q", strings.Join(args, " "), c.AccessToken)
		}
	}
}

// TestTokenKernelCacheLogin: a new login of the account drops the cached
// copy of the previous login's token, and `token` prints the new one.
func TestTokenKernelCacheLogin(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("relogin", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	store := keyring.NewMemory()
	paths, err := keyring.DefaultPaths(env.getenv)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keyring.NewKernelCache(paths.Index, "keychain", func(string) string { return "" }, time.Now).Clear)
	run := func(args ...string) (string, string) {
		t.Helper()
		v, open := newVisitor(t, op, testop.Username)
		f, out, errOut := loginFactory(env, store, open, nil)
		f.KernelCache = func() *keyring.KernelCache {
			return keyring.NewKernelCache(paths.Index, "keychain", env.getenv, time.Now)
		}
		if code := Run(t.Context(), f, args); code != 0 {
			t.Fatalf("%s: exit %d:\n%s", strings.Join(args, " "), code, errOut)
		}
		if args[0] == "login" {
			v.result(t)
		}
		return out.String(), errOut.String()
	}
	key := keyring.Key{Provider: "relogin", Account: "test-user@zitadel.ch"}
	run("login", "relogin")
	first, _ := run("token", "relogin")
	old, _ := keyring.ReadIndexFile(paths.Index)
	cache := keyring.NewKernelCache(paths.Index, "keychain", func(string) string { return "" }, time.Now)
	if c, ok := cache.Get(keyring.CacheRequest{Provider: "relogin"}, old); !ok || c.AccessToken+"\n" != first {
		t.Fatalf("token did not fill the kernel cache: %+v, %v", c, ok)
	}
	run("login", "relogin")
	if c, ok := cache.Get(keyring.CacheRequest{Provider: "relogin"}, old); ok {
		t.Errorf("after the new login the kernel cache still holds %q", c.AccessToken)
	}
	second, _ := run("token", "relogin")
	rec, err := store.Load(t.Context(), key)
	if err != nil {
		t.Fatal(err)
	}
	if second == first || second != rec.AccessToken+"\n" {
		t.Errorf("token after the new login printed the old token or not the stored one")
	}
}

// TestTokenKernelCacheSwitch: `switch` changes which account `token
// PROVIDER` means; the copy cached for the old default is not served.
func TestTokenKernelCacheSwitch(t *testing.T) {
	t.Parallel()
	requireKernelKeyring(t)
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	first := fakeAccount("https://t.example/token")
	second := first
	second.Account = "other@example.com"
	e.seed(first, &keyring.Record{AccessToken: "fake-at-first", Expiry: e.clock().Add(time.Hour)})
	e.seed(second, &keyring.Record{AccessToken: "fake-at-second", Expiry: e.clock().Add(time.Hour)})
	if r := e.run("token", "fake"); r.out != "fake-at-first\n" {
		t.Fatalf("token: %+v", r)
	}
	if _, ok := e.cachedNow("fake"); !ok {
		t.Fatal("token did not fill the kernel cache")
	}
	f, _, errOut := e.factory()
	if code := Run(t.Context(), f, []string{"switch", "fake", second.Account}); code != 0 {
		t.Fatalf("switch: exit %d: %s", code, errOut)
	}
	if r := e.run("token", "fake"); r.out != "fake-at-second\n" {
		t.Errorf("token after switch: %+v, want the new default's token", r)
	}
}
