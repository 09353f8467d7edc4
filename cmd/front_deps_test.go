package cmd

import (
	"os"
	"os/exec"
	"slices"
	"sort"
	"strings"
	"testing"
)

// frontForbidden are packages the front binary must not link. The front
// exists for start-up time (issue 14): Go runs the initializers of every
// linked package before main and faults in their code, and these (HTTP and
// TLS, the command-line and YAML parsers, the terminal UI, OAuth and OIDC,
// the protocol and use-case layers above session/hot) cost the most while
// `token` on its hot path uses none of them; the full program has them.
var frontForbidden = []string{
	"net/http",
	"crypto/tls",
	"github.com/spf13/cobra",
	"github.com/spf13/pflag",
	"go.yaml.in/yaml/v3",
	"charm.land/bubbletea/v2",
	"golang.org/x/oauth2",
	"github.com/coreos/go-oidc/v3/oidc",
	"github.com/oauthctl/oauthctl/auth",
	"github.com/oauthctl/oauthctl/session", // session/hot is allowed
}

// TestFrontDependencies: the front binary (cmd/oauthctl) links none of
// frontForbidden, on Linux, macOS or Windows. A failure names who imports
// each.
func TestFrontDependencies(t *testing.T) {
	t.Parallel()
	for _, goos := range []string{"linux", "darwin", "windows"} {
		t.Run(goos, func(t *testing.T) {
			t.Parallel()
			frontDependencies(t, goos)
		})
	}
}

func frontDependencies(t *testing.T, goos string) {
	c := exec.CommandContext(t.Context(), "go", "list", "-deps", "-f", "{{.ImportPath}} {{join .Imports \" \"}}", frontPackage)
	c.Env = append(os.Environ(), "GOOS="+goos)
	out, err := c.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("go list -deps %s: %v\n%s", frontPackage, err, stderr)
	}
	deps := map[string][]string{} // package -> its imports
	for line := range strings.Lines(string(out)) {
		f := strings.Fields(line)
		if len(f) > 0 {
			deps[f[0]] = f[1:]
		}
	}
	if _, ok := deps[frontPackage]; !ok {
		t.Fatalf("go list -deps %s does not list the package itself:\n%s", frontPackage, out)
	}
	for _, bad := range frontForbidden {
		if _, ok := deps[bad]; !ok {
			continue
		}
		var importers []string
		for pkg, imports := range deps {
			if slices.Contains(imports, bad) {
				importers = append(importers, pkg)
			}
		}
		sort.Strings(importers)
		t.Errorf("the front links %s (imported by %s)", bad, strings.Join(importers, ", "))
	}
}
