//go:build unix

package keyring

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
)

// defaultLockDir is the lock directory of the current user, derived from
// the UID alone so that every process of the user agrees on it: the fixed
// /tmp/oauthctl-<uid>. Not $XDG_RUNTIME_DIR or $TMPDIR, which differ
// between a cron job and a login shell; and not /run/user/<uid>, which
// systemd-logind creates at the first login and removes at the last logout,
// so a job that started before a login would lock elsewhere than a shell
// started after it. checkLockDir refuses the directory if another user
// pre-created it.
func defaultLockDir() string { return filepath.Join("/tmp", "oauthctl-"+strconv.Itoa(os.Getuid())) }

// ownerOf is the UID that owns fi, or -1 when the OS does not say.
func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// checkLockDir refuses a lock directory that is not a real directory owned
// by the current user and writable by no one else: whoever can write it, or
// pre-created it (say /tmp/oauthctl-<uid>), could hold, remove or replace
// the lock files.
func checkLockDir(dir string, fi fs.FileInfo) error {
	return checkLockDirOwner(dir, fi, os.Getuid())
}

func checkLockDirOwner(dir string, fi fs.FileInfo, uid int) error {
	if !fi.IsDir() || fi.Mode().Perm()&0o022 != 0 {
		return fmt.Errorf("lock directory %s must be a directory writable only by you", dir)
	}
	if owner := ownerOf(fi); owner != uid {
		return fmt.Errorf("lock directory %s belongs to uid %d, not to you (uid %d): have it removed, or set %s to a private directory", dir, owner, uid, LockDirEnv)
	}
	return nil
}
