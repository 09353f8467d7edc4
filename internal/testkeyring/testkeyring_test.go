//go:build linux

package testkeyring

import (
	"errors"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gokeyring "github.com/zalando/go-keyring"
)

func TestMain(m *testing.M) { os.Exit(Main(m)) }

// TestSecretServiceRoundTrip checks that go-keyring, through the address Main
// exported, stores and reads secrets in the private gnome-keyring and that
// Users sees the item.
func TestSecretServiceRoundTrip(t *testing.T) {
	Require(t)
	const service = "testkeyring-selftest"
	if _, err := gokeyring.Get(service, "alice"); !errors.Is(err, gokeyring.ErrNotFound) {
		t.Fatalf("Get before Set: got %v, want ErrNotFound", err)
	}
	if err := gokeyring.Set(service, "alice", "fake-secret"); err != nil {
		t.Fatalf("Set: %v", err)
	}
	t.Cleanup(func() { _ = gokeyring.Delete(service, "alice") })
	got, err := gokeyring.Get(service, "alice")
	if err != nil || got != "fake-secret" {
		t.Fatalf("Get = %q, %v; want %q", got, err, "fake-secret")
	}
	users, err := Users(service)
	if err != nil {
		t.Fatalf("Users: %v", err)
	}
	if len(users) != 1 || users[0] != "alice" {
		t.Fatalf("Users = %q, want [alice]", users)
	}
}

// TestEnvForSubprocess checks that Env carries the bus address and the
// harness state for a subprocess built from a clean environment.
func TestEnvForSubprocess(t *testing.T) {
	Require(t)
	env := Env()
	want := []string{BusEnv + "=" + os.Getenv(BusEnv), StateEnv + "=" + os.Getenv(StateEnv)}
	if strings.Join(env, "\n") != strings.Join(want, "\n") {
		t.Fatalf("Env() = %q, want %q", env, want)
	}
}

// TestStartStop checks that a second, independent session starts, serves
// secrets on its own bus and that stop leaves no daemon or file behind.
func TestStartStop(t *testing.T) {
	Require(t)
	env, stop, err := Start()
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(stop)
	addr := strings.TrimPrefix(env[0], BusEnv+"=")
	if !strings.HasPrefix(env[0], BusEnv+"=unix:path=") || addr == os.Getenv(BusEnv) {
		t.Fatalf("env = %q: want a new private bus address", env)
	}
	sock := strings.TrimPrefix(addr, "unix:path=")
	pids := daemonPIDs(t, sock)
	if len(pids) != 2 {
		t.Fatalf("found daemons %v for %s, want dbus-daemon and gnome-keyring-daemon", pids, sock)
	}
	stop()
	stop() // idempotent
	for _, pid := range pids {
		if syscall.Kill(pid, 0) == nil {
			t.Errorf("daemon %d still running after stop", pid)
		}
	}
	if _, err := os.Stat(sock); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("socket %s still exists after stop: %v", sock, err)
	}
}

// TestStartBusHasNoSecretService runs secret-tool against a bare bus: it
// must fail fast, because nothing can be activated on it.
func TestStartBusHasNoSecretService(t *testing.T) {
	Require(t)
	tool, err := exec.LookPath("secret-tool")
	if err != nil {
		t.Skip("secret-tool not installed (libsecret-tools)")
	}
	env, stop, err := StartBus()
	if err != nil {
		t.Fatalf("StartBus: %v", err)
	}
	t.Cleanup(stop)
	cmd := exec.Command(tool, "lookup", "service", "x", "username", "y")
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("secret-tool on a bare bus succeeded: %s", out)
	}
	if !strings.Contains(string(out), "org.freedesktop.secrets") {
		t.Errorf("secret-tool output %q does not name the missing service", out)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("secret-tool took %s: something was activated or waited", d)
	}
}

// daemonPIDs finds the processes whose command line or environment names
// the socket.
func daemonPIDs(t *testing.T, sock string) []int {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var pids []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmdline, _ := os.ReadFile("/proc/" + e.Name() + "/cmdline")
		environ, _ := os.ReadFile("/proc/" + e.Name() + "/environ")
		conf := strings.TrimSuffix(sock, "/bus") + "/bus.conf"
		if strings.Contains(string(cmdline), conf) || strings.Contains(string(environ), "unix:path="+sock) {
			pids = append(pids, pid)
		}
	}
	return pids
}

// TestStartLockedRefusesSecrets checks that StartLocked's keyring refuses to
// hand out secrets (the unlock prompt is dismissed) instead of hanging.
func TestStartLockedRefusesSecrets(t *testing.T) {
	Require(t)
	tool, err := exec.LookPath("secret-tool")
	if err != nil {
		t.Skip("secret-tool not installed (libsecret-tools)")
	}
	env, stop, err := StartLocked()
	if err != nil {
		t.Fatalf("StartLocked: %v", err)
	}
	t.Cleanup(stop)
	cmd := exec.Command(tool, "store", "--label=x", "service", "x", "username", "y")
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	cmd.Stdin = strings.NewReader("fake-secret")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("secret-tool store on a locked keyring succeeded: %s", out)
	}
}
