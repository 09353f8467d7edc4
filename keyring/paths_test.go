package keyring_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/cmd"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestDefaultPaths: the index follows OAUTHCTL_STATE_DIR, XDG_STATE_HOME or
// HOME; OAUTHCTL_LOCK_DIR, when set, is the lock directory.
func TestDefaultPaths(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want keyring.Paths
	}{
		{
			name: "explicit state dir and lock dir",
			env:  map[string]string{"OAUTHCTL_STATE_DIR": "/s", "XDG_STATE_HOME": "/x", "HOME": "/h", "XDG_RUNTIME_DIR": "/run/user/7", "OAUTHCTL_LOCK_DIR": "/l/locks/"},
			want: keyring.Paths{Index: "/s/accounts.json", LockDir: "/l/locks"},
		},
		{
			name: "XDG state home",
			env:  map[string]string{"XDG_STATE_HOME": "/x", "HOME": "/h", "OAUTHCTL_LOCK_DIR": "/l"},
			want: keyring.Paths{Index: "/x/oauthctl/accounts.json", LockDir: "/l"},
		},
		{
			name: "home only",
			env:  map[string]string{"HOME": "/h", "OAUTHCTL_LOCK_DIR": "/l"},
			want: keyring.Paths{Index: "/h/.local/state/oauthctl/accounts.json", LockDir: "/l"},
		},
		{
			// The XDG Base Directory specification: a relative path is
			// invalid and ignored.
			name: "relative XDG state home",
			env:  map[string]string{"XDG_STATE_HOME": "x", "HOME": "/h", "OAUTHCTL_LOCK_DIR": "/l"},
			want: keyring.Paths{Index: "/h/.local/state/oauthctl/accounts.json", LockDir: "/l"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := keyring.DefaultPaths(func(k string) string { return tt.env[k] })
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("DefaultPaths (-want +got):\n%s", diff)
			}
		})
	}
}

// TestDefaultPathsConfigErrors: a relative OAUTHCTL_LOCK_DIR would put the
// locks of processes in different directories in different places, and a
// relative OAUTHCTL_STATE_DIR their indexes, so both are refused as
// configuration errors (ErrConfig: exit 2), not as failures (exit 1).
func TestDefaultPathsConfigErrors(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "relative lock dir", env: map[string]string{"HOME": "/h", "OAUTHCTL_LOCK_DIR": "locks"},
			want: `OAUTHCTL_LOCK_DIR must be an absolute path, not "locks"`},
		{name: "relative state dir", env: map[string]string{"OAUTHCTL_STATE_DIR": "state", "OAUTHCTL_LOCK_DIR": "/l"},
			want: `OAUTHCTL_STATE_DIR must be an absolute path, not "state"`},
		{name: "dot state dir", env: map[string]string{"OAUTHCTL_STATE_DIR": ".", "OAUTHCTL_LOCK_DIR": "/l"},
			want: `OAUTHCTL_STATE_DIR must be an absolute path, not "."`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := keyring.DefaultPaths(func(k string) string { return tt.env[k] })
			if err == nil || err.Error() != tt.want {
				t.Fatalf("DefaultPaths = %v, want %q", err, tt.want)
			}
			if !errors.Is(err, keyring.ErrConfig) {
				t.Errorf("DefaultPaths = %v, not a keyring.ErrConfig", err)
			}
			if got := cmd.ExitCode(fmt.Errorf("token: %w", err)); got != cmd.ExitUsage {
				t.Errorf("exit code = %d, want %d", got, cmd.ExitUsage)
			}
		})
	}
}

// TestAccountLockPath: one lock file per account, stable, inside LockDir, and
// with a name that reveals nothing of the account.
func TestAccountLockPath(t *testing.T) {
	p := keyring.Paths{LockDir: "/run/user/1/oauthctl"}
	a := p.AccountLockPath(keyring.Key{Provider: "google", Account: "alice@example.com"})
	b := p.AccountLockPath(keyring.Key{Provider: "google", Account: "bob@example.com"})
	c := p.AccountLockPath(keyring.Key{Provider: "github", Account: "alice@example.com"})
	if a == b || a == c || b == c {
		t.Errorf("lock paths collide: %s %s %s", a, b, c)
	}
	if again := p.AccountLockPath(keyring.Key{Provider: "google", Account: "alice@example.com"}); again != a {
		t.Errorf("lock path not stable: %s then %s", a, again)
	}
	if filepath.Dir(a) != p.LockDir || strings.Contains(a, "alice") {
		t.Errorf("lock path %s: want a file in %s that does not name the account", a, p.LockDir)
	}
}

// TestLockWaitsForHolder: a second locker waits until the first releases.
func TestLockWaitsForHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "locks", "refresh.lock")
	unlock, err := keyring.Lock(t.Context(), path, time.Second)
	if err != nil {
		t.Fatalf("first Lock: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("lock file mode = %04o, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(filepath.Dir(path))
	if di.Mode().Perm() != 0o700 {
		t.Errorf("lock directory mode = %04o, want 0700", di.Mode().Perm())
	}

	var released atomic.Bool
	got := make(chan error, 1)
	go func() {
		unlock2, err := keyring.Lock(context.Background(), path, time.Minute)
		if err == nil {
			if !released.Load() {
				err = errors.New("second locker got the lock while the first held it")
			}
			unlock2()
		}
		got <- err
	}()
	select {
	case err := <-got:
		t.Fatalf("second Lock returned while the lock was held: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	released.Store(true)
	unlock()
	if err := <-got; err != nil {
		t.Fatalf("second Lock: %v", err)
	}
}

// TestLockTimeout (row 38's lock part): a held lock makes the next locker
// give up after its wait with ErrLockTimeout (exit 5).
func TestLockTimeout(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refresh.lock")
	unlock, err := keyring.Lock(t.Context(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	_, err = keyring.Lock(t.Context(), path, 50*time.Millisecond)
	if !errors.Is(err, keyring.ErrLockTimeout) {
		t.Fatalf("Lock = %v, want ErrLockTimeout", err)
	}
	want := "timed out waiting for the refresh lock after 50ms (another oauthctl holds " + path + ")"
	if err.Error() != want {
		t.Errorf("error = %q, want %q", err, want)
	}
	if code := cmd.ExitCode(err); code != cmd.ExitUnavailable {
		t.Errorf("exit code = %d, want %d", code, cmd.ExitUnavailable)
	}
}

// TestLockCancelled: cancelling the context ends the wait with its error.
func TestLockCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refresh.lock")
	unlock, err := keyring.Lock(t.Context(), path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer unlock()
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(20*time.Millisecond, cancel)
	_, err = keyring.Lock(ctx, path, time.Hour)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Lock = %v, want context.Canceled", err)
	}
}

// TestLockRefusesSharedDir: a lock directory others can write is refused,
// since anyone could then hold or replace the lock files.
func TestLockRefusesSharedDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "locks")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	_, err := keyring.Lock(t.Context(), filepath.Join(dir, "x.lock"), time.Second)
	want := "lock directory " + dir + " must be a directory writable only by you"
	if err == nil || err.Error() != want {
		t.Errorf("Lock = %v, want %q", err, want)
	}
}

// TestLockReleasedWhenHolderKilled (row 37): a process SIGKILLed while it
// holds the lock releases it, and the next locker proceeds.
func TestLockReleasedWhenHolderKilled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "refresh.lock")
	c := exec.Command(os.Args[0], "-test.run=^$")
	c.Env = append(os.Environ(), helperEnv+"=lock:"+path)
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.Stderr = os.Stderr
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Process.Kill(); _ = c.Wait() })
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("holder said %q, %v; want \"locked\"", line, err)
	}

	if _, err := keyring.Lock(t.Context(), path, 50*time.Millisecond); !errors.Is(err, keyring.ErrLockTimeout) {
		t.Fatalf("Lock while the holder lives = %v, want ErrLockTimeout", err)
	}
	if err := c.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = c.Wait()
	unlock, err := keyring.Lock(t.Context(), path, 10*time.Second)
	if err != nil {
		t.Fatalf("Lock after the holder was killed: %v", err)
	}
	unlock()
}

// lockHolder is the helper process of TestLockReleasedWhenHolderKilled: it
// takes the lock, says so, and waits to be killed.
func lockHolder(path string) int {
	unlock, err := keyring.Lock(context.Background(), path, 10*time.Second)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer unlock()
	fmt.Println("locked")
	time.Sleep(time.Minute) // killed long before
	return 0
}
