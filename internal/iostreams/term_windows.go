//go:build windows

package iostreams

import (
	"os"

	"golang.org/x/sys/windows"
)

// isTerminal reports whether f is a console: only a console has a mode.
// (NUL is a character device, but not a console.)
func isTerminal(f *os.File) bool {
	var mode uint32
	return windows.GetConsoleMode(windows.Handle(f.Fd()), &mode) == nil
}
