package safefile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// WriteFile writes data to path through a temporary file in the same
// directory, synced and renamed over it, with mode 0600: readers and a crash
// see the old file or the new one, never half of one. A missing directory
// is created with mode 0700. With followLink, a symbolic link at path is
// written through to its target so that the link survives (a user's
// providers.yaml or kubeconfig kept in a dotfiles repository); without it a
// link is replaced like any file (oauthctl's own state).
func WriteFile(path string, data []byte, followLink bool) error {
	if followLink {
		target, err := filepath.EvalSymlinks(path)
		switch {
		case err == nil:
			path = target
		case !errors.Is(err, fs.ErrNotExist):
			return fmt.Errorf("writing %s: %w", path, err)
		}
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	name := tmp.Name()
	defer os.Remove(name) // no-op after the rename
	if err := writeSynced(tmp, data); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := os.Rename(name, path); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// writeSynced sets f's mode to 0600, writes data, syncs and closes f.
func writeSynced(f *os.File, data []byte) error {
	err := f.Chmod(0o600)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}
