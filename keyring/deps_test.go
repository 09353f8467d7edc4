package keyring_test

import (
	"errors"
	"os"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestKeyringDeps: package keyring links none of the heavy packages. The
// small front binary that serves `oauthctl token` from the kernel keyring
// cache or one keychain read (issue 14) imports keyring, and every package
// it links costs start-up time on every run (net/http with crypto/tls about
// 0.9 ms). So the Vault backend, which speaks HTTP, lives in keyring/vault,
// and keyring must not pull in net/http, TLS, the CLI framework, the YAML
// parser or the TUI, on any of the systems oauthctl ships for.
func TestKeyringDeps(t *testing.T) {
	if _, err := exec.LookPath("go"); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the go command is missing (CI=true requires it): %v", err)
		}
		t.Skipf("the go command is missing: %v", err)
	}
	forbidden := []string{
		"net/http",
		"crypto/tls",
		"github.com/spf13/cobra",
		"go.yaml.in/yaml/v3",
		"charm.land/bubbletea/v2",
	}
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			cmd := exec.CommandContext(t.Context(), "go", "list", "-deps", "github.com/oauthctl/oauthctl/keyring")
			cmd.Env = append(os.Environ(), "GOOS="+goos)
			out, err := cmd.Output()
			if err != nil {
				var stderr []byte
				var ee *exec.ExitError
				if errors.As(err, &ee) {
					stderr = ee.Stderr
				}
				t.Fatalf("go list -deps: %v\n%s", err, stderr)
			}
			deps := strings.Fields(string(out))
			if !slices.Contains(deps, "github.com/oauthctl/oauthctl/keyring") {
				t.Fatalf("go list -deps did not list keyring itself:\n%s", out)
			}
			for _, pkg := range forbidden {
				if slices.Contains(deps, pkg) {
					t.Errorf("keyring depends on %s (GOOS=%s); keep it out of the front binary's path (run `go list -deps` to see which import brings it)", pkg, goos)
				}
			}
		})
	}
}
