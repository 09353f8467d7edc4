package cmd

import (
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestTokenMissReadsProvidersYAMLOnce: a `token` miss needs the user's
// providers.yaml twice, for the store choice (storeKind) and for the
// catalogue, and the production wiring reads it once for both
// (Factory.UserConfig), with the same checks and messages as before.
func TestTokenMissReadsProvidersYAMLOnce(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		env      map[string]string
		extra    string      // appended to providers.yaml
		mode     os.FileMode // of providers.yaml
		want     tkResult
		wantRead int32
	}{
		{name: "refresh", mode: 0o600, want: tkResult{out: "fake-at-new\n"}, wantRead: 1},
		{name: "store named in the environment", env: map[string]string{StoreEnv: StoreKeychain}, mode: 0o600,
			want: tkResult{out: "fake-at-new\n"}, wantRead: 1},
		{name: "kernel cache off", env: map[string]string{"OAUTHCTL_KERNEL_CACHE": "0"}, mode: 0o600,
			want: tkResult{out: "fake-at-new\n"}, wantRead: 1},
		{name: "file others can write", mode: 0o666, wantRead: 1,
			want: tkResult{code: ExitUsage, errOut: "oauthctl: CONFIG: is writable by other users (mode 0666) and decides where tokens are sent; run: chmod go-w CONFIG\n"}},
		{name: "unknown store in the file", extra: "store: file\n", mode: 0o600, wantRead: 1,
			want: tkResult{code: ExitUsage, errOut: "oauthctl: CONFIG:8: store: \"file\": want keychain or vault\n"}},
		{name: "unknown store in the environment", env: map[string]string{StoreEnv: "file"}, mode: 0o600, wantRead: 0,
			want: tkResult{code: ExitUsage, errOut: "oauthctl: configuration error: OAUTHCTL_STORE=\"file\": want keychain or vault\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`))
			e := newTkEnv(t, fixedYAML(ts.srv.URL)+tt.extra)
			for k, v := range tt.env {
				e.setenv(k, v)
			}
			e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
			cfg := e.getenv("OAUTHCTL_CONFIG")
			if err := os.Chmod(cfg, tt.mode); err != nil {
				t.Fatal(err)
			}
			var reads atomic.Int32
			read := func(getenv func(string) string) (auth.ConfigSource, error) {
				reads.Add(1)
				return readUserConfig(getenv)
			}
			ios, _, out, errOut := iostreams.Test()
			f := newFactory(t.Context(), ios, nil, "test", e.getenv, read)
			// The in-memory keychain; the store choice still runs (State,
			// KernelCache).
			f.Store = func() (keyring.Store, error) { return e.store, nil }
			code := Run(t.Context(), f, []string{"token", "fake"})
			got := tkResult{code: code, out: out.String(), errOut: strings.ReplaceAll(errOut.String(), cfg, "CONFIG")}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if n := reads.Load(); n != tt.wantRead {
				t.Errorf("providers.yaml read %d times, want %d", n, tt.wantRead)
			}
		})
	}
}
