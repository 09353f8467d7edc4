// Package testkeyring gives tests a real Secret Service: gnome-keyring on a
// private D-Bus session bus that the test binary starts and stops itself, so
// keychain tests never touch the developer's own keyring and run the same on
// a headless CI machine. It is imported only from _test.go files.
//
// Typical use, in the package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(testkeyring.Main(m)) }
//
// and in each test that needs the keychain:
//
//	testkeyring.Require(t) // skips (or fails under CI=true) when unavailable
//	kc := keyring.NewKeychain() // talks to the private gnome-keyring
//
// Main starts the session once, exports its variables (see Env) into the
// test process, runs the tests and stops the daemons. go-keyring reaches the
// Secret Service through godbus, which reads DBUS_SESSION_BUS_ADDRESS when it
// first connects and then caches that connection for the life of the process;
// that is why the address is set before any test runs, and why a test that
// needs a different bus (no Secret Service at all) must use a subprocess
// with the environment of StartBus.
//
// A subprocess (the built oauthctl binary, or the test binary re-executed)
// inherits the session through the process environment; to build an
// environment from scratch, append Env() to it. A re-executed test binary
// whose TestMain calls Main sees the inherited session and reuses it rather
// than starting another.
//
// Broken storage for fault tests (run the code under test in a subprocess
// with one of these environments): StartBus gives a bus without a Secret
// Service, StartLocked a gnome-keyring whose login collection is locked and
// whose unlock prompt is dismissed at once. Both envs carry StateEnv, so a
// re-executed test binary's Main starts nothing of its own; a hand-made env
// (no bus address at all) should set StateEnv=error:... for the same reason.
// Users lists the items of a service, to see chunk items and leftovers.
//
// The daemons never outlive the test binary: stop kills their process
// groups, and on Linux they get SIGKILL (Pdeathsig) if the test binary dies
// first; gnome-keyring also exits when its bus goes away.
//
// Findings this package relies on (Debian 12, dbus 1.14, gnome-keyring 42):
//   - The bus uses its own configuration without service directories: the
//     stock session.conf would D-Bus-activate a second gnome-keyring (or a
//     system prompter) on demand, which would make a "no Secret Service" bus
//     impossible and could leak daemons.
//   - `gnome-keyring-daemon --foreground --unlock --components=secrets` reads
//     the login password from stdin, creates the "login" collection unlocked
//     in $XDG_DATA_HOME/keyrings, and then owns org.freedesktop.secrets.
//     HOME, XDG_DATA_HOME, XDG_CONFIG_HOME and XDG_RUNTIME_DIR (mode 0700)
//     point into a temp directory, so nothing is written to the real home.
//   - dbus-x11 is not needed and must not be installed: without an address
//     godbus would autolaunch stray buses through it.
package testkeyring

import (
	"os"
	"runtime"
	"strings"
	"testing"
)

// Variables that carry the session to the test process and its children.
const (
	// BusEnv is the variable godbus reads to find the session bus.
	BusEnv = "DBUS_SESSION_BUS_ADDRESS"
	// StateEnv records what Main did, so Require in this process and Main in
	// a re-executed child can tell: a bus address when the session runs,
	// "skip: <reason>" when the tools are missing, "error: <reason>" when
	// starting failed.
	StateEnv = "OAUTHCTL_TESTKEYRING"
)

// InstallHint tells a developer how to get the integration tests running.
const InstallHint = "apt-get install gnome-keyring dbus"

// Main is the TestMain helper: it starts a private session with an unlocked
// gnome-keyring (unless the process inherited one from a parent that ran
// Main), exports it with Setenv, runs the tests and stops the daemons. It
// returns the exit code for os.Exit. When the session cannot start, the
// tests still run and Require skips or fails them with the reason.
func Main(m *testing.M) int {
	if st := os.Getenv(StateEnv); st != "" {
		return m.Run() // a child of a test binary that already set things up
	}
	env, stop, err := Start()
	switch {
	case err == nil:
		if serr := Setenv(env); serr != nil {
			stop()
			os.Setenv(StateEnv, "error: "+serr.Error())
			return m.Run()
		}
		defer stop()
	case isMissing(err):
		os.Setenv(StateEnv, "skip: "+err.Error())
	default:
		os.Setenv(StateEnv, "error: "+err.Error())
	}
	return m.Run()
}

// Setenv exports env ("KEY=VALUE" entries, as Start returns them) into the
// test process. Call it before anything connects to D-Bus (in TestMain).
func Setenv(env []string) error {
	for _, kv := range env {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			continue
		}
		if err := os.Setenv(k, v); err != nil {
			return err
		}
	}
	return nil
}

// Env returns the session's variables as they are set in this process
// ("KEY=VALUE"), for a subprocess whose environment is built from scratch:
//
//	cmd.Env = append([]string{"HOME=" + t.TempDir()}, testkeyring.Env()...)
//
// A subprocess that inherits os.Environ() already has them.
func Env() []string {
	var env []string
	for _, k := range []string{BusEnv, StateEnv} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// Require skips the test when no Secret Service could be started because
// gnome-keyring or dbus is not installed (or the OS is not Linux), and fails
// it when CI=true on Linux (CI must run the integration tests) or when
// starting failed for another reason.
func Require(t testing.TB) {
	t.Helper()
	st := os.Getenv(StateEnv)
	switch {
	case st == "":
		t.Fatal("testkeyring: the package's TestMain must call testkeyring.Main")
	case strings.HasPrefix(st, "skip: "):
		msg := "integration test skipped: " + strings.TrimPrefix(st, "skip: ")
		if os.Getenv("CI") == "true" && runtime.GOOS == "linux" {
			t.Fatal(msg + " (CI=true requires the real Secret Service)")
		}
		t.Skip(msg)
	case strings.HasPrefix(st, "error: "):
		t.Fatal("testkeyring: starting the Secret Service: " + strings.TrimPrefix(st, "error: "))
	case os.Getenv(BusEnv) != st:
		t.Fatalf("testkeyring: %s was changed after Main set it", BusEnv)
	}
}
