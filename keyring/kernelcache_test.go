package keyring

import (
	"errors"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestCachedPayloadRoundTrip(t *testing.T) {
	t.Parallel()
	exp := time.Date(2026, 12, 3, 15, 4, 5, 123456789, time.UTC)
	bind := binding([]byte(`{"version":1}`))
	tests := []struct {
		name string
		tok  CachedToken
	}{
		{"all fields", CachedToken{Provider: "p", Account: "a@example.com", Grant: "authorization_code", ClientID: "cid",
			AccessToken: "fake-at", Expiry: exp, IssuedAt: exp.Add(-time.Hour), RefreshExpiry: exp.Add(time.Hour), Scopes: []string{"openid", "email"}}},
		{"unknown expiry, no scopes", CachedToken{Provider: "p", AccessToken: "fake-at"}},
		{"empty scope list", CachedToken{Provider: "p", Account: "client", Grant: "client_credentials", AccessToken: "fake-at",
			Expiry: exp, Scopes: []string{}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, ok := decodeCached(encodeCached(&tt.tok, bind), bind)
			if !ok {
				t.Fatal("decodeCached rejected what encodeCached wrote")
			}
			if diff := cmp.Diff(&tt.tok, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCachedPayloadRejected(t *testing.T) {
	t.Parallel()
	bind := binding([]byte(`{"version":1}`))
	good := string(encodeCached(&CachedToken{Provider: "p", AccessToken: "fake-at"}, bind))
	head := kernelCacheVersion + "\n" + bind + "\np\na\n\n\n0\n"
	tests := []struct {
		name    string
		payload string
	}{
		{"empty", ""},
		{"other version", "oauthctl-kcache 2" + good[len(kernelCacheVersion):]},
		{"other index", string(encodeCached(&CachedToken{Provider: "p", AccessToken: "fake-at"}, binding([]byte(`{"version":1} `))))},
		{"no token", head + "0\n0\n-\n"},
		{"no provider", kernelCacheVersion + "\n" + bind + "\n\na\n\n\n0\n0\n0\n-\nfake-at"},
		{"token with a line break", head + "0\n0\n-\nfake\nat"},
		{"too few fields", kernelCacheVersion + "\n" + bind + "\np\na\n\n0\n0\n0\n-\nfake-at"},
		{"bad issued at", head + "soon\n0\n-\nfake-at"},
		{"negative time", head + "-5\n0\n-\nfake-at"},
		{"bad scopes field", head + "0\n0\nopenid\nfake-at"},
		{"plain token", "fake-at"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			if got, ok := decodeCached([]byte(tt.payload), bind); ok {
				t.Errorf("decodeCached accepted %q: %+v", tt.payload, got)
			}
		})
	}
}

// failingKeyctl answers every call with err, as a kernel without keyctl
// (ENOSYS) or a seccomp profile that blocks it (EPERM) does.
type failingKeyctl struct {
	err   error
	calls int
}

func (f *failingKeyctl) fail() error                       { f.calls++; return f.err }
func (f *failingKeyctl) uid() int                          { return 1000 }
func (f *failingKeyctl) search(string) (int, error)        { return 0, f.fail() }
func (f *failingKeyctl) describe(int, []byte) (int, error) { return 0, f.fail() }
func (f *failingKeyctl) read(int, []byte) (int, error)     { return 0, f.fail() }
func (f *failingKeyctl) add(string, []byte) (int, error)   { return 0, f.fail() }
func (f *failingKeyctl) setTimeout(int, uint) error        { return f.fail() }
func (f *failingKeyctl) setPerm(int, uint32) error         { return f.fail() }
func (f *failingKeyctl) linkUser(int) error                { return f.fail() }
func (f *failingKeyctl) unlinkUser(int) error              { return f.fail() }
func (f *failingKeyctl) unlinkStaged(int) error            { return f.fail() }
func (f *failingKeyctl) lockThread() func()                { return func() {} }
func (f *failingKeyctl) invalidate(int) error              { return f.fail() }

func TestKernelCacheUnavailable(t *testing.T) {
	t.Parallel()
	req := CacheRequest{Provider: "p"}
	index := []byte(`{"version":1}`)
	tok := &CachedToken{Provider: "p", Account: "a", AccessToken: "fake-at", Expiry: time.Now().Add(time.Hour)}
	for _, errno := range []syscall.Errno{syscall.ENOSYS, syscall.EPERM, syscall.EACCES, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			t.Parallel()
			sys := &failingKeyctl{err: errno}
			c := newKernelCache(sys, "/state/index.json", "keychain", time.Now)
			if err := c.Put(req, index, tok); !errors.Is(err, errno) {
				t.Errorf("Put: got %v, want %v", err, errno)
			}
			if got, ok := c.Get(req, index); ok {
				t.Errorf("Get: a hit %+v from a failing kernel", got)
			}
			c.Invalidate(tok.Key())
			if sys.calls != 3 { // add, search, search
				t.Errorf("%d keyctl calls, want 3: one try each, no retry loop", sys.calls)
			}
		})
	}
}

func TestKernelCacheDisabled(t *testing.T) {
	t.Parallel()
	req := CacheRequest{Provider: "p", Account: "a"}
	for _, v := range []string{"0", "false", "OFF", "no"} {
		t.Run(v, func(t *testing.T) {
			t.Parallel()
			c := NewKernelCache("/state/index.json", "keychain", func(k string) string {
				if k == KernelCacheEnv {
					return v
				}
				return ""
			}, time.Now)
			if c.Enabled() {
				t.Fatalf("%s=%s: cache enabled", KernelCacheEnv, v)
			}
			if err := c.Put(req, nil, &CachedToken{Provider: "p", AccessToken: "fake-at"}); err == nil {
				t.Error("Put on a disabled cache succeeded")
			}
			if _, ok := c.Get(req, nil); ok {
				t.Error("Get on a disabled cache hit")
			}
		})
	}
	var nilCache *KernelCache
	if _, ok := nilCache.Get(req, nil); ok || nilCache.Enabled() {
		t.Error("a nil cache answers")
	}
	nilCache.Invalidate(Key{Provider: "p", Account: "a"})
}
