package session

import (
	"os"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// TestTokenFill covers when Token copies the access token into the kernel
// cache: only when the caller passes the index bytes its cache lookup read
// (cmd/front.Serve's miss), and never for --id-token or a failed request
// (TestCacheFillAndServe covers the rest of Fill's rules).
func TestTokenFill(t *testing.T) {
	t.Parallel()
	if _, err := unix.KeyctlGetKeyringID(unix.KEY_SPEC_USER_KEYRING, true); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the kernel keyring is unavailable: %v", err)
		}
		t.Skipf("the kernel keyring is unavailable: %v", err)
	}
	tests := []struct {
		name    string
		req     TokenRequest // Index is set from the file when withIdx
		withIdx bool
		wantErr bool
		want    bool
	}{
		{name: "index bytes given: filled", req: TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute}}, withIdx: true, want: true},
		{name: "no index bytes: not filled", req: TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute}}},
		{name: "--id-token: not filled", req: TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute, IDToken: true}}, withIdx: true},
		{name: "a failed request: not filled", req: TokenRequest{Provider: "google", Account: "nobody", Acquire: AcquireOptions{MinTTL: time.Minute}},
			withIdx: true, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t)
			e.now = time.Now() // the kernel cache's timeout runs on the real clock
			cache := keyring.NewKernelCache(e.paths.Index, "keychain", e.s.Getenv, time.Now)
			t.Cleanup(cache.Clear)
			e.s.Cache = func() *keyring.KernelCache { return cache }
			a := fakeAccount("https://t.example/token")
			a.Provider, a.Account = "google", "me"
			e.seed(t, a, &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", IDToken: fakeIDToken(e.now.Add(time.Hour)),
				TokenType: "Bearer", Expiry: e.now.Add(time.Hour)})
			index, err := os.ReadFile(e.paths.Index)
			if err != nil {
				t.Fatal(err)
			}
			req := tt.req
			if tt.withIdx {
				req.Index = index
			}
			_, _, err = e.s.Token(t.Context(), req)
			if (err != nil) != tt.wantErr {
				t.Fatalf("Token: %v, want an error %t", err, tt.wantErr)
			}
			got := hot.FromCache(cache, index, req.Provider, req.Account, hot.Options{MinTTL: time.Minute}, time.Now(), e.s.Getenv)
			if hit := got != nil; hit != tt.want {
				t.Fatalf("FromCache after Token: hit %t, want %t", hit, tt.want)
			}
			if got != nil && (got.Record.AccessToken != "fake-at" || got.Account.Key() != a.Key()) {
				t.Errorf("FromCache = %+v %+v", got.Account, got.Record)
			}
		})
	}
}
