//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package iostreams

import (
	"os"

	"golang.org/x/sys/unix"
)

// isTerminal asks the terminal driver for f's settings: only a terminal
// has them.
func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TIOCGETA)
	return err == nil
}
