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
	bind := binding(&Account{Provider: "p", Account: "a"})
	tests := []struct {
		name string
		tok  CachedToken
	}{
		{"all fields", CachedToken{AccessToken: "fake-at", Expiry: exp, RefreshExpiry: exp.Add(time.Hour), Scopes: []string{"openid", "email"}}},
		{"unknown expiry, no scopes", CachedToken{AccessToken: "fake-at"}},
		{"empty scope list", CachedToken{AccessToken: "fake-at", Expiry: exp, Scopes: []string{}}},
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
	bind := binding(&Account{Provider: "p", Account: "a"})
	good := string(encodeCached(&CachedToken{AccessToken: "fake-at"}, bind))
	tests := []struct {
		name    string
		payload string
	}{
		{"empty", ""},
		{"other version", "oauthctl-kcache 2" + good[len(kernelCacheVersion):]},
		{"other binding", string(encodeCached(&CachedToken{AccessToken: "fake-at"}, binding(&Account{Provider: "p", Account: "b"})))},
		{"no token", kernelCacheVersion + "\n" + bind + "\n0\n0\n-\n"},
		{"token with a line break", kernelCacheVersion + "\n" + bind + "\n0\n0\n-\nfake\nat"},
		{"too few fields", kernelCacheVersion + "\n" + bind + "\n0\n-\nfake-at"},
		{"bad expiry", kernelCacheVersion + "\n" + bind + "\nsoon\n0\n-\nfake-at"},
		{"negative expiry", kernelCacheVersion + "\n" + bind + "\n-5\n0\n-\nfake-at"},
		{"bad scopes field", kernelCacheVersion + "\n" + bind + "\n0\n0\nopenid\nfake-at"},
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

// TestBindingCoversTheIndexEntry checks that every field that ties a token
// to its login changes the binding: a cached token of an entry that has
// changed since is a miss.
func TestBindingCoversTheIndexEntry(t *testing.T) {
	t.Parallel()
	base := Account{Provider: "p", Account: "a", Issuer: "https://issuer.example", TokenURL: "https://issuer.example/token",
		ClientID: "cid", Subject: "sub", Grant: "authorization_code", UpdatedAt: time.Unix(1, 5)}
	changes := map[string]func(*Account){
		"provider":   func(a *Account) { a.Provider = "q" },
		"account":    func(a *Account) { a.Account = "b" },
		"issuer":     func(a *Account) { a.Issuer = "https://other.example" },
		"token url":  func(a *Account) { a.TokenURL = "https://issuer.example/token2" },
		"client id":  func(a *Account) { a.ClientID = "cid2" },
		"subject":    func(a *Account) { a.Subject = "sub2" },
		"grant":      func(a *Account) { a.Grant = "client_credentials" },
		"updated at": func(a *Account) { a.UpdatedAt = a.UpdatedAt.Add(time.Nanosecond) },
		"boundaries": func(a *Account) { a.Issuer, a.TokenURL = a.Issuer+"x", a.TokenURL[1:] },
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			a := base
			change(&a)
			if binding(&a) == binding(&base) {
				t.Errorf("changing the %s keeps the binding", name)
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

func (f *failingKeyctl) fail() error                     { f.calls++; return f.err }
func (f *failingKeyctl) uid() int                        { return 1000 }
func (f *failingKeyctl) search(string) (int, error)      { return 0, f.fail() }
func (f *failingKeyctl) describe(int) (string, error)    { return "", f.fail() }
func (f *failingKeyctl) read(int, []byte) (int, error)   { return 0, f.fail() }
func (f *failingKeyctl) add(string, []byte) (int, error) { return 0, f.fail() }
func (f *failingKeyctl) setTimeout(int, uint) error      { return f.fail() }
func (f *failingKeyctl) setPerm(int, uint32) error       { return f.fail() }
func (f *failingKeyctl) linkUser(int) error              { return f.fail() }
func (f *failingKeyctl) unlinkUser(int) error            { return f.fail() }
func (f *failingKeyctl) unlinkFromProcess(int) error     { return f.fail() }
func (f *failingKeyctl) invalidate(int) error            { return f.fail() }

func TestKernelCacheUnavailable(t *testing.T) {
	t.Parallel()
	acct := &Account{Provider: "p", Account: "a"}
	tok := &CachedToken{AccessToken: "fake-at", Expiry: time.Now().Add(time.Hour)}
	for _, errno := range []syscall.Errno{syscall.ENOSYS, syscall.EPERM, syscall.EACCES, syscall.EDQUOT} {
		t.Run(errno.Error(), func(t *testing.T) {
			t.Parallel()
			sys := &failingKeyctl{err: errno}
			c := newKernelCache(sys, "/state/index.json", "keychain", time.Now)
			if err := c.Put(acct, tok); !errors.Is(err, errno) {
				t.Errorf("Put: got %v, want %v", err, errno)
			}
			if got, ok := c.Get(acct); ok {
				t.Errorf("Get: a hit %+v from a failing kernel", got)
			}
			c.Invalidate(acct.Key())
			if sys.calls != 3 { // add, search, search
				t.Errorf("%d keyctl calls, want 3: one try each, no retry loop", sys.calls)
			}
		})
	}
}

func TestKernelCacheDisabled(t *testing.T) {
	t.Parallel()
	acct := &Account{Provider: "p", Account: "a"}
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
			if err := c.Put(acct, &CachedToken{AccessToken: "fake-at"}); err == nil {
				t.Error("Put on a disabled cache succeeded")
			}
			if _, ok := c.Get(acct); ok {
				t.Error("Get on a disabled cache hit")
			}
		})
	}
	var nilCache *KernelCache
	if _, ok := nilCache.Get(acct); ok || nilCache.Enabled() {
		t.Error("a nil cache answers")
	}
	nilCache.Invalidate(acct.Key())
}
