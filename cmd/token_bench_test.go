package cmd

import (
	"context"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/keyring"
)

// benchFactory is a Factory for the token hot path over store, with a
// seeded index in a temp directory. Catalogue and HTTPClient fail the
// benchmark if the hot path touches them.
func benchFactory(b *testing.B, store keyring.Store, key keyring.Key) *Factory {
	b.Helper()
	dir := b.TempDir()
	paths := keyring.Paths{Index: dir + "/state/accounts.json", LockDir: dir + "/run"}
	exp := time.Now().Add(24 * time.Hour)
	if err := store.Save(b.Context(), key, &keyring.Record{AccessToken: "fake-bench-access-token", RefreshToken: "fake-bench-refresh-token",
		TokenType: "Bearer", Expiry: exp, Scopes: []string{"openid", "email"}}); err != nil {
		b.Fatal(err)
	}
	if err := keyring.UpdateIndex(b.Context(), paths, func(ix *keyring.Index) error {
		ix.Put(keyring.Account{Provider: key.Provider, Account: key.Account, Issuer: "https://bench.example", TokenURL: "https://bench.example/token",
			ClientID: "fake-client", Scopes: []string{"openid", "email"}, Expiry: exp, Refreshable: true, Grant: "authorization_code"})
		return nil
	}); err != nil {
		b.Fatal(err)
	}
	return &Factory{
		IO:      &iostreams.IOStreams{In: &emptyReader{}, Out: io.Discard, ErrOut: io.Discard},
		Getenv:  func(string) string { return "" },
		Now:     time.Now,
		Version: "bench",
		Store:   func() (keyring.Store, error) { return store, nil },
		Paths:   func() (keyring.Paths, error) { return paths, nil },
		Catalogue: func() (*auth.Catalogue, error) {
			b.Fatal("the hot path loaded the catalogue")
			return nil, nil
		},
		HTTPClient: func() *http.Client {
			b.Fatal("the hot path built an HTTP client")
			return nil
		},
	}
}

type emptyReader struct{}

func (*emptyReader) Read([]byte) (int, error) { return 0, io.EOF }

// BenchmarkTokenHotPath measures `oauthctl token bench` in process, from
// argv to printed token, with the in-memory store: command construction,
// the index, one store read, the output. Process start-up and the keychain
// round trip are what scripts/bench-token.sh adds.
func BenchmarkTokenHotPath(b *testing.B) {
	key := keyring.Key{Provider: "bench", Account: "me"}
	f := benchFactory(b, keyring.NewMemory(), key)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if code := Run(ctx, f, []string{"token", "bench"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkTokenHotPathKernelCache is BenchmarkTokenHotPath answered by the
// kernel keyring cache (Linux): the index file, three keyctl calls, no store
// read after the first call.
func BenchmarkTokenHotPathKernelCache(b *testing.B) {
	key := keyring.Key{Provider: "bench", Account: "me"}
	f := benchFactory(b, keyring.NewMemory(), key)
	paths, _ := f.Paths()
	kc := keyring.NewKernelCache(paths.Index, "keychain", f.Getenv, time.Now)
	if !kc.Enabled() {
		b.Skip("no kernel keyring cache on this platform")
	}
	b.Cleanup(kc.Clear)
	f.KernelCache = func() *keyring.KernelCache { return kc }
	ctx := context.Background()
	if code := Run(ctx, f, []string{"token", "bench"}); code != 0 {
		b.Fatalf("exit %d", code)
	}
	f.Store = func() (keyring.Store, error) {
		b.Fatal("a cache hit read the store")
		return nil, nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if code := Run(ctx, f, []string{"token", "bench"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkTokenHotPathKeychain is BenchmarkTokenHotPath against the real
// Secret Service (the private gnome-keyring of internal/testkeyring).
func BenchmarkTokenHotPathKeychain(b *testing.B) {
	testkeyring.Require(b)
	key := keyring.Key{Provider: "bench", Account: tkBenchAccount()}
	kc := keyring.NewKeychain()
	f := benchFactory(b, kc, key)
	b.Cleanup(func() { _ = kc.Delete(context.Background(), key) })
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if code := Run(ctx, f, []string{"token", "bench"}); code != 0 {
			b.Fatalf("exit %d", code)
		}
	}
}

// BenchmarkNewCmdRoot measures building the whole command tree, which Main
// does on every run.
func BenchmarkNewCmdRoot(b *testing.B) {
	ios, _, _, _ := iostreams.Test()
	f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
	b.ReportAllocs()
	for b.Loop() {
		_ = NewCmdRoot(f)
	}
}

func tkBenchAccount() string { return "bench-" + time.Now().Format("150405.000000000") }
