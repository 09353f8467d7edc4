package keyring

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

// newTestKernelCache returns a cache on the real kernel keyring whose
// descriptions are unique to the test: other tests, and other people's
// tests on this machine, share the UID's user keyring. It skips when the
// kernel refuses keyctl (a container's seccomp profile), unless CI=true.
func newTestKernelCache(t *testing.T) (*KernelCache, *cacheFixture) {
	t.Helper()
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the kernel keyring is unavailable: %v", err)
		}
		t.Skipf("the kernel keyring is unavailable: %v", err)
	}
	// A path of its own: other test processes on this machine share the
	// UID's user keyring.
	path := filepath.Join(t.TempDir(), "index.json")
	c := newKernelCache(linuxKeyctl{}, path, "keychain", time.Now)
	fx := &cacheFixture{
		path:  path,
		req:   CacheRequest{Provider: "example"},
		index: []byte(`{"version":1,"accounts":[{"provider":"example","account":"alice@example.com","updated_at":"` + time.Now().Format(time.RFC3339Nano) + `"}]}`),
		tok: CachedToken{Provider: "example", Account: "alice@example.com", Grant: "authorization_code", ClientID: "fake-client",
			AccessToken: "fake-access-token-1", Expiry: time.Now().Add(time.Hour).UTC()},
	}
	t.Cleanup(func() { c.Invalidate(fx.tok.Key()) })
	return c, fx
}

// cacheFixture is a request, the index it is read with and a token.
type cacheFixture struct {
	path  string // the index path
	req   CacheRequest
	index []byte
	tok   CachedToken
}

func (fx *cacheFixture) with(access string, exp time.Time) *CachedToken {
	t := fx.tok
	t.AccessToken, t.Expiry = access, exp
	return &t
}

func TestKernelCacheHitAndMiss(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	if got, ok := c.Get(fx.req, fx.index); ok {
		t.Fatalf("Get before Put: hit %+v", got)
	}
	want := fx.with("fake-access-token-1", time.Now().Add(time.Hour).UTC())
	want.RefreshExpiry, want.Scopes = time.Now().Add(48*time.Hour).UTC(), []string{"openid", "email"}
	if err := c.Put(fx.req, fx.index, want); err != nil {
		t.Fatalf("Put: %v", err)
	}
	got, ok := c.Get(fx.req, fx.index)
	if !ok {
		t.Fatal("Get after Put: miss")
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("Get (-want +got):\n%s", diff)
	}

	// The key as the kernel holds it: in @u, owned by this UID, read-only,
	// nothing for group and others, with a timeout.
	id, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.description(fx.req), 0)
	if err != nil {
		t.Fatalf("the key is not in @u: %v", err)
	}
	d, _ := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id)
	if want := "user;" + strconv.Itoa(os.Geteuid()) + ";"; !strings.HasPrefix(d, want) ||
		!strings.Contains(d, ";"+strconv.FormatUint(keyPerm, 16)+";") {
		t.Errorf("KEYCTL_DESCRIBE = %q, want owner %s and permissions %08x", d, want, keyPerm)
	}
	if staged := keyringContents(t, unix.KEY_SPEC_THREAD_KEYRING); contains(staged, id) {
		t.Error("the key is still linked in a thread keyring")
	}
	if user := keyringContents(t, unix.KEY_SPEC_USER_KEYRING); !contains(user, id) {
		t.Error("the key is not linked in @u")
	}

	// The index changed since (a refresh, a login, a switch): a miss.
	changed := append([]byte(nil), fx.index...)
	changed[len(changed)-5]++
	if got, ok := c.Get(fx.req, changed); ok {
		t.Errorf("Get with a changed index: hit %+v", got)
	}
	// Another request: a miss.
	for _, req := range []CacheRequest{{}, {Provider: "example", Account: "alice@example.com"}, {Provider: "example2"}} {
		if got, ok := c.Get(req, fx.index); ok {
			t.Errorf("Get(%+v): hit %+v", req, got)
		}
	}
	// Another state directory, another store: a miss.
	other := newKernelCache(linuxKeyctl{}, filepath.Join(t.TempDir(), "index.json"), "keychain", time.Now)
	if got, ok := other.Get(fx.req, fx.index); ok {
		t.Errorf("Get with another index path: hit %+v", got)
	}
	vault := newKernelCache(linuxKeyctl{}, fx.path, "vault", time.Now)
	if got, ok := vault.Get(fx.req, fx.index); ok {
		t.Errorf("Get with another store: hit %+v", got)
	}
}

// TestKernelCacheLargeToken: an Entra ID access token can be several KiB;
// up to maxCachedToken it is cached and read back whole.
func TestKernelCacheLargeToken(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	for _, size := range []int{4000, 6000, maxCachedToken} {
		tok := fx.with("fake-"+strings.Repeat("x", size-5), time.Now().Add(time.Hour))
		if err := c.Put(fx.req, fx.index, tok); err != nil {
			t.Fatalf("Put of a %d-byte token: %v", size, err)
		}
		if got, ok := c.Get(fx.req, fx.index); !ok || got.AccessToken != tok.AccessToken {
			t.Errorf("Get of a %d-byte token: hit %t, same token %t", size, ok, ok && got.AccessToken == tok.AccessToken)
		}
	}
	if err := c.Put(fx.req, fx.index, fx.with(strings.Repeat("x", maxCachedToken+1), time.Now().Add(time.Hour))); err == nil {
		t.Error("Put of a token over maxCachedToken succeeded")
	}
}

func TestKernelCacheReplace(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	exp := time.Now().Add(time.Hour)
	for _, tok := range []string{"fake-access-token-1", "fake-access-token-2"} {
		if err := c.Put(fx.req, fx.index, fx.with(tok, exp)); err != nil {
			t.Fatalf("Put %s: %v", tok, err)
		}
	}
	got, ok := c.Get(fx.req, fx.index)
	if !ok || got.AccessToken != "fake-access-token-2" {
		t.Fatalf("Get after two Puts = %+v, %v; want the second token", got, ok)
	}
	n := 0
	for _, id := range keyringContents(t, unix.KEY_SPEC_USER_KEYRING) {
		if d, err := unix.KeyctlString(unix.KEYCTL_DESCRIBE, id); err == nil && strings.HasSuffix(d, ";"+c.description(fx.req)) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("@u links %d keys of the account, want 1 (the second Put displaces the first)", n)
	}
}

func TestKernelCacheExpiry(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	// Expires in about 1.5 s: the kernel timeout is 1 s (rounded down).
	if err := c.Put(fx.req, fx.index, fx.with("fake-access-token", time.Now().Add(1500*time.Millisecond))); err != nil {
		t.Fatalf("Put: %v", err)
	}
	if _, ok := c.Get(fx.req, fx.index); !ok {
		t.Fatal("Get right after Put: miss")
	}
	// The reader checks the expiry itself, whatever the kernel holds.
	late := *c
	late.now = func() time.Time { return time.Now().Add(2 * time.Second) }
	if got, ok := late.Get(fx.req, fx.index); ok {
		t.Errorf("Get after the expiry: hit %+v", got)
	}
	// The kernel drops the key by itself.
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.description(fx.req), 0)
		if err != nil {
			if !errors.Is(err, syscall.ENOKEY) && !errors.Is(err, syscall.EKEYEXPIRED) {
				t.Errorf("search after the timeout: %v, want ENOKEY or EKEYEXPIRED", err)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the kernel still holds the key 5 s after its timeout")
		}
		time.Sleep(100 * time.Millisecond)
	}

	// A token that expires within a second, or has already, is not cached.
	for _, exp := range []time.Time{time.Now().Add(500 * time.Millisecond), time.Now().Add(-time.Minute)} {
		if err := c.Put(fx.req, fx.index, fx.with("fake-access-token", exp)); err == nil {
			t.Errorf("Put of a token expiring at %v succeeded", exp)
		}
	}
}

func TestKernelCacheInvalidate(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	// The three requests that resolve to the account.
	reqs := []CacheRequest{{Provider: "example", Account: "alice@example.com"}, {Provider: "example"}, {}}
	for _, req := range reqs {
		if err := c.Put(req, fx.index, fx.with("fake-access-token", time.Now().Add(time.Hour))); err != nil {
			t.Fatalf("Put: %v", err)
		}
	}
	// Another process's view: a fresh cache value on the same state.
	reader := newKernelCache(linuxKeyctl{}, fx.path, "keychain", time.Now)
	c.Invalidate(fx.tok.Key())
	for _, req := range reqs {
		if got, ok := reader.Get(req, fx.index); ok {
			t.Errorf("Get(%+v) after Invalidate: hit %+v", req, got)
		}
	}
	c.Invalidate(fx.tok.Key()) // nothing cached: no error, no panic
}

func TestKernelCacheClear(t *testing.T) {
	t.Parallel()
	c, fx := newTestKernelCache(t)
	other := newKernelCache(linuxKeyctl{}, filepath.Join(t.TempDir(), "index.json"), "keychain", time.Now)
	t.Cleanup(other.Clear)
	reqs := []CacheRequest{{Provider: "example", Account: "alice@example.com"}, {Provider: "example"}, {}, {Provider: "p2", Account: "x"}}
	for _, req := range reqs {
		for _, cc := range []*KernelCache{c, other} {
			if err := cc.Put(req, fx.index, fx.with("fake-access-token", time.Now().Add(time.Hour))); err != nil {
				t.Fatalf("Put: %v", err)
			}
		}
	}
	c.Clear()
	for _, req := range reqs {
		if got, ok := c.Get(req, fx.index); ok {
			t.Errorf("Get(%+v) after Clear: hit %+v", req, got)
		}
		if _, ok := other.Get(req, fx.index); !ok {
			t.Errorf("Get(%+v) of another state directory after Clear: miss", req)
		}
	}
}

// TestKernelCacheIgnoresForeignKeys puts keys under the account's
// description that the cache did not write, or not for this entry: each is a
// miss, never a token.
func TestKernelCacheIgnoresForeignKeys(t *testing.T) {
	t.Parallel()
	exp := time.Now().Add(time.Hour)
	tests := []struct {
		name    string
		payload func(fx *cacheFixture) []byte
		perm    uint32
		chown   bool // give the key to another UID (root only)
	}{
		{name: "plain token", payload: func(*cacheFixture) []byte { return []byte("fake-planted-token") }, perm: keyPerm},
		{name: "payload for another index", payload: func(fx *cacheFixture) []byte {
			return encodeCached(fx.with("fake-planted-token", exp), binding(append(fx.index, ' ')))
		}, perm: keyPerm},
		{name: "readable by others", payload: func(fx *cacheFixture) []byte {
			return encodeCached(fx.with("fake-planted-token", exp), binding(fx.index))
		}, perm: keyPerm | 0x3f},
		{name: "writable", payload: func(fx *cacheFixture) []byte {
			return encodeCached(fx.with("fake-planted-token", exp), binding(fx.index))
		}, perm: keyPerm | keyPosWrite},
		{name: "owned by another UID", payload: func(fx *cacheFixture) []byte {
			return encodeCached(fx.with("fake-planted-token", exp), binding(fx.index))
		}, perm: keyPerm, chown: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if tt.chown && os.Geteuid() != 0 {
				t.Skip("only root can give a key to another UID")
			}
			c, fx := newTestKernelCache(t)
			id, err := unix.AddKey("user", c.description(fx.req), tt.payload(fx), unix.KEY_SPEC_USER_KEYRING)
			if err != nil {
				t.Fatalf("add_key: %v", err)
			}
			t.Cleanup(func() { _, _ = unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0) })
			if _, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, 60, 0, 0); err != nil {
				t.Fatalf("set timeout: %v", err)
			}
			if tt.chown {
				if _, err := unix.KeyctlInt(unix.KEYCTL_CHOWN, id, 65534, -1, 0); err != nil {
					t.Fatalf("chown: %v", err)
				}
			}
			if err := unix.KeyctlSetperm(id, tt.perm); err != nil {
				t.Fatalf("setperm: %v", err)
			}
			if tt.chown { // the planted key is readable: only the owner check stops it
				var buf [256]byte
				if _, err := unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf[:], 0); err != nil {
					t.Fatalf("the planted key is not readable, the test proves nothing: %v", err)
				}
			}
			if got, ok := c.Get(fx.req, fx.index); ok {
				t.Errorf("Get: hit %+v from a planted key", got)
			}
			// Invalidate removes it as well, or at least unlinks it.
			c.Invalidate(fx.tok.Key())
			if _, err := unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", c.description(fx.req), 0); err == nil {
				t.Error("Invalidate left the planted key in @u")
			}
		})
	}
}

// keyringContents lists the keys linked in a keyring.
func keyringContents(t *testing.T, ring int) []int {
	t.Helper()
	var buf [4096]byte
	n, err := unix.KeyctlBuffer(unix.KEYCTL_READ, ring, buf[:], 0)
	if err != nil {
		if errors.Is(err, syscall.ENOKEY) {
			return nil
		}
		t.Fatalf("reading keyring %d: %v", ring, err)
	}
	var ids []int
	for i := 0; i+4 <= min(n, len(buf)); i += 4 {
		ids = append(ids, int(int32(binary.NativeEndian.Uint32(buf[i:]))))
	}
	return ids
}

func contains(ids []int, id int) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}
