package vault_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/testvault"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
	"github.com/oauthctl/oauthctl/keyring/vault"
)

// leaseHost is one simulated machine: its own Vault store (own lease
// owner, own clock) on a shared prefix.
func leaseHost(t *testing.T, srv *testvault.Server, prefix, name string, ttl, skew time.Duration) *vault.Vault {
	t.Helper()
	v := newVault(t, srv, prefix)
	v.Owner = name
	v.LeaseTTL, v.LeaseSkew = ttl, skew
	v.LeasePoll = 20 * time.Millisecond
	return v
}

// stale is the need function of a refresh: the record still holds the
// access token every host read before.
func stale(old string) func(*keyring.Record) bool {
	return func(r *keyring.Record) bool { return r == nil || r.AccessToken == old }
}

// TestVaultLeaseOneRedemption: hosts that all read the same stale record
// and race for the lease redeem exactly once; the others wait for the
// holder's final write and pick up its tokens without a lease.
func TestVaultLeaseOneRedemption(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "shared"}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("old")); err != nil {
		t.Fatal(err)
	}
	const hosts = 8
	var redemptions atomic.Int32
	got := make([]string, hosts)
	var wg sync.WaitGroup
	for i := range hosts {
		h := leaseHost(t, srv, prefix, fmt.Sprint("host-", i), 10*time.Second, 5*time.Second)
		wg.Go(func() {
			lease, rec, err := h.Lease(ctx, key, stale("fake-at-old"))
			if err != nil {
				t.Errorf("host %d Lease: %v", i, err)
				return
			}
			if lease == nil {
				got[i] = rec.AccessToken
				return
			}
			defer h.Release(ctx, lease)
			if err := h.Ready(ctx, lease); err != nil {
				t.Errorf("host %d Ready: %v", i, err)
				return
			}
			n := redemptions.Add(1)
			time.Sleep(100 * time.Millisecond) // the token request
			next := storetest.Record(fmt.Sprint("new-", n))
			if err := h.Commit(ctx, lease, next, true); err != nil {
				t.Errorf("host %d Commit: %v", i, err)
				return
			}
			got[i] = next.AccessToken
		})
	}
	wg.Wait()
	if n := redemptions.Load(); n != 1 {
		t.Errorf("%d redemptions, want exactly 1", n)
	}
	for i, tok := range got {
		if tok != "fake-at-new-1" {
			t.Errorf("host %d ended with %q, want fake-at-new-1", i, tok)
		}
	}
	rec, err := newVault(t, srv, prefix).Load(ctx, key)
	if err != nil || rec.AccessToken != "fake-at-new-1" || rec.RefreshToken != "fake-rt-new-1" {
		t.Errorf("stored afterwards: %+v, %v", rec, err)
	}
	var entry struct {
		Data struct {
			Data map[string]any `json:"data"`
		} `json:"data"`
	}
	vaultJSON(t, srv, "GET", "secret/data/"+prefix+"/tokens/p/shared", "", &entry)
	if _, ok := entry.Data.Data["lease_owner"]; ok {
		t.Errorf("the final write left the lease in the entry: %v", entry.Data.Data["lease_owner"])
	}
}

// TestVaultLeaseStaleTakeover: a host that dies holding the lease blocks
// the others until lease_until plus the skew margin, not longer; then one
// takes it over, and the dead host's late write (had it survived) fails.
func TestVaultLeaseStaleTakeover(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "a"}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("old")); err != nil {
		t.Fatal(err)
	}
	const ttl, skew = 1500 * time.Millisecond, 1 * time.Second
	dead := leaseHost(t, srv, prefix, "dead-host", ttl, skew)
	lease, _, err := dead.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || lease == nil {
		t.Fatalf("first Lease: %v, %v", lease, err)
	}
	start := time.Now()
	b := leaseHost(t, srv, prefix, "host-b", ttl, skew)
	lb, rec, err := b.Lease(ctx, key, stale("fake-at-old"))
	waited := time.Since(start)
	if err != nil || lb == nil {
		t.Fatalf("takeover Lease: %v, %v", lb, err)
	}
	if waited < ttl+skew-200*time.Millisecond || waited > ttl+skew+2*time.Second {
		t.Errorf("took over after %s, want about TTL+skew = %s", waited, ttl+skew)
	}
	if rec.RefreshToken != "fake-rt-old" {
		t.Errorf("the taken-over record holds %q", rec.RefreshToken)
	}
	if err := b.Commit(ctx, lb, storetest.Record("by-b"), true); err != nil {
		t.Fatalf("Commit by the new holder: %v", err)
	}
	// The "dead" host comes back: its lease is gone.
	err = dead.Commit(ctx, lease, storetest.Record("late"), true)
	if !errors.Is(err, keyring.ErrLeaseLost) || !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("late Commit: got %v, want ErrLeaseLost", err)
	}
	if got, _ := b.Load(ctx, key); got.AccessToken != "fake-at-by-b" {
		t.Errorf("stored %q after the late write, want fake-at-by-b", got.AccessToken)
	}
}

// TestVaultLeaseClockSkew: a host whose clock runs ahead by less than the
// skew margin does not take over a live lease, however expired it looks
// by its own clock.
func TestVaultLeaseClockSkew(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "a"}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("old")); err != nil {
		t.Fatal(err)
	}
	a := leaseHost(t, srv, prefix, "host-a", 10*time.Second, 30*time.Second)
	la, _, err := a.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || la == nil {
		t.Fatalf("Lease: %v", err)
	}
	ahead := leaseHost(t, srv, prefix, "host-ahead", 10*time.Second, 30*time.Second)
	ahead.Now = func() time.Time { return time.Now().Add(25 * time.Second) } // A's lease looks 15 s expired
	ahead.LeaseWait = 500 * time.Millisecond
	_, _, err = ahead.Lease(ctx, key, stale("fake-at-old"))
	if !errors.Is(err, keyring.ErrLockTimeout) {
		t.Fatalf("Lease by a host 25 s ahead: got %v, want ErrLockTimeout", err)
	}
	for _, w := range []string{"host host-a holds the refresh lease of p:a in Vault until"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q does not say %q", err, w)
		}
	}
	if err := a.Commit(ctx, la, storetest.Record("by-a"), true); err != nil {
		t.Errorf("Commit by the holder: %v", err)
	}
	// With the lease cleared, the host ahead finds the new token without
	// taking a lease.
	ahead.LeaseWait = 0
	lease, rec, err := ahead.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || lease != nil || rec.AccessToken != "fake-at-by-a" {
		t.Errorf("Lease after the refresh = %v, %+v, %v; want no lease and the new record", lease, rec, err)
	}
}

// TestVaultLeaseRenewNearExpiry: a holder with less than the redemption
// window left renews before redeeming (Ready writes a new lease_until);
// one whose lease was taken over meanwhile is told not to redeem.
func TestVaultLeaseRenewNearExpiry(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "a"}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("old")); err != nil {
		t.Fatal(err)
	}
	const ttl = 1500 * time.Millisecond // redemption window: 1 s
	a := leaseHost(t, srv, prefix, "host-a", ttl, 200*time.Millisecond)
	kl, _, err := a.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || kl == nil {
		t.Fatalf("Lease: %v", err)
	}
	lease, ok := kl.(*vault.Lease)
	if !ok {
		t.Fatalf("Lease returned a %T, want *vault.Lease", kl)
	}
	v0, d0 := lease.Version(), lease.Deadline()
	if err := a.Ready(ctx, lease); err != nil || lease.Version() != v0 {
		t.Fatalf("Ready on a fresh lease: %v (version %d -> %d); want no write", err, v0, lease.Version())
	}
	time.Sleep(700 * time.Millisecond) // 0.8 s left: under the window
	if err := a.Ready(ctx, lease); err != nil {
		t.Fatalf("Ready near expiry: %v", err)
	}
	if lease.Version() != v0+1 || !lease.Deadline().After(d0) {
		t.Errorf("Ready near expiry did not renew: version %d -> %d, deadline moved %s", v0, lease.Version(), lease.Deadline().Sub(d0))
	}
	if left := time.Until(lease.Deadline()); left < ttl-300*time.Millisecond {
		t.Errorf("renewed lease has %s left, want about %s", left, ttl)
	}

	// Let the lease lapse and another host take it over.
	b := leaseHost(t, srv, prefix, "host-b", ttl, 200*time.Millisecond)
	lb, _, err := b.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || lb == nil {
		t.Fatalf("takeover: %v", err)
	}
	time.Sleep(100 * time.Millisecond)
	if err := a.Ready(ctx, lease); err == nil {
		t.Error("Ready after a takeover: nil; the old holder would redeem")
	} else if !errors.Is(err, keyring.ErrLeaseLost) {
		// The lease still looks fresh locally only if the clock is off; a
		// renewal must then fail its check-and-set.
		t.Errorf("Ready after a takeover: %v, want ErrLeaseLost", err)
	}
	_ = b.Release(ctx, lb)
}

// TestVaultLeaseLogout: a logout (Delete) while another host holds the
// lease wins: the holder's final write fails and recreates nothing.
func TestVaultLeaseLogout(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "a"}
	other := newVault(t, srv, prefix)
	if err := other.Save(ctx, key, storetest.Record("old")); err != nil {
		t.Fatal(err)
	}
	a := leaseHost(t, srv, prefix, "host-a", 10*time.Second, time.Second)
	lease, _, err := a.Lease(ctx, key, stale("fake-at-old"))
	if err != nil || lease == nil {
		t.Fatalf("Lease: %v", err)
	}
	if err := other.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, lease, storetest.Record("new"), true); !errors.Is(err, keyring.ErrLeaseLost) {
		t.Errorf("Commit after a logout: got %v, want ErrLeaseLost", err)
	}
	if _, err := other.Load(ctx, key); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load after logout and a failed Commit: %v, want ErrNotFound", err)
	}
	if err := a.Release(ctx, lease); err != nil {
		t.Errorf("Release of a lost lease: %v", err)
	}
}

// TestVaultLeaseNothingStored: a lease on an account with nothing stored
// (the first client_credentials token) creates the entry without a record;
// Load sees nothing until the Commit, and a Release leaves nothing.
func TestVaultLeaseNothingStored(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "cc", Account: "client"}
	a := leaseHost(t, srv, prefix, "host-a", 10*time.Second, time.Second)
	lease, rec, err := a.Lease(ctx, key, stale("none"))
	if err != nil || lease == nil || rec != nil {
		t.Fatalf("Lease on nothing = %v, %v, %v", lease, rec, err)
	}
	if _, err := a.Load(ctx, key); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load while leased: %v, want ErrNotFound", err)
	}
	if err := a.Commit(ctx, lease, storetest.Record("minted"), true); err != nil {
		t.Fatal(err)
	}
	got, err := a.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(storetest.Record("minted"), got); diff != "" {
		t.Errorf("Load after Commit (-want +got):\n%s", diff)
	}
	// A plain Save (a login elsewhere) overwrites a held lease: the
	// holder's write then fails.
	l2, _, err := a.Lease(ctx, key, func(*keyring.Record) bool { return true })
	if err != nil || l2 == nil {
		t.Fatal(err)
	}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("login")); err != nil {
		t.Fatal(err)
	}
	if err := a.Commit(ctx, l2, storetest.Record("late"), true); !errors.Is(err, keyring.ErrLeaseLost) {
		t.Errorf("Commit after a login overwrote the entry: %v, want ErrLeaseLost", err)
	}
}
