package keyring

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"
)

// KernelCache keeps a copy of each account's current access token (never a
// refresh token, ID token or client secret) in the Linux kernel keyring, so
// that `oauthctl token` can answer with a few keyctl system calls instead of
// Secret Service round trips through D-Bus. It is a cache: every failure is
// a miss, and the OS keychain stays the only store of record.
//
// Each account has one "user" key in the user keyring (@u) of the process's
// UID, which the kernel makes visible to all that user's processes (shells,
// cron jobs, systemd services) and to no other user, like an unlocked Secret
// Service. Its description names the state directory (a hash of the index
// path), provider and account:
//
//	oauthctl:<16 hex of sha256(index path, store)>:<provider>:<account>
//
// and its payload (see encodeCached) carries a format version, a digest of
// the account's index entry (issuer, token endpoint, client ID, subject,
// grant and the time the entry last changed), the token's expiry, the
// refresh token's expiry and the scopes. A reader compares the digest with
// the entry it has just read from the index, so a key written before the
// entry changed (a refresh, a new login, a concurrent logout and login) is a
// miss, not a stale token. The kernel deletes the key when the token
// expires (KEYCTL_SET_TIMEOUT); Invalidate deletes it earlier.
//
// OAUTHCTL_KERNEL_CACHE=0 turns the cache off; where keyctl is unavailable
// (not Linux; a seccomp profile that answers EPERM or ENOSYS, as container
// runtimes' defaults do) every call is a silent miss.
//
// The zero value and a nil *KernelCache are a disabled cache.
type KernelCache struct {
	sys keyctl // nil: disabled
	ns  string // the description's state-directory part
	uid int    // the owner a key must have
	now func() time.Time
}

// CachedToken is what the kernel cache holds for an account: the access
// token and what `token` prints or checks with it.
type CachedToken struct {
	AccessToken string
	// Expiry is when the access token expires; zero when the provider did
	// not say.
	Expiry time.Time
	// RefreshExpiry is when the refresh token runs out, zero when unknown
	// or when no refresh token is stored (for the warning `token` prints).
	RefreshExpiry time.Time
	// Scopes are the record's scopes; nil when the record had none.
	Scopes []string
}

// KernelCacheEnv turns the kernel cache off when set to 0 (or false, off, no).
const KernelCacheEnv = "OAUTHCTL_KERNEL_CACHE"

// kernelCacheVersion is the first line of a payload; a reader ignores any
// other.
const kernelCacheVersion = "oauthctl-kcache 1"

// unknownExpiryTimeout bounds how long a token of unknown expiry stays in
// the kernel: after it the next call reads the keychain again.
const unknownExpiryTimeout = time.Hour

// maxCachedToken bounds the payload: the kernel's default quota for a
// non-root user is 20000 bytes of keys in all.
const maxCachedToken = 8 << 10

// Errors Put returns; callers treat every one as "not cached".
var (
	errCacheDisabled   = errors.New("kernel cache disabled")
	errCacheNotWorthIt = errors.New("token not cacheable")
)

// NewKernelCache returns the cache for the accounts of the index at
// indexPath held in the store named store ("keychain"), or a disabled one
// when getenv(KernelCacheEnv) turns it off or keyctl is not available on
// this platform. It makes no system call: a kernel that refuses keyctl
// shows on first use.
func NewKernelCache(indexPath, store string, getenv func(string) string, now func() time.Time) *KernelCache {
	switch strings.ToLower(getenv(KernelCacheEnv)) {
	case "0", "false", "off", "no":
		return &KernelCache{}
	}
	return newKernelCache(systemKeyctl(), indexPath, store, now)
}

func newKernelCache(sys keyctl, indexPath, store string, now func() time.Time) *KernelCache {
	if sys == nil {
		return &KernelCache{}
	}
	h := sha256.Sum256([]byte(indexPath + "\x00" + store))
	return &KernelCache{sys: sys, ns: hex.EncodeToString(h[:8]), uid: sys.uid(), now: now}
}

// Enabled reports whether the cache may answer at all.
func (c *KernelCache) Enabled() bool { return c != nil && c.sys != nil }

// description names key's kernel key.
func (c *KernelCache) description(key Key) string {
	return "oauthctl:" + c.ns + ":" + key.Provider + ":" + key.Account
}

// binding is the digest of the index entry a cached token belongs to.
func binding(a *Account) string {
	var b strings.Builder
	for _, s := range []string{a.Provider, a.Account, a.Issuer, a.TokenURL, a.ClientID, a.Subject, a.Grant,
		a.UpdatedAt.UTC().Format(time.RFC3339Nano)} {
		b.WriteString(strconv.Itoa(len(s)))
		b.WriteByte(':')
		b.WriteString(s)
	}
	h := sha256.Sum256([]byte(b.String()))
	return hex.EncodeToString(h[:])
}

// Get returns acct's cached token if the kernel holds one that this UID
// owns, whose payload parses and belongs to acct as the index describes it
// now, and that has not expired. Steps: one KEYCTL_SEARCH of @u, one
// KEYCTL_DESCRIBE (owner, permissions, exact description), one KEYCTL_READ.
// Whether the token is fresh enough for --min-ttl is the caller's decision.
func (c *KernelCache) Get(acct *Account) (*CachedToken, bool) {
	if !c.Enabled() {
		return nil, false
	}
	desc := c.description(acct.Key())
	id, err := c.sys.search(desc)
	if err != nil {
		return nil, false
	}
	if !c.trusted(id, desc) {
		return nil, false
	}
	var buf [maxCachedToken + 1024]byte
	n, err := c.sys.read(id, buf[:])
	if err != nil || n > len(buf) {
		return nil, false
	}
	t, ok := decodeCached(buf[:n], binding(acct))
	if !ok || (!t.Expiry.IsZero() && !c.now().Before(t.Expiry)) {
		return nil, false
	}
	return t, true
}

// keyPerm is the permission mask of a cached key: the possessor and the
// owning user may view, read and search it (search also allows
// KEYCTL_INVALIDATE); nobody may update it or change its attributes; the
// possessor may link it (the writer links it from its process keyring into
// @u); group and others get nothing. Reads work whether or not the reader
// possesses the key: a key found through @u from a session whose keyring
// does not link @u (systemd services with KeyringMode=private, containers)
// is read under the user permissions.
const keyPerm = keyPosView | keyPosRead | keyPosSearch | keyPosLink | keyUsrView | keyUsrRead | keyUsrSearch

// Permission bits of KEYCTL_SETPERM (linux/keyctl.h).
const (
	keyPosView    = 0x01000000
	keyPosRead    = 0x02000000
	keyPosWrite   = 0x04000000
	keyPosSearch  = 0x08000000
	keyPosLink    = 0x10000000
	keyPosSetattr = 0x20000000
	keyUsrView    = 0x00010000
	keyUsrRead    = 0x00020000
	keyUsrSearch  = 0x00080000
)

// trusted reports whether key id is a "user" key with exactly description
// desc, owned by this UID, that grants nothing to group or others. A key
// put into @u by another UID (only root can) or made readable by others is
// ignored.
func (c *KernelCache) trusted(id int, desc string) bool {
	d, err := c.sys.describe(id)
	if err != nil {
		return false
	}
	// "type;uid;gid;perm;description"
	parts := strings.SplitN(d, ";", 5)
	if len(parts) != 5 || parts[0] != "user" || parts[4] != desc {
		return false
	}
	uid, err := strconv.Atoi(parts[1])
	if err != nil || uid != c.uid {
		return false
	}
	perm, err := strconv.ParseUint(parts[3], 16, 32)
	return err == nil && perm&0x0000ffff == 0 && perm&(keyPosWrite|keyPosSetattr) == 0
}

// Put caches t for acct as the index entry describes it now (the entry the
// caller read before it read t from the store), replacing any key of the
// account atomically. Steps: add the key to this process's keyring, set its
// kernel timeout to the token's expiry (rounded down to the second) and its
// read-only permissions, then link it into @u, which displaces the old key
// in one step, and unlink it from the process keyring. A token that expires
// within a second, is too large or has a line break is not cached.
func (c *KernelCache) Put(acct *Account, t *CachedToken) error {
	if !c.Enabled() {
		return errCacheDisabled
	}
	timeout := unknownExpiryTimeout
	if !t.Expiry.IsZero() {
		timeout = t.Expiry.Sub(c.now()).Truncate(time.Second)
	}
	if timeout < time.Second || t.AccessToken == "" || len(t.AccessToken) > maxCachedToken ||
		strings.ContainsAny(t.AccessToken, "\r\n\x00") {
		return errCacheNotWorthIt
	}
	payload := encodeCached(t, binding(acct))
	id, err := c.sys.add(c.description(acct.Key()), payload)
	if err != nil {
		return err
	}
	// From here on the key is only in this process's keyring: on an error
	// unlinking it there drops it.
	defer c.sys.unlinkFromProcess(id)
	if err := c.sys.setTimeout(id, uint(timeout/time.Second)); err != nil {
		return err
	}
	if err := c.sys.setPerm(id, keyPerm); err != nil {
		return err
	}
	return c.sys.linkUser(id)
}

// Invalidate deletes the cached token of key, if any, for every process at
// once (KEYCTL_INVALIDATE). Callers invalidate before they replace or remove
// the token in the store, under the account's refresh lock when there is
// one, so that no process prints a token that was replaced or revoked.
func (c *KernelCache) Invalidate(key Key) {
	if !c.Enabled() {
		return
	}
	desc := c.description(key)
	// A loop: concurrent writers may each have linked one, and an
	// invalidated key can still be found until the kernel has marked it.
	for range 4 {
		id, err := c.sys.search(desc)
		if err != nil {
			return
		}
		if c.sys.invalidate(id) != nil {
			// Not ours to invalidate (another owner): unlink it from @u
			// instead, which needs only write access to @u.
			if c.sys.unlinkUser(id) != nil {
				return
			}
		}
	}
}

// encodeCached is the payload of a cached key, one field a line:
//
//	oauthctl-kcache 1
//	<sha256 of the index entry, hex>
//	<expiry, Unix nanoseconds; 0 = unknown>
//	<refresh expiry, Unix nanoseconds; 0 = unknown>
//	<"-" for no scopes, else "+" and the scopes separated by spaces>
//	<access token>
func encodeCached(t *CachedToken, bind string) []byte {
	scopes := "-"
	if t.Scopes != nil {
		scopes = "+" + strings.Join(t.Scopes, " ")
	}
	return []byte(kernelCacheVersion + "\n" + bind + "\n" + unixNano(t.Expiry) + "\n" + unixNano(t.RefreshExpiry) + "\n" +
		scopes + "\n" + t.AccessToken)
}

// decodeCached parses a payload and checks it against bind; ok is false for
// anything else.
func decodeCached(p []byte, bind string) (*CachedToken, bool) {
	f := strings.SplitN(string(p), "\n", 6)
	if len(f) != 6 || f[0] != kernelCacheVersion || f[1] != bind || f[5] == "" || strings.ContainsAny(f[5], "\r\n\x00") {
		return nil, false
	}
	exp, ok1 := parseUnixNano(f[2])
	rexp, ok2 := parseUnixNano(f[3])
	if !ok1 || !ok2 {
		return nil, false
	}
	t := &CachedToken{AccessToken: f[5], Expiry: exp, RefreshExpiry: rexp}
	switch {
	case f[4] == "-":
	case f[4] == "+":
		t.Scopes = []string{}
	case strings.HasPrefix(f[4], "+"):
		t.Scopes = strings.Split(f[4][1:], " ")
	default:
		return nil, false
	}
	return t, true
}

func unixNano(t time.Time) string {
	if t.IsZero() {
		return "0"
	}
	return strconv.FormatInt(t.UnixNano(), 10)
}

func parseUnixNano(s string) (time.Time, bool) {
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil || n < 0:
		return time.Time{}, false
	case n == 0:
		return time.Time{}, true
	}
	return time.Unix(0, n).UTC(), true
}

// keyctl is the part of the kernel's key management API the cache uses,
// addressed to the keyrings the cache uses. The Linux implementation calls
// the kernel; tests substitute failing ones (seccomp's EPERM, ENOSYS).
type keyctl interface {
	uid() int
	// search finds a "user" key by description in @u.
	search(desc string) (int, error)
	// describe is KEYCTL_DESCRIBE: "type;uid;gid;perm;description".
	describe(id int) (string, error)
	// read is KEYCTL_READ; it returns the payload's full length.
	read(id int, buf []byte) (int, error)
	// add creates a "user" key in this process's keyring.
	add(desc string, payload []byte) (int, error)
	setTimeout(id int, seconds uint) error
	setPerm(id int, perm uint32) error
	// linkUser links the key into @u, displacing a key of the same type and
	// description; unlinkUser removes it from @u.
	linkUser(id int) error
	unlinkUser(id int) error
	unlinkFromProcess(id int) error
	invalidate(id int) error
}
