//go:build unix

package safefile

import (
	"errors"
	"io/fs"
	"os"
	"syscall"

	"golang.org/x/sys/unix"
)

// ReadFile reads path if it can be trusted, in one open: O_NOFOLLOW (a
// symbolic link is refused, ELOOP), O_NONBLOCK (a FIFO swapped in cannot
// block the open), then fstat of that descriptor, then the read from it.
// A missing file returns an error matching fs.ErrNotExist. At most max
// bytes are read; a longer file is a *TooLargeError.
func ReadFile(path string, max int64) ([]byte, error) { return readFile(path, max, nil) }

// readFile is ReadFile; afterCheck, when set, runs between the check and
// the read (a test's attacker swaps the file there).
func readFile(path string, max int64, afterCheck func()) ([]byte, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NOFOLLOW|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.ELOOP) {
			return nil, &UnsafeError{Path: path, Reason: "is a symbolic link", Fix: "oauthctl reads only a regular file here; point the setting at the file itself"}
		}
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, &fs.PathError{Op: "fstat", Path: path, Err: err}
	}
	if err := checkMode(path, modeOf(uint32(st.Mode)), int(st.Uid), os.Getuid(), false); err != nil {
		return nil, err
	}
	if afterCheck != nil {
		afterCheck()
	}
	data, err := readFD(fd, st.Size, max)
	if err != nil {
		return nil, &fs.PathError{Op: "read", Path: path, Err: err}
	}
	if int64(len(data)) > max {
		return nil, &TooLargeError{Path: path, Max: max}
	}
	return data, nil
}

// readFD reads at most limit+1 bytes from fd with read(2) directly, not
// through an os.File: os.NewFile registers the descriptor with the
// runtime's network poller (epoll, an eventfd), which `oauthctl token`,
// reading two small files and exiting, would pay for nothing. A regular
// file never blocks, so the descriptor's O_NONBLOCK does not matter.
func readFD(fd int, size, limit int64) ([]byte, error) {
	buf := make([]byte, 0, min(max(size, 0), limit)+1)
	for int64(len(buf)) <= limit {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):min(int64(cap(buf)), limit+1)])
		switch {
		case err == unix.EINTR:
			continue
		case err != nil:
			return nil, err
		case n == 0:
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
	return buf, nil
}

// CheckDir refuses a directory that another user owns or that others can
// write: whoever can write it can replace the files in it. A missing
// directory is fine (it is created 0700 when first written). The last
// component must not be a symbolic link.
func CheckDir(path string) error {
	fi, err := os.Lstat(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	if fi.Mode()&fs.ModeSymlink != 0 {
		// A link to a directory of one's own is common (dotfiles); follow
		// it, but judge the target and the link's owner.
		if owner := ownerOf(fi); owner != os.Getuid() && owner != 0 {
			return &UnsafeError{Path: path, Reason: "is a symbolic link owned by another user"}
		}
		if fi, err = os.Stat(path); err != nil {
			return err
		}
	}
	st, _ := fi.Sys().(*syscall.Stat_t)
	owner := -1
	if st != nil {
		owner = int(st.Uid)
	}
	return checkMode(path, fi.Mode(), owner, os.Getuid(), true)
}

func ownerOf(fi fs.FileInfo) int {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return int(st.Uid)
	}
	return -1
}

// modeOf converts a stat mode to an fs.FileMode with the type bits that
// checkMode looks at.
func modeOf(m uint32) fs.FileMode {
	mode := fs.FileMode(m & 0o777)
	switch m & unix.S_IFMT {
	case unix.S_IFREG:
	case unix.S_IFDIR:
		mode |= fs.ModeDir
	case unix.S_IFLNK:
		mode |= fs.ModeSymlink
	case unix.S_IFIFO:
		mode |= fs.ModeNamedPipe
	default:
		mode |= fs.ModeIrregular
	}
	return mode
}
