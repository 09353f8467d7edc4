package cmd

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// loadCounter wraps a Store and counts Loads race-free (keyring.Memory's
// counter is not synchronized for readers), so that a test can wait until
// every concurrent `token` has done its hot-path read.
type loadCounter struct {
	keyring.Store
	loads atomic.Int32
}

func (s *loadCounter) Load(ctx context.Context, key keyring.Key) (*keyring.Record, error) {
	s.loads.Add(1)
	return s.Store.Load(ctx, key)
}

// runContended starts n `oauthctl args...` while the test holds the refresh
// lock of key, waits until each has read the store on its hot path (so all
// of them saw the stale record), runs between (nil: nothing), then releases
// the lock: all n contend for one refresh.
func runContended(t *testing.T, e *tkEnv, key keyring.Key, n int, between func(), args ...string) []tkResult {
	t.Helper()
	lc := &loadCounter{Store: e.store}
	e.store = lc
	unlock, err := keyring.Lock(t.Context(), e.paths.AccountLockPath(key), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	results := make([]tkResult, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { results[i] = e.run(args...) })
	}
	deadline := time.Now().Add(20 * time.Second)
	for lc.loads.Load() < int32(n) && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if got := lc.loads.Load(); got < int32(n) {
		t.Errorf("%d hot-path reads before the lock was released, want %d", got, n)
	}
	if between != nil {
		between()
	}
	unlock()
	wg.Wait()
	return results
}

// TestTokenConcurrentRefreshOnce covers docs/security.md §6 when the provider's
// tokens live shorter than --min-ttl, and under --force-refresh: of several
// `token` calls that read the same stale record before the lock, exactly one
// refreshes; the others use the token it stored (it has not expired, even
// though it is below --min-ttl) instead of refreshing again one after
// another. All print the same token and the same warning.
func TestTokenConcurrentRefreshOnce(t *testing.T) {
	t.Parallel()
	const n = 5
	tests := []struct {
		name      string
		storedTTL time.Duration // the seeded access token's expiry, from now
		expiresIn int           // the refresh answer's expires_in
		args      []string
		wantErr   string
	}{
		{
			name: "min-ttl above the provider's lifetime", storedTTL: -time.Minute, expiresIn: 90,
			args:    []string{"token", "fake", "--min-ttl", "10m"},
			wantErr: "warning: the provider issued an access token valid for 1m30s, less than --min-ttl 10m\n",
		},
		{
			// The default margin adapts: no warning without --min-ttl.
			name: "force-refresh, provider's lifetime below the default margin", storedTTL: time.Hour, expiresIn: 30,
			args: []string{"token", "fake", "--force-refresh"},
		},
		{
			name: "force-refresh, long-lived tokens", storedTTL: time.Hour, expiresIn: 3600,
			args: []string{"token", "fake", "--force-refresh"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTkTokenServer(t, tkJSON(200, fmt.Sprintf(
				`{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":%d}`, tt.expiresIn)))
			e := newTkEnv(t, fixedYAML(ts.srv.URL))
			acct := fakeAccount(ts.srv.URL)
			e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer",
				Expiry: e.clock().Add(tt.storedTTL)})
			got := runContended(t, e, acct.Key(), n, nil, tt.args...)
			// All print the new token; the warning comes once, from the
			// process that refreshed (issue 9 item 4).
			warned := 0
			for i, r := range got {
				if r.code != 0 || r.out != "fake-at-new\n" || r.errOut != "" && r.errOut != tt.wantErr {
					t.Errorf("process %d: %+v", i, r)
				}
				if r.errOut != "" {
					warned++
				}
			}
			if want := map[bool]int{true: 1, false: 0}[tt.wantErr != ""]; warned != want {
				t.Errorf("%d processes warned, want %d", warned, want)
			}
			if diff := cmp.Diff([]string{"fake-rt-old"}, ts.refreshTokens()); diff != "" {
				t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
			}
			if cur := e.load(acct.Key()); cur.AccessToken != "fake-at-new" || cur.RefreshToken != "fake-rt-new" {
				t.Errorf("stored record: access %q refresh %q, want the one refresh's tokens", cur.AccessToken, cur.RefreshToken)
			}
		})
	}
}

// TestTokenRefreshedMeanwhile is the sequential form: the record this
// process read before the lock (A) was replaced, while it waited, by another
// process's record B, which has not expired but is below --min-ttl (or was
// stored after a --force-refresh started). B is printed with the short-token
// warning, nothing is sent to the provider. A record that did not change, or
// whose replacement already expired, is still refreshed.
func TestTokenRefreshedMeanwhile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		a       time.Duration // A's expiry, from now
		b       *time.Duration
		args    []string
		wantOut string
		wantErr string
		refresh int
	}{
		// The process that refreshed warned; this one only uses B.
		{name: "B below min-ttl", a: -time.Minute, b: tkDurPtr(90 * time.Second), args: []string{"--min-ttl", "10m"},
			wantOut: "fake-at-b\n"},
		{name: "force-refresh, B below min-ttl", a: time.Hour, b: tkDurPtr(30 * time.Second), args: []string{"--force-refresh"},
			wantOut: "fake-at-b\n"},
		{name: "force-refresh, B fresh", a: time.Hour, b: tkDurPtr(time.Hour), args: []string{"--force-refresh"},
			wantOut: "fake-at-b\n"},
		{name: "B already expired: refresh", a: -time.Minute, b: tkDurPtr(-time.Second), args: []string{"--min-ttl", "10m"},
			wantOut: "fake-at-new\n", refresh: 1},
		{name: "unchanged, below min-ttl: refresh", a: 90 * time.Second, args: []string{"--min-ttl", "10m"},
			wantOut: "fake-at-new\n", refresh: 1},
		{name: "unchanged, forced: refresh", a: time.Hour, args: []string{"--force-refresh"},
			wantOut: "fake-at-new\n", refresh: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":3600}`))
			e := newTkEnv(t, fixedYAML(ts.srv.URL))
			acct := fakeAccount(ts.srv.URL)
			e.seed(acct, &keyring.Record{AccessToken: "fake-at-a", RefreshToken: "fake-rt-a", TokenType: "Bearer", Expiry: e.clock().Add(tt.a)})
			var between func()
			if tt.b != nil {
				between = func() {
					b := &keyring.Record{AccessToken: "fake-at-b", RefreshToken: "fake-rt-b", TokenType: "Bearer", Expiry: e.clock().Add(*tt.b)}
					if err := e.store.Save(t.Context(), acct.Key(), b); err != nil {
						t.Error(err)
					}
				}
			}
			got := runContended(t, e, acct.Key(), 1, between, append([]string{"token", "fake"}, tt.args...)...)
			if diff := cmp.Diff([]tkResult{{out: tt.wantOut, errOut: tt.wantErr}}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if n := len(ts.refreshTokens()); n != tt.refresh {
				t.Errorf("%d refresh requests, want %d", n, tt.refresh)
			}
		})
	}
}

func tkDurPtr(d time.Duration) *time.Duration { return &d }

// TestTokenRefreshedMeanwhileIDToken: in --id-token mode the rule looks at
// the ID token: another process's new ID token that has not expired is
// printed (with the ID-token warning) although it is below --min-ttl.
func TestTokenRefreshedMeanwhileIDToken(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	oldID := fakeBoundIDToken(e.clock().Add(-time.Minute))
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-a", RefreshToken: "fake-rt-a", IDToken: oldID, TokenType: "Bearer",
		Expiry: e.clock().Add(-time.Minute)})
	newID := fakeBoundIDToken(e.clock().Add(90 * time.Second))
	got := runContended(t, e, acct.Key(), 1, func() {
		b := &keyring.Record{AccessToken: "fake-at-b", RefreshToken: "fake-rt-b", IDToken: newID, TokenType: "Bearer", Expiry: e.clock().Add(time.Hour)}
		if err := e.store.Save(t.Context(), acct.Key(), b); err != nil {
			t.Error(err)
		}
	}, "token", "fake", "--id-token", "--min-ttl", "10m")
	// One warning per refresh: the process that refreshed gives it, not
	// this one, which uses its result.
	want := []tkResult{{out: newID + "\n"}}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if n := len(ts.refreshTokens()); n != 0 {
		t.Errorf("%d refresh requests, want none", n)
	}
}

// TestTokenClientCredentialsConcurrentMintOnce: the same rule for a
// client_credentials account whose tokens live shorter than --min-ttl,
// starting with nothing cached: one token request, all print its token.
func TestTokenClientCredentialsConcurrentMintOnce(t *testing.T) {
	t.Parallel()
	const n = 4
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-cc-at","token_type":"Bearer","expires_in":90}`))
	e := newTkEnv(t, fmt.Sprintf("providers:\n  svc:\n    token_url: %s\n    grant: client_credentials\n    client_id: fake-svc\n", ts.srv.URL))
	e.setenv("OAUTHCTL_SVC_CLIENT_SECRET", "fake-secret")
	key := keyring.Key{Provider: "svc", Account: ClientCredentialsAccount}
	got := runContended(t, e, key, n, nil, "token", "svc", "--min-ttl", "10m")
	want := make([]tkResult, n)
	for i := range want {
		want[i] = tkResult{out: "fake-cc-at\n", errOut: "warning: the provider issued an access token valid for 1m30s, less than --min-ttl 10m\n"}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if n := len(ts.refreshTokens()); n != 1 {
		t.Errorf("%d token requests, want 1", n)
	}
	if a := e.index().Find("svc", ClientCredentialsAccount); a == nil || a.Grant != auth.GrantClientCredentials {
		t.Errorf("index entry %+v, want the client_credentials account", a)
	}
}
