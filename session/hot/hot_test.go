package hot

import (
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// TestMargin: --min-ttl when given; else the smaller of the default and
// half the lifetime the provider granted, when known.
func TestMargin(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		o        Options
		lifetime time.Duration
		want     time.Duration
	}{
		{name: "lifetime unknown", o: Options{MinTTL: time.Minute}, want: time.Minute},
		{name: "long-lived token", o: Options{MinTTL: time.Minute}, lifetime: time.Hour, want: time.Minute},
		{name: "60 s token", o: Options{MinTTL: time.Minute}, lifetime: time.Minute, want: 30 * time.Second},
		{name: "--min-ttl given on a 60 s token", o: Options{MinTTL: time.Minute, MinTTLSet: true}, lifetime: time.Minute, want: time.Minute},
		{name: "--min-ttl 0", o: Options{MinTTLSet: true}, lifetime: time.Hour, want: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := tt.o.Margin(tt.lifetime); got != tt.want {
				t.Errorf("Margin(%v) = %v, want %v", tt.lifetime, got, tt.want)
			}
		})
	}
}

// TestFreshAndLifetime: Fresh compares the time left with the margin
// exactly, and a lifetime is known only from an issue time before the
// expiry.
func TestFreshAndLifetime(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	o := Options{MinTTL: time.Minute}
	tests := []struct {
		name         string
		rec          *keyring.Record
		wantFresh    bool
		wantLifetime time.Duration
	}{
		{name: "no record", rec: nil},
		{name: "no access token", rec: &keyring.Record{Expiry: now.Add(time.Hour)}},
		{name: "no expiry", rec: &keyring.Record{AccessToken: "fake-at"}, wantFresh: true},
		{name: "exactly the margin left", rec: &keyring.Record{AccessToken: "fake-at", Expiry: now.Add(time.Minute)}, wantFresh: true},
		{name: "just under the margin", rec: &keyring.Record{AccessToken: "fake-at", Expiry: now.Add(time.Minute - time.Millisecond)}},
		{name: "issued after the expiry (clock jump)", rec: &keyring.Record{AccessToken: "fake-at", IssuedAt: now.Add(time.Hour), Expiry: now.Add(time.Minute)}, wantFresh: true},
		{name: "a 90 s token with 50 s left", rec: &keyring.Record{AccessToken: "fake-at", IssuedAt: now.Add(-40 * time.Second), Expiry: now.Add(50 * time.Second)},
			wantFresh: true, wantLifetime: 90 * time.Second},
		{name: "a 90 s token with 40 s left", rec: &keyring.Record{AccessToken: "fake-at", IssuedAt: now.Add(-50 * time.Second), Expiry: now.Add(40 * time.Second)},
			wantLifetime: 90 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got := Fresh(tt.rec, o, now); got != tt.wantFresh {
				t.Errorf("Fresh = %v, want %v", got, tt.wantFresh)
			}
			if tt.rec != nil {
				if got := Lifetime(tt.rec); got != tt.wantLifetime {
					t.Errorf("Lifetime = %v, want %v", got, tt.wantLifetime)
				}
			}
		})
	}
}

// TestRefreshExpiring: the warning names the account, the time left and
// the login to run, within a week of the refresh token's end only.
func TestRefreshExpiring(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	key := keyring.Key{Provider: "acme", Account: "alice"}
	tests := []struct {
		name string
		at   time.Time
		want string
	}{
		{name: "unknown", at: time.Time{}},
		{name: "in 8 days", at: now.Add(8 * 24 * time.Hour)},
		{name: "in exactly a week", at: now.Add(RefreshExpiryWarning)},
		{name: "in 2 days", at: now.Add(48 * time.Hour), want: "the refresh token of acme:alice expires in 2d; run: oauthctl login acme"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			w, ok := RefreshExpiring(key, tt.at, now)
			if ok != (tt.want != "") || w.Msg != tt.want || (ok && w.Kind != WarnRefreshExpiring) {
				t.Errorf("RefreshExpiring = %+v, %v; want %q", w, ok, tt.want)
			}
		})
	}
}
