package session

import (
	"context"
	"errors"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// errBeyondStep1 is what the catalogue says in TestServeAgreesWithAcquire:
// Acquire needs it only after its first step, to refresh or mint.
var errBeyondStep1 = errors.New("the catalogue was loaded: Acquire went past its first step")

// failTransport fails the test on any HTTP request.
type failTransport struct{ t *testing.T }

func (f failTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	f.t.Errorf("unexpected HTTP request to %s", r.URL.Host)
	return nil, errors.New("no network in this test")
}

// TestServeAgreesWithAcquire checks hot.Serve, the rule the front binary
// answers `token` by, against Acquire itself on the same stored record: what
// hot.Serve serves, Acquire serves too, in its first step (no catalogue, no
// network), with the same warnings; what it declines, Acquire refreshes,
// refuses, or serves only with a warning the front does not give.
func TestServeAgreesWithAcquire(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	acct := keyring.Account{Provider: "acme", Account: "alice", Issuer: "https://idp.example", TokenURL: "https://idp.example/token", ClientID: "cid", Refreshable: true}
	bound := keyring.BindingOf(&acct)
	rec := func(left time.Duration, mod ...func(*keyring.Record)) keyring.Record {
		r := keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: now.Add(left), Binding: bound}
		for _, m := range mod {
			m(&r)
		}
		return r
	}
	issued := func(ago time.Duration) func(*keyring.Record) {
		return func(r *keyring.Record) { r.IssuedAt = now.Add(-ago) }
	}
	cc := acct
	cc.Grant, cc.Account = auth.GrantClientCredentials, ClientCredentialsAccount
	ccRec := rec(time.Hour, func(r *keyring.Record) { r.RefreshToken, r.Binding = "", keyring.BindingOf(&cc) })
	withAcct := func(a keyring.Account, mod func(*keyring.Account)) keyring.Account { mod(&a); return a }
	def := hot.Options{MinTTL: hot.DefaultMinTTL}
	tests := []struct {
		name     string
		acct     keyring.Account
		rec      keyring.Record
		o        hot.Options
		env      map[string]string
		serve    bool
		warnings int
	}{
		{name: "an hour left", acct: acct, rec: rec(time.Hour), o: def, serve: true},
		{name: "no expiry known", acct: acct, rec: rec(0, func(r *keyring.Record) { r.Expiry = time.Time{} }), o: def, serve: true},
		{name: "30 s left, lifetime unknown", acct: acct, rec: rec(30 * time.Second), o: def},
		{name: "60 s left is enough", acct: acct, rec: rec(time.Minute), o: def, serve: true},
		{name: "55 s of a 100 s token (margin 50 s)", acct: acct, rec: rec(55*time.Second, issued(45*time.Second)), o: def, serve: true},
		{name: "45 s of a 100 s token", acct: acct, rec: rec(45*time.Second, issued(55*time.Second)), o: def},
		{name: "--min-ttl 10m, 5m left", acct: acct, rec: rec(5 * time.Minute), o: hot.Options{MinTTL: 10 * time.Minute, MinTTLSet: true}},
		{name: "--min-ttl 10m, 11m left", acct: acct, rec: rec(11 * time.Minute), o: hot.Options{MinTTL: 10 * time.Minute, MinTTLSet: true}, serve: true},
		{name: "--min-ttl 30s on a 40 s token with 35 s left", acct: acct, rec: rec(35*time.Second, issued(5*time.Second)), o: hot.Options{MinTTL: 30 * time.Second, MinTTLSet: true}, serve: true},
		{name: "refresh token runs out in 2 days", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.RefreshExpiry = now.Add(48 * time.Hour) }), o: def, serve: true, warnings: 1},
		{name: "refresh token runs out in 30 days", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.RefreshExpiry = now.Add(30 * 24 * time.Hour) }), o: def, serve: true},
		{name: "the rejected token", acct: withAcct(acct, func(a *keyring.Account) { a.RejectedToken = hot.TokenHash("fake-at") }), rec: rec(time.Hour), o: def},
		{name: "another token was rejected", acct: withAcct(acct, func(a *keyring.Account) { a.RejectedToken = hot.TokenHash("fake-old") }), rec: rec(time.Hour), o: def, serve: true},
		{name: "bound elsewhere", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.Binding.TokenURL = "https://evil.example/token" }), o: def},
		{name: "no binding recorded (older record)", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.Binding = keyring.Binding{} }), o: def, serve: true},
		{name: "CR LF in the access token", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.AccessToken = "fake-at\r\nX: 1" }), o: def},
		{name: "escape in the ID token", acct: acct, rec: rec(time.Hour, func(r *keyring.Record) { r.IDToken = "a.b\x1b.c" }), o: def},
		{name: "refresh token rejected earlier", acct: withAcct(acct, func(a *keyring.Account) { a.LoginRequired = true }), rec: rec(time.Hour), o: def},
		{name: "client credentials, same client", acct: cc, rec: ccRec, o: def, env: map[string]string{"OAUTHCTL_ACME_CLIENT_ID": "cid"}, serve: true},
		{name: "client credentials, another client named", acct: cc, rec: ccRec, o: def, env: map[string]string{"OAUTHCTL_ACME_CLIENT_ID": "other"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			getenv := func(k string) string { return tt.env[k] }
			acct, stored := tt.acct, tt.rec
			warnings, ok := hot.Serve(&acct, &stored, tt.o, now, getenv)
			if ok != tt.serve || len(warnings) != tt.warnings {
				t.Fatalf("hot.Serve = %v with %d warnings (%v), want %v with %d", ok, len(warnings), warnings, tt.serve, tt.warnings)
			}

			st := keyring.NewMemory()
			if err := st.Save(context.Background(), acct.Key(), &stored); err != nil {
				t.Fatal(err)
			}
			dir := t.TempDir()
			paths := keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}
			s := &Service{
				Getenv:     getenv,
				Now:        func() time.Time { return now },
				HTTPClient: func() *http.Client { return &http.Client{Transport: failTransport{t}} },
				Store:      func() (keyring.Store, error) { return st, nil },
				Catalogue:  func() (*auth.Catalogue, error) { return nil, errBeyondStep1 },
				Paths:      func() (keyring.Paths, error) { return paths, nil },
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			got, acqWarnings, err := s.Acquire(ctx, &acct, AcquireOptions{MinTTL: tt.o.MinTTL, MinTTLSet: tt.o.MinTTLSet, LockWait: time.Second})
			if ok {
				if err != nil || got == nil || got.AccessToken != stored.AccessToken {
					t.Fatalf("hot.Serve serves the token, Acquire: %v, %v", got, err)
				}
				if diff := cmp.Diff(warnings, acqWarnings); diff != "" {
					t.Errorf("warnings (-hot +Acquire):\n%s", diff)
				}
				return
			}
			servedAsIs := err == nil && got != nil && got.AccessToken == stored.AccessToken
			if !servedAsIs {
				return // refreshed, refused or failed: the full program's business
			}
			for _, w := range acqWarnings {
				if w.Kind != hot.WarnRefreshExpiring {
					return // served with a warning the front leaves to the full program
				}
			}
			t.Errorf("hot.Serve declines a record that Acquire serves as it is, with warnings %v", acqWarnings)
		})
	}
}
