package session

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// newCacheService is a Service with a real kernel cache over an index file
// of its own (descriptions unique to the test) and env as the environment.
func newCacheService(t *testing.T, env map[string]string) (*Service, []byte) {
	t.Helper()
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the kernel keyring is unavailable: %v", err)
		}
		t.Skipf("the kernel keyring is unavailable: %v", err)
	}
	dir := t.TempDir()
	paths := keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}
	index := []byte(`{"version":1,"defaults":{},"accounts":[]}`)
	if err := os.WriteFile(paths.Index, index, 0o600); err != nil {
		t.Fatal(err)
	}
	getenv := func(k string) string { return env[k] }
	cache := keyring.NewKernelCache(paths.Index, "keychain", getenv, time.Now)
	t.Cleanup(cache.Clear)
	return &Service{Getenv: getenv, Now: time.Now, Paths: func() (keyring.Paths, error) { return paths, nil },
		Cache: func() *keyring.KernelCache { return cache }}, index
}

// TestCacheFillAndServe covers what fill copies and what hot.FromCache then serves.
func TestCacheFillAndServe(t *testing.T) {
	t.Parallel()
	now := time.Now()
	acct := &keyring.Account{Provider: "p", Account: "a", Grant: auth.GrantAuthorizationCode, ClientID: "cid", Scopes: []string{"openid"}}
	rec := &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(72 * time.Hour)}
	cc := &keyring.Account{Provider: "m", Account: "client", Grant: auth.GrantClientCredentials, ClientID: "cid"}
	tests := []struct {
		name     string
		acct     *keyring.Account
		rec      *keyring.Record
		fill     AcquireOptions
		warnings []Warning
		env      map[string]string
		get      AcquireOptions
		want     bool
	}{
		{name: "served, with the warning", acct: acct, rec: rec, get: AcquireOptions{MinTTL: time.Minute}, want: true},
		{name: "below --min-ttl", acct: acct, rec: rec, get: AcquireOptions{MinTTL: 2 * time.Hour}},
		{name: "--id-token writes no copy", acct: acct, rec: rec, fill: AcquireOptions{IDToken: true}},
		{name: "--force-refresh writes no copy", acct: acct, rec: rec, fill: AcquireOptions{Force: true}},
		{name: "a served token with another warning is not copied", acct: acct, rec: rec,
			warnings: []Warning{{Kind: WarnNotRefreshed, Msg: "x"}}},
		{name: "an expiring refresh token's warning is repeated", acct: acct, rec: rec,
			warnings: []Warning{{Kind: WarnRefreshExpiring, Msg: "x"}}, want: true},
		// A 60 s token, 40 s left: without --min-ttl the margin is half
		// its lifetime (30 s), as in Acquire; --min-ttl 60s asks for more.
		{name: "short-lived token, adaptive margin", acct: acct, rec: &keyring.Record{AccessToken: "fake-at",
			IssuedAt: now.Add(-20 * time.Second), Expiry: now.Add(40 * time.Second)}, get: AcquireOptions{MinTTL: time.Minute}, want: true},
		{name: "short-lived token, explicit --min-ttl", acct: acct, rec: &keyring.Record{AccessToken: "fake-at",
			IssuedAt: now.Add(-20 * time.Second), Expiry: now.Add(40 * time.Second)}, get: AcquireOptions{MinTTL: time.Minute, MinTTLSet: true}},
		{name: "short-lived token, below half its lifetime", acct: acct, rec: &keyring.Record{AccessToken: "fake-at",
			IssuedAt: now.Add(-50 * time.Second), Expiry: now.Add(10 * time.Second)}, get: AcquireOptions{MinTTL: time.Minute}},
		{name: "refresh token rejected", acct: &keyring.Account{Provider: "p", Account: "a", LoginRequired: true}, rec: rec},
		{name: "client_credentials, same client", acct: cc, rec: &keyring.Record{AccessToken: "fake-at", Expiry: now.Add(time.Hour)},
			env: map[string]string{"OAUTHCTL_M_CLIENT_ID": "cid"}, want: true},
		{name: "client_credentials, the environment names another client", acct: cc,
			rec: &keyring.Record{AccessToken: "fake-at", Expiry: now.Add(time.Hour)}, env: map[string]string{"OAUTHCTL_M_CLIENT_ID": "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s, index := newCacheService(t, tt.env)
			s.fill(tt.acct.Provider, "", index, tt.acct, tt.rec, tt.fill, tt.warnings)
			got := hot.FromCache(s.cache(), index, tt.acct.Provider, "", tt.get.hot(), s.Now(), s.Getenv)
			if ok := got != nil; ok != tt.want {
				t.Fatalf("FromCache: hit %t, want %t", ok, tt.want)
			}
			if got == nil {
				return
			}
			if got.Record.AccessToken != "fake-at" || got.Record.RefreshToken != "" || got.Record.IDToken != "" ||
				got.Account.Key() != tt.acct.Key() {
				t.Errorf("FromCache = %+v %+v", got.Account, got.Record)
			}
			if tt.acct == acct && tt.rec == rec && (len(got.Warnings) != 1 || got.Warnings[0].Kind != WarnRefreshExpiring) {
				t.Errorf("warnings %+v, want the refresh token's expiry", got.Warnings)
			}
		})
	}
}
