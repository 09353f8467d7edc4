package cmd

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
)

// TestEnvPathsConfigError: a relative OAUTHCTL_LOCK_DIR or OAUTHCTL_STATE_DIR
// is a configuration error, reported once with exit 2 (the README's table),
// by the production wiring, whatever command meets it first.
func TestEnvPathsConfigError(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		env  map[string]string
		args string
		want tkResult
	}{
		{name: "relative lock dir, token", env: map[string]string{"OAUTHCTL_LOCK_DIR": "relative"}, args: "token fake",
			want: tkResult{code: ExitUsage, errOut: "oauthctl: OAUTHCTL_LOCK_DIR must be an absolute path, not \"relative\"\n"}},
		{name: "relative lock dir, status", env: map[string]string{"OAUTHCTL_LOCK_DIR": "relative"}, args: "status",
			want: tkResult{code: ExitUsage, errOut: "oauthctl: OAUTHCTL_LOCK_DIR must be an absolute path, not \"relative\"\n"}},
		{name: "relative state dir, token", env: map[string]string{"OAUTHCTL_STATE_DIR": "state"}, args: "token fake",
			want: tkResult{code: ExitUsage, errOut: "oauthctl: OAUTHCTL_STATE_DIR must be an absolute path, not \"state\"\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			cfg := filepath.Join(dir, "providers.yaml")
			if err := os.WriteFile(cfg, []byte(fixedYAML("https://t.example/token")), 0o600); err != nil {
				t.Fatal(err)
			}
			env := map[string]string{"HOME": dir, "OAUTHCTL_CONFIG": cfg, "OAUTHCTL_STORE": "keychain",
				"OAUTHCTL_STATE_DIR": filepath.Join(dir, "state"), "OAUTHCTL_LOCK_DIR": filepath.Join(dir, "locks"),
				"OAUTHCTL_KERNEL_CACHE": "0"}
			for k, v := range tt.env {
				env[k] = v
			}
			ios, _, out, errOut := iostreams.Test()
			f := newFactory(t.Context(), ios, nil, "test", func(k string) string { return env[k] }, readUserConfig)
			code := Run(t.Context(), f, strings.Fields(tt.args))
			got := tkResult{code: code, out: out.String(), errOut: errOut.String()}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}
