//go:build linux

package auth

import (
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

// visitEnv makes this test binary, re-executed as another user, GET one URL
// without following redirects and print the status.
const visitEnv = "OAUTHCTL_TEST_VISIT"

// TestHelperVisit is not a test: it is the other user's process.
func TestHelperVisit(t *testing.T) {
	u := os.Getenv(visitEnv)
	if u == "" {
		t.Skip("helper process only")
	}
	resp, err := fakeas.Client().Get(u)
	if err != nil {
		fmt.Println("error", err)
		return
	}
	resp.Body.Close()
	fmt.Println("status", resp.StatusCode)
}

// visitAsOtherUser runs TestHelperVisit as uid 65534 and returns its line.
func visitAsOtherUser(t *testing.T, u string) string {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "helper.test")
	data, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(t.Context(), bin, "-test.run=^TestHelperVisit$")
	cmd.Env = append(os.Environ(), visitEnv+"="+u)
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, out)
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "status ") || strings.HasPrefix(line, "error ") {
			return line
		}
	}
	t.Fatalf("helper said nothing useful:\n%s", out)
	return ""
}

// TestLaunchOtherUser plays issue 10 item 1 with a real second Unix user
// (uid 65534; needs root, as CI runs): reading the launcher's argv, he
// opens the one-time address before the victim's browser does. He gets no
// redirect, the login goes on and the victim's browser completes it.
// Holding the authorization URL (as he did when it was on argv), his
// cookie-less callback is refused while the login goes on.
func TestLaunchOtherUser(t *testing.T) {
	if os.Getuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true but not root: cannot act as a second user")
		}
		t.Skip("needs root to act as a second user (uid 65534)")
	}
	t.Run("opens the launch address first", func(t *testing.T) {
		as := fakeas.Start(t)
		l := startLogin(t, as, nil)
		launch := l.LaunchURL()
		if got := visitAsOtherUser(t, launch); got != fmt.Sprintf("status %d", http.StatusForbidden) {
			t.Fatalf("the other user got %q", got)
		}
		// He got no redirect and cannot stop the login: the victim's
		// browser, arriving later, completes it, and the refusal is told.
		browserCompletes(t, l, launch)
		if got := l.ForeignVisits(); len(got) != 1 || !strings.Contains(got[0], "uid 65534") {
			t.Errorf("ForeignVisits = %q", got)
		}
	})
	t.Run("cookie-less callback", func(t *testing.T) {
		as := fakeas.Start(t)
		l := startLogin(t, as, nil)
		l.LaunchURL()
		loc, err := as.Follow(l.AuthURL())
		if err != nil {
			t.Fatal(err)
		}
		if got := visitAsOtherUser(t, loc); got != fmt.Sprintf("status %d", http.StatusForbidden) {
			t.Fatalf("the other user's callback got %q", got)
		}
		if n := len(as.TokenRequests()); n != 0 {
			t.Fatalf("%d token requests", n)
		}
		// Same user, no cookie: a browser of the victim's own into which
		// the printed URL was copied; the OS vouches for the connection.
		completes(t, as, l)
	})
}
