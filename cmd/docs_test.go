package cmd

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// overstrike matches groff's bold and underline on a terminal: a character
// and a backspace before the character drawn over it.
var overstrike = regexp.MustCompile(".\x08")

// TestDocsMan writes the man pages and renders every one with groff,
// which must not warn; the pages carry the commands' help text.
func TestDocsMan(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "man")
	res := newAcEnv(t, "").run("docs", "man", dir)
	if res.code != 0 || res.out != "" {
		t.Fatalf("exit %d, stdout %q, stderr %q", res.code, res.out, res.errOut)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"oauthctl.1", "oauthctl-login.1", "oauthctl-token.1", "oauthctl-providers-add.1", "oauthctl-client-set.1", "oauthctl-docs-man.1"} {
		if !strings.Contains(" "+strings.Join(names, " ")+" ", " "+want+" ") {
			t.Errorf("no %s among %v", want, names)
		}
	}
	if !strings.Contains(res.errOut, "Wrote ") {
		t.Errorf("stderr %q", res.errOut)
	}
	groff, err := exec.LookPath("groff")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("groff is missing (CI installs groff-base)")
		}
		t.Skip("groff is not installed: the pages are not rendered")
	}
	for _, n := range names {
		var out, errOut bytes.Buffer
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", filepath.Join(dir, n))
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil || errOut.Len() > 0 {
			t.Errorf("groff %s: %v\n%s", n, err, errOut.String())
		}
		text := strings.Join(strings.Fields(overstrike.ReplaceAllString(out.String(), "")), " ")
		text = strings.ReplaceAll(text, "‐", "-")
		if n == "oauthctl-token.1" {
			for _, want := range []string{"Print a fresh access token", "--min-ttl", "EXAMPLES"} {
				if !strings.Contains(text, want) {
					t.Errorf("rendered token page lacks %q:\n%s", want, text)
				}
			}
		}
		if n == "oauthctl.1" && !strings.Contains(text, "OAUTHCTL_CONFIG") {
			t.Errorf("the main page lacks the environment section")
		}
	}
}
