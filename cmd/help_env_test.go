package cmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// envReadRE finds the environment variables the code reads by name:
// getenv("X"), Getenv("X"), LookupEnv("X") and constants named ...Env = "X".
var envReadRE = regexp.MustCompile(`(?:[gG]etenv|LookupEnv)\("([A-Z][A-Z0-9_]*)"\)|Env\s*=\s*"([A-Z][A-Z0-9_]*)"|"OAUTHCTL_"\s*\+\s*EnvName\([^)]*\)\s*\+\s*"(_[A-Z_]+)"`)

// envByLibraries are read by libraries, not by our code: the proxy settings
// (net/http.ProxyFromEnvironment) and the D-Bus session bus (godbus, for the
// Secret Service).
var envByLibraries = []string{"HTTPS_PROXY", "HTTP_PROXY", "NO_PROXY", "DBUS_SESSION_BUS_ADDRESS"}

// envSetNotRead are documented because oauthctl sets them, not reads them.
var envSetNotRead = []string{"OAUTHCTL_ACCESS_TOKEN"}

// TestEnvironmentHelpCoversCode greps the program's Go files (not tests, not
// test helpers) for the environment variables they read and checks that
// `oauthctl help environment` lists exactly those, plus the ones libraries
// read: a variable added to the code without documentation fails here.
func TestEnvironmentHelpCoversCode(t *testing.T) {
	t.Parallel()
	read := map[string]bool{}
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "testdata", ".git", "scripts", "testkeyring", "testvault", "testop", "nodeop", "testkube", "fakeas", "bench":
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		for _, m := range envReadRE.FindAllStringSubmatch(string(data), -1) {
			switch {
			case m[1] != "":
				read[m[1]] = true
			case m[2] != "":
				read[m[2]] = true
			case m[3] != "":
				read["OAUTHCTL_<NAME>"+m[3]] = true
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, must := range []string{"OAUTHCTL_CONFIG", "OAUTHCTL_<NAME>_CLIENT_ID", "NO_COLOR"} {
		if !read[must] {
			t.Fatalf("the grep did not find %s: the pattern no longer matches how the code reads variables", must)
		}
	}
	for _, v := range append(slices.Clone(envByLibraries), envSetNotRead...) {
		read[v] = true
	}
	delete(read, "OAUTHCTL_ACCESS_TOKEN") // DefaultExecEnv: set, not read
	read["OAUTHCTL_ACCESS_TOKEN"] = true

	documented := map[string]bool{}
	for _, line := range strings.Split(environmentHelp, "\n") {
		if !strings.HasPrefix(line, "  ") || strings.HasPrefix(line, "   ") {
			continue
		}
		names, _, _ := strings.Cut(strings.TrimSpace(line), "  ")
		for _, n := range strings.Split(names, ", ") {
			documented[strings.TrimSpace(n)] = true
		}
	}
	keys := func(m map[string]bool) []string {
		return slices.Sorted(func(yield func(string) bool) {
			for k := range m {
				if !yield(k) {
					return
				}
			}
		})
	}
	if diff := cmp.Diff(keys(read), keys(documented)); diff != "" {
		t.Errorf("variables read by the code (-) vs listed by `oauthctl help environment` (+):\n%s", diff)
	}
}

// TestHelpEnvironment: `help environment` prints the list on stdout, fits
// 80 columns, and exits 0.
func TestHelpEnvironment(t *testing.T) {
	t.Parallel()
	res := newAcEnv(t, "").run("help", "environment")
	if res.code != 0 || res.errOut != "" {
		t.Fatalf("exit %d, stderr %q", res.code, res.errOut)
	}
	for _, line := range strings.Split(res.out, "\n") {
		if len([]rune(line)) > 80 {
			t.Errorf("line longer than 80 columns: %q", line)
		}
	}
	assertGolden(t, "help/environment.golden", res.out)
}

func TestVersionString(t *testing.T) {
	t.Parallel()
	bi := func(main string, settings ...string) func() (*debug.BuildInfo, bool) {
		return func() (*debug.BuildInfo, bool) {
			b := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Path: "github.com/oauthctl/oauthctl", Version: main}}
			for i := 0; i+1 < len(settings); i += 2 {
				b.Settings = append(b.Settings, debug.BuildSetting{Key: settings[i], Value: settings[i+1]})
			}
			return b, true
		}
	}
	tests := []struct {
		name   string
		linked string
		read   func() (*debug.BuildInfo, bool)
		want   string
	}{
		{"linked wins", "v9.9.9", bi("v1.2.3"), "v9.9.9"},
		{"go install @version", "", bi("v1.2.3"), "v1.2.3 go1.26.0"},
		{"go build in a checkout", "", bi("v0.0.0-20261203140512-6591aa5abcde+dirty",
			"vcs.revision", "6591aa5abcde0123456789", "vcs.time", "2026-12-03T14:05:12Z", "vcs.modified", "true"),
			"devel 6591aa5abcde (2026-12-03T14:05:12Z, modified) go1.26.0"},
		{"clean checkout, devel", "dev", bi("(devel)", "vcs.revision", "6591aa5abcde0123456789", "vcs.time", "2026-12-03T14:05:12Z"),
			"devel 6591aa5abcde (2026-12-03T14:05:12Z) go1.26.0"},
		{"no vcs", "", bi("(devel)"), "devel (built without version control information) go1.26.0"},
		{"no build info", "", func() (*debug.BuildInfo, bool) { return nil, false }, "devel (no build information)"},
	}
	for _, tt := range tests {
		if got := versionString(tt.linked, tt.read); got != tt.want {
			t.Errorf("%s: versionString = %q, want %q", tt.name, got, tt.want)
		}
		if got := versionString(tt.linked, tt.read); got == "dev" || got == "" {
			t.Errorf("%s: bare %q", tt.name, got)
		}
	}
}

// TestUnknownProviderSuggestion: a mistyped provider name is exit 2 with the
// known names and a "did you mean" line.
func TestUnknownProviderSuggestion(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"token", []string{"token", "googel"}, "oauthctl: unknown provider \"googel\" (known: github, gitlab, google, microsoft)\ndid you mean \"google\"?\n"},
		{"login", []string{"login", "gitlub"}, "oauthctl: unknown provider \"gitlub\" (known: github, gitlab, google, microsoft)\ndid you mean \"github\"?\n"},
		{"nothing close", []string{"token", "okta"}, "oauthctl: unknown provider \"okta\" (known: github, gitlab, google, microsoft)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			res := newAcEnv(t, "").run(tt.args...)
			if res.code != ExitUsage || res.out != "" || res.errOut != tt.want {
				t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", res.code, res.out, res.errOut, tt.want)
			}
		})
	}
}
