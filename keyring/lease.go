package keyring

import (
	"context"
	"time"
)

// Leaser is a Store shared by several hosts (Vault, in package
// keyring/vault) that serializes refreshes across them: a host redeems a
// refresh token only while it holds the entry's lease, taken by a
// check-and-set write to the entry itself. (A check-and-set on the final
// write alone is not enough: two hosts that read the same version both
// redeem the refresh token, and a provider with reuse detection revokes
// the grant before the loser's write fails.)
//
// The sequence for one refresh:
//
//	lease, rec, err := l.Lease(ctx, key, stale)  // waits while another host holds it
//	if lease == nil { use rec }                  // another host refreshed meanwhile
//	defer l.Release(ctx, lease)                  // no-op after Commit(release=true)
//	if err := l.Ready(ctx, lease); err != nil {} // renew when too little is left
//	... redeem with a context bounded by lease.Deadline() ...
//	l.Commit(ctx, lease, newRec, true)           // new tokens + lease cleared, one CAS write
type Leaser interface {
	// Lease waits, at most the store's lease wait, until no other host
	// holds a live lease on key (a lease older than its TTL plus the skew
	// margin counts as dead and is taken over). Then, if need(current
	// record) is false (another host refreshed meanwhile; the record is
	// nil when none is stored), it returns that record and a nil lease
	// without writing. Otherwise it takes the lease by a check-and-set
	// write of the unchanged record and returns both. A wait that runs
	// out is ErrLockTimeout; a corrupt entry is ErrCorrupt.
	Lease(ctx context.Context, key Key, need func(*Record) bool) (Lease, *Record, error)
	// Ready verifies (one read) that the entry still carries this lease,
	// renews it when less than the redemption window is left, and fails
	// with ErrLeaseLost when it was taken over, overwritten by a login or
	// deleted by a logout: then nothing may be redeemed.
	Ready(ctx context.Context, l Lease) error
	// Commit writes rec under the lease (check-and-set on the version the
	// lease wrote), clearing the lease when release is set. It fails with
	// ErrLeaseLost when the entry changed since (taken over, overwritten
	// by a login, deleted by a logout).
	Commit(ctx context.Context, l Lease, rec *Record, release bool) error
	// Release clears a lease still held, leaving the record as it is.
	// Losing the race to clear it (taken over, deleted) is not an error.
	Release(ctx context.Context, l Lease) error
}

// Lease is a refresh lease a Leaser granted on one token entry. It is an
// interface so that the backend that grants it (keyring/vault) keeps its
// bookkeeping to itself and keyring needs none of its imports; only the
// Leaser that granted a lease can use it.
type Lease interface {
	// Deadline is when the lease runs out for this host (monotonic
	// clock): a redemption under the lease must end by then.
	Deadline() time.Time
}

// ErrLeaseLost means the entry changed while this host held its lease:
// another host took the lease over after it expired, a login overwrote the
// entry or a logout deleted it. It matches ErrUnavailable (exit 6): the
// tokens this host obtained are not stored, and not printed.
var ErrLeaseLost = &UnavailableError{Backend: BackendVault, Op: "write", Msg: "the refresh lease in Vault was lost (the entry was taken over, overwritten or deleted meanwhile)"}
