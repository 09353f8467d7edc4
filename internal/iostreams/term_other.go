//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly && !windows

package iostreams

import "os"

// isTerminal falls back to the file mode where no terminal ioctl is wired
// up: it also counts other character devices such as /dev/null.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
