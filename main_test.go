//go:build linux

package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestNoCoreDumps: a core file of oauthctl held the access token (issue 10
// item 9). The built binary, blocked reading stdin, must run with a core
// limit of 0 and, on Linux, not be dumpable. A non-dumpable process's
// /proc/PID files belong to root, which shows when it runs as another user
// (possible only when the test runs as root; CI does).
func TestNoCoreDumps(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // uid 65534 must reach the binary
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	bin := filepath.Join(dir, "oauthctl")
	if out, err := exec.CommandContext(t.Context(), "go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	home := filepath.Join(dir, "home")
	if err := os.Mkdir(home, 0o777); err != nil {
		t.Fatal(err)
	}
	asRoot := os.Getuid() == 0
	// `client set` reads the client ID from stdin, which stays open: the
	// process waits there long enough to be inspected.
	cmd := exec.CommandContext(t.Context(), bin, "client", "set", "google")
	cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin", "OAUTHCTL_LOCK_DIR=" + filepath.Join(home, "locks")}
	if asRoot {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
		if err := os.Chown(home, 65534, 65534); err != nil {
			t.Fatal(err)
		}
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		stdin.Close()
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	}()
	proc := filepath.Join("/proc", strconv.Itoa(cmd.Process.Pid))
	var limits string
	var procOwner uint32 = 1
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		data, _ := os.ReadFile(filepath.Join(proc, "limits"))
		limits = string(data)
		if fi, err := os.Stat(filepath.Join(proc, "status")); err == nil {
			procOwner = fi.Sys().(*syscall.Stat_t).Uid
		}
		if coreLimitZero(limits) && (!asRoot || procOwner == 0) {
			return
		}
	}
	t.Errorf("after 10 s: core limit zero %v (limits:\n%s), /proc/PID owner %d (want 0 when run as uid 65534); stderr: %s",
		coreLimitZero(limits), limits, procOwner, stderr.String())
	if !asRoot {
		t.Log("not root: PR_SET_DUMPABLE not checked")
	}
}

func coreLimitZero(limits string) bool {
	for _, line := range strings.Split(limits, "\n") {
		if strings.HasPrefix(line, "Max core file size") {
			f := strings.Fields(strings.TrimPrefix(line, "Max core file size"))
			return len(f) >= 2 && f[0] == "0" && f[1] == "0"
		}
	}
	return false
}
