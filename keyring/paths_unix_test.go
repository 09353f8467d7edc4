//go:build unix

package keyring

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// TestDefaultLockDirIgnoresEnvironment covers docs/security.md §3.3: a cron
// job (no XDG_RUNTIME_DIR, maybe another TMPDIR) and a login shell get the
// same lock directory for the same user, derived from the UID.
func TestDefaultLockDirIgnoresEnvironment(t *testing.T) {
	uid := strconv.Itoa(os.Getuid())
	want := "/tmp/oauthctl-" + uid
	t.Setenv("TMPDIR", t.TempDir()) // os.TempDir must not matter either
	for _, env := range []map[string]string{
		{"HOME": "/h"},
		{"HOME": "/h", "XDG_RUNTIME_DIR": "/run/user/" + uid},
		{"HOME": "/h", "XDG_RUNTIME_DIR": t.TempDir()},
	} {
		p, err := DefaultPaths(func(k string) string { return env[k] })
		if err != nil {
			t.Fatal(err)
		}
		if p.LockDir != want {
			t.Errorf("env %v: LockDir = %s, want %s", env, p.LockDir, want)
		}
	}
}

// TestCheckLockDirOwner: a lock directory that another user owns (say one
// pre-created as /tmp/oauthctl-<victim uid>) is refused with a message that
// names the owner and the way out.
func TestCheckLockDirOwner(t *testing.T) {
	dir := t.TempDir()
	fi, err := os.Lstat(dir)
	if err != nil {
		t.Fatal(err)
	}
	uid := os.Getuid()
	if err := checkLockDirOwner(dir, fi, uid); err != nil {
		t.Errorf("own directory refused: %v", err)
	}
	err = checkLockDirOwner(dir, fi, uid+1)
	want := "lock directory " + dir + " belongs to uid " + strconv.Itoa(uid) + ", not to you (uid " + strconv.Itoa(uid+1) +
		"): have it removed, or set OAUTHCTL_LOCK_DIR to a private directory"
	if err == nil || err.Error() != want {
		t.Errorf("checkLockDirOwner = %v, want %q", err, want)
	}
}

// TestLockRefusesForeignDir: end to end, Lock refuses a directory another
// user created, even one with a private mode. Making one needs root.
func TestLockRefusesForeignDir(t *testing.T) {
	if os.Getuid() != 0 {
		t.Skip("needs root to give a directory to another user (TestCheckLockDirOwner covers the check)")
	}
	dir := filepath.Join(t.TempDir(), "oauthctl-0")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(dir, 4242, 4242); err != nil {
		t.Fatal(err)
	}
	_, err := Lock(context.Background(), filepath.Join(dir, "refresh.lock"), time.Second)
	want := "lock directory " + dir + " belongs to uid 4242, not to you (uid 0): have it removed, or set OAUTHCTL_LOCK_DIR to a private directory"
	if err == nil || err.Error() != want {
		t.Errorf("Lock = %v, want %q", err, want)
	}
	if _, err := os.Stat(filepath.Join(dir, "refresh.lock")); !os.IsNotExist(err) {
		t.Errorf("a lock file was created in the foreign directory (stat: %v)", err)
	}
}

func mkdir(mode os.FileMode) func(*testing.T, string) {
	return func(t *testing.T, rt string) {
		if err := os.Mkdir(rt, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(rt, mode); err != nil {
			t.Fatal(err)
		}
	}
}
