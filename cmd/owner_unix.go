//go:build unix

package cmd

import (
	"io/fs"
	"os"
	"syscall"
)

// foreignOwner reports whether fi belongs to a user other than us or root.
func foreignOwner(fi fs.FileInfo) bool {
	st, ok := fi.Sys().(*syscall.Stat_t)
	return ok && int(st.Uid) != os.Getuid() && st.Uid != 0
}
