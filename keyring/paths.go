package keyring

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/oauthctl/oauthctl/internal/human"

	"github.com/gofrs/flock"
)

// Paths are where oauthctl keeps its non-secret files.
type Paths struct {
	// Index is the account index file.
	Index string
	// LockDir holds the refresh and index lock files. It is per OS user and
	// independent of the config directory and of the session's environment,
	// so two configurations of the same user, or a cron job and a login
	// shell, still serialize refreshes of one account (docs/security.md §3.3,
	// kubelogin#1126).
	LockDir string
}

// LockDirEnv names the variable that overrides the lock directory (an
// absolute path). It exists for tests and sandboxes: processes that may
// refresh the same account must all see the same value, or they will not
// serialize their refreshes.
const LockDirEnv = "OAUTHCTL_LOCK_DIR"

// ErrConfig marks an environment variable oauthctl cannot use, a
// configuration error (exit 2): the fix is in the environment, not a retry.
var ErrConfig = errors.New("configuration error")

// ConfigError is a bad setting in the environment; it matches ErrConfig.
type ConfigError struct {
	Msg string
	Err error
}

func (e *ConfigError) Error() string {
	if e.Err != nil {
		return e.Msg + ": " + e.Err.Error()
	}
	return e.Msg
}

func (e *ConfigError) Unwrap() error { return e.Err }

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// DefaultPaths derives the paths: the index under $XDG_STATE_HOME/oauthctl
// (default ~/.local/state/oauthctl), overridable with OAUTHCTL_STATE_DIR.
// The lock directory does not depend on the environment (a cron job has no
// XDG_RUNTIME_DIR, a login shell does): on Unix it is /tmp/oauthctl-<uid>;
// elsewhere oauthctl-<user> in the temp directory. OAUTHCTL_LOCK_DIR (LockDirEnv) overrides it.
//
// A relative OAUTHCTL_STATE_DIR or OAUTHCTL_LOCK_DIR is a *ConfigError: it
// would name another directory in every working directory, so processes
// would neither find the same index nor serialize their refreshes. A
// relative XDG_STATE_HOME is ignored, as the XDG Base Directory
// specification says.
func DefaultPaths(getenv func(string) string) (Paths, error) {
	state := getenv("OAUTHCTL_STATE_DIR")
	switch {
	case state == "":
		base := getenv("XDG_STATE_HOME")
		if !filepath.IsAbs(base) {
			home := getenv("HOME")
			if home == "" {
				h, err := os.UserHomeDir()
				if err != nil {
					return Paths{}, &ConfigError{Msg: "finding the home directory", Err: err}
				}
				home = h
			}
			base = filepath.Join(home, ".local", "state")
		}
		state = filepath.Join(base, "oauthctl")
	case !filepath.IsAbs(state):
		return Paths{}, &ConfigError{Msg: fmt.Sprintf("OAUTHCTL_STATE_DIR must be an absolute path, not %q", state)}
	}
	locks := getenv(LockDirEnv)
	switch {
	case locks == "":
		locks = defaultLockDir()
	case !filepath.IsAbs(locks):
		return Paths{}, &ConfigError{Msg: fmt.Sprintf("%s must be an absolute path, not %q", LockDirEnv, locks)}
	default:
		locks = filepath.Clean(locks)
	}
	return Paths{Index: filepath.Join(state, "accounts.json"), LockDir: locks}, nil
}

// ErrLockTimeout means another process held the refresh lock for too long.
var ErrLockTimeout = errors.New("timed out waiting for the refresh lock")

// DefaultLockWait bounds the wait for a lock (docs/security.md §3.3).
const DefaultLockWait = 60 * time.Second

// AccountLockPath is the lock file that serializes refreshes of one account.
func (p Paths) AccountLockPath(key Key) string {
	sum := sha256.Sum256([]byte(key.String()))
	return filepath.Join(p.LockDir, "refresh-"+hex.EncodeToString(sum[:8])+".lock")
}

// IndexLockPath is the lock file that serializes updates of the index.
func (p Paths) IndexLockPath() string { return filepath.Join(p.LockDir, "index.lock") }

// Lock takes an exclusive advisory lock on path, waiting at most wait. The OS
// drops the lock when the process dies, so a killed holder never wedges later
// runs. The returned function releases it.
func Lock(ctx context.Context, path string, wait time.Duration) (func(), error) {
	if err := ensureLockDir(filepath.Dir(path)); err != nil {
		return nil, err
	}
	fl := flock.New(path, flock.SetPermissions(0o600))
	lctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	ok, err := fl.TryLockContext(lctx, 25*time.Millisecond)
	if err != nil || !ok {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if lctx.Err() != nil {
			return nil, fmt.Errorf("%w after %s (another oauthctl holds %s)", ErrLockTimeout, human.Duration(wait), path)
		}
		return nil, fmt.Errorf("locking %s: %w", path, err)
	}
	return func() { _ = fl.Unlock() }, nil
}

// CheckLockDir creates the lock directory if needed and refuses one that
// another user owns or others can write (checkLockDir). A login calls it
// before the browser opens (docs/security.md §3.3): finding a squatted
// directory only after consent would leave tokens that no index lists.
func (p Paths) CheckLockDir() error { return ensureLockDir(p.LockDir) }

func ensureLockDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating the lock directory: %w", err)
	}
	fi, err := os.Lstat(dir)
	if err != nil {
		return fmt.Errorf("checking the lock directory: %w", err)
	}
	return checkLockDir(dir, fi)
}

// UpdateIndex runs fn on the index under the index lock and saves the result,
// so concurrent oauthctl processes never lose each other's updates.
func UpdateIndex(ctx context.Context, p Paths, fn func(*Index) error) error {
	unlock, err := Lock(ctx, p.IndexLockPath(), DefaultLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	ix, err := LoadIndex(p.Index)
	if err != nil {
		return err
	}
	if err := fn(ix); err != nil {
		return err
	}
	return ix.Save(p.Index)
}
