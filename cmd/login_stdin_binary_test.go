package cmd

import (
	"bytes"
	"errors"
	"os/exec"
	"regexp"
	"runtime"
	"strings"
	"testing"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
)

// TestBinaryStdinDevNull runs the built oauthctl with stdin from /dev/null
// (exec.Cmd's default), a character device that is not a terminal:
//   - login with no browser launcher on $PATH explains the launcher failure,
//     gives the --device / --no-browser hint naming the timeout, and keeps
//     waiting until the timeout;
//   - login --no-browser says once that stdin is closed and it still waits;
//   - client set reads stdin as a pipe: no prompt, one error line.
func TestBinaryStdinDevNull(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Linux launcher list and /dev/null")
	}
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	const yaml = "providers:\n  devnull:\n    auth_url: http://127.0.0.1:9/authorize\n    token_url: http://127.0.0.1:9/token\n    client_id: client-1\n    scopes: [read]\n"
	run := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		env := newLoginEnv(t, yaml)
		env.set("PATH", t.TempDir()) // no xdg-open, x-www-browser, www-browser
		env.set("BROWSER", "")
		var stdout, stderr bytes.Buffer
		c := exec.CommandContext(t.Context(), bin, args...)
		c.Env, c.Stdout, c.Stderr = env.environ(), &stdout, &stderr
		err := c.Run()
		var ee *exec.ExitError
		if err != nil && !errors.As(err, &ee) {
			t.Fatal(err)
		}
		if stdout.Len() != 0 {
			t.Errorf("stdout = %q, want nothing", stdout.String())
		}
		return c.ProcessState.ExitCode(), stderr.String()
	}

	t.Run("login without a browser", func(t *testing.T) {
		t.Parallel()
		code, stderr := run(t, "login", "devnull", "--timeout", "1s")
		want := regexp.MustCompile(`(?m)^warning: could not open a browser: no browser launcher found \(tried xdg-open, x-www-browser, www-browser; set \$BROWSER or use --browser-command\)\n` +
			`no browser and stdin is not a terminal: use --device or --no-browser\. Still waiting up to 1s \(--timeout\) for the redirect to http://127\.0\.0\.1:\d+/callback \(a forwarded port may bring it\)\.\.\.\n` +
			// No launcher ran: the one-time address is retired and the
			// provider's URL, on no command line, is offered instead.
			`The address above no longer works; open this one in a browser instead:\n\n  http://127\.0\.0\.1:9/authorize\?\S+\n\n` +
			`oauthctl: timed out after 1s; try --no-browser\n\z`)
		if code != ExitLogin || !want.MatchString(stderr) {
			t.Errorf("exit %d, stderr:\n%s\nwant exit %d and stderr matching %s", code, stderr, ExitLogin, want)
		}
	})
	t.Run("login --no-browser", func(t *testing.T) {
		t.Parallel()
		code, stderr := run(t, "login", "devnull", "--no-browser", "--timeout", "1s")
		want := regexp.MustCompile(`\nstdin closed; still waiting for the browser redirect on http://127\.0\.0\.1:\d+/callback \(Ctrl-C to cancel\)\n` +
			`oauthctl: timed out after 1s\n\z`)
		if code != ExitLogin || !want.MatchString(stderr) || strings.Count(stderr, "stdin closed") != 1 {
			t.Errorf("exit %d, stderr:\n%s\nwant exit %d and stderr matching %s", code, stderr, ExitLogin, want)
		}
	})
	t.Run("client set", func(t *testing.T) {
		t.Parallel()
		code, stderr := run(t, "client", "set", "devnull")
		if code != ExitUsage || strings.Contains(stderr, "Client ID for") || strings.Count(stderr, "\n") != 1 || !strings.HasPrefix(stderr, "oauthctl: ") {
			t.Errorf("exit %d, stderr %q: want exit %d and one error line, no prompt", code, stderr, ExitUsage)
		}
	})
}
