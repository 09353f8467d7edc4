package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oauthctl/oauthctl/internal/clock"
	"github.com/oauthctl/oauthctl/keyring"
)

// Refresh lease defaults. A refresh request is bounded by auth's retry
// budget (45 s for all attempts and waits; each HTTP call 30 s), so:
//   - DefaultLeaseTTL, 90 s, outlasts a whole refresh with room for the
//     Vault writes around it;
//   - a holder redeems only while at least MinRedeemLeft of its lease
//     remains (60 s, or two thirds of a shorter TTL), renewing first
//     otherwise, and bounds the redemption by the lease's deadline;
//   - another host takes over a lease only DefaultLeaseSkew (30 s) after
//     the lease_until the holder wrote, so clocks that differ by less than
//     that never let two hosts redeem at once.
const (
	DefaultLeaseTTL  = 90 * time.Second
	DefaultLeaseSkew = 30 * time.Second
	MinRedeemLeft    = 60 * time.Second
	// DefaultLeasePoll is how often a waiting host re-reads the entry.
	DefaultLeasePoll = 250 * time.Millisecond
)

// Lease is a refresh lease held on one token entry: the keyring.Lease
// that Vault's Leaser methods grant and take.
type Lease struct {
	key     keyring.Key
	owner   string
	version int             // the entry version the lease wrote: CAS for the next write
	record  json.RawMessage // the record the entry holds, rewritten unchanged by renew/release
	// until is the expiry written into the entry (wall clock, for other
	// hosts); deadline the local one (monotonic, taken before the write).
	until, deadline time.Time
	done            bool
}

// Owner names the process holding the lease.
func (l *Lease) Owner() string { return l.owner }

// Deadline is when the lease runs out for this host (monotonic clock).
func (l *Lease) Deadline() time.Time { return l.deadline }

// Version is the token entry's version the lease last wrote.
func (l *Lease) Version() int { return l.version }

// held returns the Vault lease behind kl. A lease this package did not
// grant cannot be checked or written under: ErrLeaseLost.
func held(kl keyring.Lease) (*Lease, error) {
	l, ok := kl.(*Lease)
	if !ok || l == nil {
		return nil, fmt.Errorf("%w: not a refresh lease of the Vault store", keyring.ErrLeaseLost)
	}
	return l, nil
}

func (v *Vault) leaseTTL() time.Duration {
	if v.LeaseTTL > 0 {
		return v.LeaseTTL
	}
	return DefaultLeaseTTL
}

func (v *Vault) leaseSkew() time.Duration {
	if v.LeaseSkew > 0 {
		return v.LeaseSkew
	}
	return DefaultLeaseSkew
}

// redeemWindow is the least lease time left at which a holder may start a
// redemption: MinRedeemLeft, or two thirds of a shorter TTL.
func (v *Vault) redeemWindow() time.Duration {
	return min(MinRedeemLeft, v.leaseTTL()*2/3)
}

// Lease implements keyring.Leaser. Steps, looping until done or the wait runs out:
//  1. read the entry (version, record, lease);
//  2. if another owner's lease is live (now <= lease_until + skew), wait a
//     poll interval and go to 1;
//  3. if need(record) is false, return the record without a lease;
//  4. write the same record with lease_owner = this process and
//     lease_until = now + TTL, check-and-set on the version read; a lost
//     check-and-set goes back to 1.
func (v *Vault) Lease(ctx context.Context, key keyring.Key, need func(*keyring.Record) bool) (keyring.Lease, *keyring.Record, error) {
	wait := v.LeaseWait
	if wait <= 0 {
		wait = keyring.DefaultLockWait
	}
	poll := v.LeasePoll
	if poll <= 0 {
		poll = DefaultLeasePoll
	}
	start := time.Now()
	for {
		r, e, err := v.readToken(ctx, key)
		if err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return nil, nil, err
		}
		rec, err := e.record(key)
		if err != nil {
			return nil, nil, err
		}
		now := v.Now()
		if e.LeaseOwner != "" && e.LeaseOwner != v.Owner && !now.After(e.LeaseUntil.Add(v.leaseSkew())) {
			if time.Since(start) >= wait {
				return nil, nil, fmt.Errorf("%w after %s (host %s holds the refresh lease of %s in Vault until %s)",
					keyring.ErrLockTimeout, wait, e.LeaseOwner, key, e.LeaseUntil.Format(time.RFC3339))
			}
			if err := clock.Sleep(ctx, jitter(poll/2)); err != nil {
				return nil, nil, err
			}
			continue
		}
		if !need(rec) {
			return nil, rec, nil
		}
		l := &Lease{key: key, owner: v.Owner, record: e.Record}
		if err := v.writeLease(ctx, l, r.version, e.Record, true); err != nil {
			if errors.Is(err, errCAS) {
				continue
			}
			return nil, nil, err
		}
		return l, rec, nil
	}
}

// writeLease writes record to l's entry with check-and-set on cas,
// holding the lease for another TTL when hold is set, clearing it
// otherwise, and updates l.
func (v *Vault) writeLease(ctx context.Context, l *Lease, cas int, record json.RawMessage, hold bool) error {
	e := tokenEntry{V: tokenEntryVersion, Record: record}
	started := time.Now() // before the write: the local deadline errs early
	if hold {
		e.LeaseOwner = l.owner
		e.LeaseUntil = v.Now().Add(v.leaseTTL()).UTC()
	}
	ver, err := v.write(ctx, v.tokenPath(l.key), e, cas)
	if err != nil {
		return err
	}
	l.version, l.record = ver, record
	if hold {
		l.until, l.deadline = e.LeaseUntil, started.Add(v.leaseTTL())
	} else {
		l.done = true
	}
	return nil
}

// Ready implements keyring.Leaser.
func (v *Vault) Ready(ctx context.Context, kl keyring.Lease) error {
	l, err := held(kl)
	if err != nil {
		return err
	}
	if l.done {
		return keyring.ErrLeaseLost
	}
	r, e, err := v.readToken(ctx, l.key)
	switch {
	case errors.Is(err, keyring.ErrNotFound), err == nil && (r.version != l.version || e.LeaseOwner != l.owner):
		l.done = true
		return fmt.Errorf("checking the refresh lease of %s: %w", l.key, keyring.ErrLeaseLost)
	case err != nil:
		return err
	}
	if time.Until(l.deadline) >= v.redeemWindow() {
		return nil
	}
	err = v.writeLease(ctx, l, l.version, l.record, true)
	if errors.Is(err, errCAS) {
		return fmt.Errorf("renewing the refresh lease of %s: %w", l.key, keyring.ErrLeaseLost)
	}
	return err
}

// Commit implements keyring.Leaser. When the write's answer is lost (a timeout
// after Vault applied it), a retry's check-and-set fails although the
// tokens are stored; so a failed check-and-set reads the entry back and
// counts as success when it holds exactly rec at the next version.
func (v *Vault) Commit(ctx context.Context, kl keyring.Lease, rec *keyring.Record, release bool) error {
	l, err := held(kl)
	if err != nil {
		return err
	}
	if l.done {
		return keyring.ErrLeaseLost
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the record: %w", err)
	}
	err = v.writeLease(ctx, l, l.version, data, !release)
	if !errors.Is(err, errCAS) {
		return err
	}
	if r, e, rerr := v.readToken(ctx, l.key); rerr == nil && r.version == l.version+1 &&
		string(e.Record) == string(data) && (e.LeaseOwner == "" || e.LeaseOwner == l.owner) {
		l.version, l.record = r.version, data
		l.done = release
		return nil
	}
	l.done = true
	return fmt.Errorf("storing the new tokens of %s: %w", l.key, keyring.ErrLeaseLost)
}

// Release implements keyring.Leaser.
func (v *Vault) Release(ctx context.Context, kl keyring.Lease) error {
	l, _ := kl.(*Lease)
	if l == nil || l.done {
		return nil
	}
	err := v.writeLease(ctx, l, l.version, l.record, false)
	if errors.Is(err, errCAS) {
		l.done = true
		return nil
	}
	return err
}
