// Package safefile reads the files oauthctl trusts to decide where tokens
// go (providers.yaml, the account index, clients.json) without a
// check-then-read race (docs/security.md §3.2). A file is opened once,
// without following a symbolic link; the open descriptor is checked (a
// regular file, owned by the current user or root, writable by no one
// else) and read. A path check followed by a second open by name let
// another user who could write the directory swap the file in between.
package safefile

import (
	"errors"
	"fmt"
	"io/fs"
)

// ErrUnsafe marks a file or directory that others could have written.
var ErrUnsafe = errors.New("unsafe file permissions")

// UnsafeError says why a file or directory is not trusted.
type UnsafeError struct {
	Path   string
	Reason string
	// Fix is the command or step that makes it safe, if there is one.
	Fix string
}

func (e *UnsafeError) Error() string {
	msg := e.Path + " " + e.Reason
	if e.Fix != "" {
		msg += "; " + e.Fix
	}
	return msg
}

// Is makes every UnsafeError match ErrUnsafe.
func (e *UnsafeError) Is(target error) bool { return target == ErrUnsafe }

// TooLargeError is a file larger than the caller's bound.
type TooLargeError struct {
	Path string
	Max  int64
}

func (e *TooLargeError) Error() string {
	return fmt.Sprintf("%s is larger than %d bytes", e.Path, e.Max)
}

// checkMode judges an open file's or directory's mode and owner.
func checkMode(path string, mode fs.FileMode, owner, uid int, wantDir bool) error {
	switch {
	case wantDir && !mode.IsDir():
		return &UnsafeError{Path: path, Reason: "is not a directory"}
	case !wantDir && mode.IsDir():
		return &UnsafeError{Path: path, Reason: "is a directory"}
	case !wantDir && !mode.IsRegular():
		return &UnsafeError{Path: path, Reason: "is not a regular file", Fix: "oauthctl reads only a regular file here, not a link, pipe or device"}
	case owner >= 0 && owner != uid && owner != 0:
		return &UnsafeError{Path: path, Reason: fmt.Sprintf("belongs to uid %d, not to you (uid %d), and decides where tokens are sent", owner, uid),
			Fix: "remove it, or replace it with a copy of your own"}
	case mode.Perm()&0o022 != 0:
		return &UnsafeError{Path: path, Reason: fmt.Sprintf("is writable by other users (mode %04o) and decides where tokens are sent", mode.Perm()),
			Fix: "run: chmod go-w " + path}
	}
	return nil
}
