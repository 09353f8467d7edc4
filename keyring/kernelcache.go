package keyring

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
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
// Keys are "user" keys in the user keyring (@u) of the process's UID, which
// the kernel makes visible to all that user's processes (shells, cron jobs,
// systemd services) and to no other user, like an unlocked Secret Service.
// A key answers one request as `token` received it, before the index
// resolved it (CacheRequest: a provider or none, an account or none), so
// that a hit needs no JSON parse; its description names the state directory
// (a hash of the index path and the store), provider and account:
//
//	oauthctl:<16 hex of sha256(index path, store)>:<provider>:<account>
//
// Its payload (see encodeCached) carries a format version and the SHA-256
// of the whole account index file as the writer read it before it read the
// token from the store. A reader hashes the index it has just read: any
// change since (a refresh, login, logout or switch records new metadata, at
// least the entry's updated_at) makes the key a miss, never a stale token.
// The kernel deletes the key when the token expires (KEYCTL_SET_TIMEOUT);
// Invalidate deletes it earlier.
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

// CacheRequest is what `token` was asked for: a provider (empty: the only
// stored account) and an account (empty: the provider's default).
type CacheRequest struct {
	Provider string
	Account  string
}

// CachedToken is what the kernel cache holds for a request: the access
// token and what `token` prints or checks with it.
type CachedToken struct {
	// Provider and Account name the account the request resolved to.
	Provider string
	Account  string
	// Grant and ClientID are the account's (a client_credentials token is
	// served only while the environment names the same client).
	Grant    string
	ClientID string

	AccessToken string
	// Expiry is when the access token expires; zero when the provider did
	// not say.
	Expiry time.Time
	// IssuedAt is when it was issued (Record.IssuedAt), zero when unknown.
	IssuedAt time.Time
	// RefreshExpiry is when the refresh token runs out, zero when unknown
	// or when no refresh token is stored (for the warning `token` prints).
	RefreshExpiry time.Time
	// Scopes are what `token --json` prints; nil when unknown.
	Scopes []string
}

// Key is the account's Store key.
func (t *CachedToken) Key() Key { return Key{Provider: t.Provider, Account: t.Account} }

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

// description names the key of req.
func (c *KernelCache) description(req CacheRequest) string {
	return "oauthctl:" + c.ns + ":" + req.Provider + ":" + req.Account
}

// binding is the digest of the index file a cached token belongs to.
func binding(index []byte) string {
	h := sha256.Sum256(index)
	return hex.EncodeToString(h[:])
}

// Get returns the cached answer to req if the kernel holds one that this
// UID owns, whose payload parses and was written with exactly the account
// index index (the file's bytes as the caller read them), and whose token
// has not expired. Steps: one KEYCTL_SEARCH of @u, one KEYCTL_DESCRIBE
// (owner, permissions, exact description), one KEYCTL_READ. Whether the
// token is fresh enough for --min-ttl is the caller's decision.
func (c *KernelCache) Get(req CacheRequest, index []byte) (*CachedToken, bool) {
	if !c.Enabled() {
		return nil, false
	}
	desc := c.description(req)
	id, err := c.sys.search(desc)
	if err != nil {
		return nil, false
	}
	if !c.trusted(id, desc) {
		return nil, false
	}
	// Most payloads fit in 4 KiB; KEYCTL_READ returns the full length
	// when they do not, and the second read gets it all.
	buf := make([]byte, 4096)
	n, err := c.sys.read(id, buf)
	if err == nil && n > len(buf) && n <= maxCachedToken+2048 {
		buf = make([]byte, n)
		n, err = c.sys.read(id, buf)
	}
	if err != nil || n > len(buf) {
		return nil, false
	}
	t, ok := decodeCached(buf[:n], binding(index))
	if !ok || (!t.Expiry.IsZero() && !c.now().Before(t.Expiry)) {
		return nil, false
	}
	return t, true
}

// keyPerm is the permission mask of a cached key: the possessor and the
// owning user may view, read and search it (search also allows
// KEYCTL_INVALIDATE); nobody may update it or change its attributes; the
// possessor may link it (the writer links it from its thread keyring into
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
	var buf [512]byte
	n, err := c.sys.describe(id, buf[:])
	if err != nil || n > len(buf) || n < 1 {
		return false
	}
	d := string(buf[:n-1]) // without the NUL
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

// Put caches t as the answer to req under the account index index (the
// file's bytes as the caller read them before it read t from the store),
// replacing any key of req atomically. Steps, on one OS thread: add the key
// to the thread keyring (where this thread possesses it, so the default
// permissions let it finish the key), set its kernel timeout to the token's
// expiry (rounded down to the second) and its read-only permissions, then
// link it into @u, which displaces the old key in one step, and unlink it
// from the thread keyring. Readers never see a key without its timeout and
// permissions. A token that expires within a second, is too large or has a line
// break is not cached.
func (c *KernelCache) Put(req CacheRequest, index []byte, t *CachedToken) error {
	if !c.Enabled() {
		return errCacheDisabled
	}
	timeout := unknownExpiryTimeout
	if !t.Expiry.IsZero() {
		timeout = t.Expiry.Sub(c.now()).Truncate(time.Second)
	}
	if timeout < time.Second || t.AccessToken == "" || len(t.AccessToken) > maxCachedToken ||
		strings.ContainsAny(t.AccessToken, "\r\n\x00") || !oneLine(t.Provider, t.Account, t.Grant, t.ClientID) {
		return errCacheNotWorthIt
	}
	payload := encodeCached(t, binding(index))
	// The key is set up in this thread's keyring, where only this thread
	// possesses it (and so may change it): stay on the thread.
	defer c.sys.lockThread()()
	id, err := c.sys.add(c.description(req), payload)
	if err != nil {
		return fmt.Errorf("add_key: %w", err)
	}
	// From here on the key is only in the thread keyring: on an error
	// unlinking it there drops it.
	defer c.sys.unlinkStaged(id)
	if err := c.sys.setTimeout(id, uint(timeout/time.Second)); err != nil {
		return fmt.Errorf("keyctl set_timeout: %w", err)
	}
	if err := c.sys.setPerm(id, keyPerm); err != nil {
		return fmt.Errorf("keyctl setperm: %w", err)
	}
	if err := c.sys.linkUser(id); err != nil {
		return fmt.Errorf("keyctl link: %w", err)
	}
	return nil
}

func oneLine(ss ...string) bool {
	for _, s := range ss {
		if strings.ContainsAny(s, "\r\n\x00") {
			return false
		}
	}
	return true
}

// Invalidate deletes, for every process at once (KEYCTL_INVALIDATE), the
// cached token of key under each request that may resolve to it: provider
// and account, the provider's default account, the only stored account.
// Callers invalidate before they replace or remove the token in the store,
// under the account's refresh lock when there is one, so that no process
// prints a token that was replaced or revoked.
func (c *KernelCache) Invalidate(key Key) {
	if !c.Enabled() {
		return
	}
	for _, req := range []CacheRequest{{key.Provider, key.Account}, {key.Provider, ""}, {}} {
		if !c.invalidate(c.description(req)) {
			return // keyctl unavailable: nothing is cached either
		}
	}
}

// InvalidateProvider is Invalidate for each of the provider's accounts
// (after `client set` or `client unset`).
func (c *KernelCache) InvalidateProvider(provider string, accounts []string) {
	for _, a := range accounts {
		c.Invalidate(Key{Provider: provider, Account: a})
	}
	c.Invalidate(Key{Provider: provider})
}

// Clear removes every key of this state directory and store from @u,
// whatever request it answers (tests call it when they end).
func (c *KernelCache) Clear() {
	if !c.Enabled() {
		return
	}
	var buf [16 << 10]byte
	n, err := c.sys.read(keySpecUserKeyring, buf[:])
	if err != nil {
		return
	}
	prefix := "oauthctl:" + c.ns + ":"
	for i := 0; i+4 <= min(n, len(buf)); i += 4 {
		id := int(int32(binary.NativeEndian.Uint32(buf[i:])))
		var d [512]byte
		m, err := c.sys.describe(id, d[:])
		if err != nil || m > len(d) {
			continue
		}
		if parts := strings.SplitN(string(d[:max(m-1, 0)]), ";", 5); len(parts) == 5 && parts[0] == "user" && strings.HasPrefix(parts[4], prefix) {
			if c.sys.invalidate(id) != nil {
				_ = c.sys.unlinkUser(id)
			}
		}
	}
}

// keySpecUserKeyring is KEY_SPEC_USER_KEYRING; reading it lists @u's keys
// as 32-bit IDs in the machine's byte order.
const keySpecUserKeyring = -4

// invalidate removes the keys described desc from @u; false when keyctl
// fails with anything but "no such key".
func (c *KernelCache) invalidate(desc string) bool {
	// A loop: concurrent writers may each have linked one, and an
	// invalidated key can still be found until the kernel has marked it.
	for range 4 {
		id, err := c.sys.search(desc)
		if err != nil {
			return errors.Is(err, errNoKey) || errors.Is(err, errKeyExpired) || errors.Is(err, errKeyRevoked)
		}
		if c.sys.invalidate(id) != nil {
			// Not ours to invalidate (another owner): unlink it from @u
			// instead, which needs only write access to @u.
			if c.sys.unlinkUser(id) != nil {
				return true
			}
		}
	}
	return true
}

// encodeCached is the payload of a cached key, one field a line:
//
//	oauthctl-kcache 1
//	<sha256 of the account index file, hex>
//	<provider>
//	<account>
//	<grant>
//	<client ID>
//	<expiry, Unix nanoseconds; 0 = unknown>
//	<issued at, Unix nanoseconds; 0 = unknown>
//	<refresh expiry, Unix nanoseconds; 0 = unknown>
//	<"-" for no scopes, else "+" and the scopes separated by spaces>
//	<access token>
func encodeCached(t *CachedToken, bind string) []byte {
	scopes := "-"
	if t.Scopes != nil {
		scopes = "+" + strings.Join(t.Scopes, " ")
	}
	return []byte(kernelCacheVersion + "\n" + bind + "\n" + t.Provider + "\n" + t.Account + "\n" + t.Grant + "\n" +
		t.ClientID + "\n" + unixNano(t.Expiry) + "\n" + unixNano(t.IssuedAt) + "\n" + unixNano(t.RefreshExpiry) + "\n" + scopes + "\n" +
		t.AccessToken)
}

// decodeCached parses a payload and checks it against bind; ok is false for
// anything else.
func decodeCached(p []byte, bind string) (*CachedToken, bool) {
	const fields = 11
	f := strings.SplitN(string(p), "\n", fields)
	if len(f) != fields || f[0] != kernelCacheVersion || f[1] != bind || f[2] == "" || f[10] == "" ||
		strings.ContainsAny(f[10], "\r\n\x00") {
		return nil, false
	}
	exp, ok1 := parseUnixNano(f[6])
	iat, ok2 := parseUnixNano(f[7])
	rexp, ok3 := parseUnixNano(f[8])
	if !ok1 || !ok2 || !ok3 {
		return nil, false
	}
	t := &CachedToken{Provider: f[2], Account: f[3], Grant: f[4], ClientID: f[5], AccessToken: f[10],
		Expiry: exp, IssuedAt: iat, RefreshExpiry: rexp}
	switch scopes := f[9]; {
	case scopes == "-":
	case scopes == "+":
		t.Scopes = []string{}
	case strings.HasPrefix(scopes, "+"):
		t.Scopes = strings.Split(scopes[1:], " ")
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
	// describe is KEYCTL_DESCRIBE: "type;uid;gid;perm;description" and a
	// NUL; it returns the full length.
	describe(id int, buf []byte) (int, error)
	// read is KEYCTL_READ; it returns the payload's full length.
	read(id int, buf []byte) (int, error)
	// add creates a "user" key in the calling thread's keyring.
	add(desc string, payload []byte) (int, error)
	setTimeout(id int, seconds uint) error
	setPerm(id int, perm uint32) error
	// linkUser links the key into @u, displacing a key of the same type and
	// description; unlinkUser removes it from @u.
	linkUser(id int) error
	unlinkUser(id int) error
	// unlinkStaged removes the key from the thread keyring add put it in.
	unlinkStaged(id int) error
	invalidate(id int) error
	// lockThread keeps the calling goroutine on its OS thread until the
	// returned function is called.
	lockThread() (unlock func())
}
