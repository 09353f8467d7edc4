package cmd

import (
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
)

// TestSetupGit runs setup-git in-process against the real git with a
// private global config file (GIT_CONFIG_GLOBAL): the entries it writes,
// idempotence, an older oauthctl path replaced, other helpers kept, and the
// errors for a provider without git hosts or nothing logged in.
func TestSetupGit(t *testing.T) {
	t.Parallel()
	git, _ := requireGit(t)
	e := newTkEnv(t, gcYAML("https://issuer.example/token", "git.example.com", "127.0.0.1:8080")+
		"  plain:\n    issuer: https://plain.example\n    token_url: https://plain.example/token\n    auth_url: https://plain.example/auth\n")
	cfg := filepath.Join(e.dir, "gitconfig")
	environ := func() []string { return append(e.environ(), "GIT_CONFIG_GLOBAL="+cfg, "GIT_CONFIG_NOSYSTEM=1") }
	run := func(self string, onPath string, args ...string) tkResult {
		t.Helper()
		f, out, errOut := e.factory()
		root := NewCmdRoot(f)
		replaceCommand(root, NewCmdSetupGit(f, func(o *SetupGitOptions) error {
			o.Environ = environ
			o.Executable = func() (string, error) { return self, nil }
			o.LookPath = func(name string) (string, error) {
				if name == "oauthctl" {
					if onPath == "" {
						return "", exec.ErrNotFound
					}
					return onPath, nil
				}
				return exec.LookPath(name)
			}
			return setupGitRun(t.Context(), o)
		}))
		root.SetArgs(append([]string{"setup-git"}, args...))
		err := root.ExecuteContext(t.Context())
		if err != nil {
			errOut.WriteString(errorText(err2usage(err)))
		}
		return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
	}
	get := func(key string) []string {
		t.Helper()
		cmd := exec.Command(git, "config", "--global", "--get-all", key)
		cmd.Env = environ()
		out, err := cmd.Output()
		var ee *exec.ExitError
		if errors.As(err, &ee) && ee.ExitCode() == 1 {
			return nil
		}
		if err != nil {
			t.Fatal(err)
		}
		return strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	}
	self := "/opt/oauth ctl/bin/oauthctl" // not on $PATH, with a space: quoted
	const (
		https     = "credential.https://git.example.com.helper"
		loopHTTPS = "credential.https://127.0.0.1:8080.helper"
		loopHTTP  = "credential.http://127.0.0.1:8080.helper"
	)
	want := "!'/opt/oauth ctl/bin/oauthctl' git-credential --provider fake"

	// Another helper for the host stays.
	if out, err := exec.Command(git, "config", "--file", cfg, "--add", https, "cache").CombinedOutput(); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	r := run(self, "", "fake")
	if r.code != 0 || r.out != "" {
		t.Fatalf("setup-git: %+v", r)
	}
	wantErr := "Set " + https + " = " + want + " (git config --global)\n" +
		"Set " + loopHTTPS + " = " + want + " (git config --global)\n" +
		"Set " + loopHTTP + " = " + want + " (git config --global)\n"
	if r.errOut != wantErr {
		t.Errorf("stderr:\n%s\nwant:\n%s", r.errOut, wantErr)
	}
	if diff := cmp.Diff([]string{"cache", want}, get(https)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", https, diff)
	}
	if diff := cmp.Diff([]string{want}, get(loopHTTP)); diff != "" {
		t.Errorf("%s (-want +got):\n%s", loopHTTP, diff)
	}

	// Again: nothing changes.
	r = run(self, "", "fake")
	if r.code != 0 || strings.Count(r.errOut, "Already set: ") != 3 || strings.Contains(r.errOut, "Set ") {
		t.Errorf("second run: %+v", r)
	}
	if diff := cmp.Diff([]string{"cache", want}, get(https)); diff != "" {
		t.Errorf("after the second run (-want +got):\n%s", diff)
	}

	// The program moved onto $PATH: the old entry is replaced, not added to.
	r = run("/usr/local/bin/oauthctl", "/usr/local/bin/oauthctl", "fake")
	if r.code != 0 {
		t.Fatalf("moved: %+v", r)
	}
	if diff := cmp.Diff([]string{"cache", "!oauthctl git-credential --provider fake"}, get(https)); diff != "" {
		t.Errorf("after the move (-want +got):\n%s", diff)
	}

	// Errors: a provider without git hosts; no provider and nothing stored.
	if r := run(self, "", "plain"); r.code != ExitUsage || !strings.Contains(r.errOut, "oauthctl: plain has no git hosts\nadd git_hosts: [HOST] to plain in ") {
		t.Errorf("plain: %+v", r)
	}
	if r := run(self, "", "nope"); r.code != ExitUsage {
		t.Errorf("unknown provider: %+v", r)
	}
	if r := run(self, ""); r.code != ExitSignIn || !strings.Contains(r.errOut, "no account is logged in to a provider with git hosts") {
		t.Errorf("nothing stored: %+v", r)
	}
	// With an account stored, no PROVIDER means that provider.
	e.seed(fakeAccount("https://issuer.example/token"), &keyring.Record{AccessToken: "fake-at", Expiry: time.Now().Add(time.Hour)})
	if r := run("/usr/local/bin/oauthctl", "/usr/local/bin/oauthctl"); r.code != 0 || strings.Count(r.errOut, "Already set: ") != 3 {
		t.Errorf("no provider, one stored: %+v", r)
	}
}
