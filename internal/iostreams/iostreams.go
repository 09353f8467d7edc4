// Package iostreams bundles the standard streams a command writes to, with
// whether each is a terminal, so commands never touch os.Stdout directly and
// tests can capture exactly what went where.
package iostreams

import (
	"bytes"
	"io"
	"os"
)

// IOStreams are a command's input and outputs. Out carries the payload only;
// ErrOut carries every human message.
type IOStreams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	InTTY, OutTTY, ErrTTY bool
}

// System returns the process's own streams.
func System() *IOStreams {
	return &IOStreams{
		In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr,
		InTTY: IsTerminal(os.Stdin), OutTTY: IsTerminal(os.Stdout), ErrTTY: IsTerminal(os.Stderr),
	}
}

// IsTerminal reports whether f is a terminal. It asks the terminal driver
// (an ioctl on Unix, GetConsoleMode on Windows): a character device is not
// necessarily one (/dev/null is a character device, not a terminal).
func IsTerminal(f *os.File) bool {
	if f == nil {
		return false
	}
	return isTerminal(f)
}

// Test returns streams backed by buffers: stdin, stdout and stderr.
func Test() (*IOStreams, *bytes.Buffer, *bytes.Buffer, *bytes.Buffer) {
	in, out, errOut := &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	return &IOStreams{In: in, Out: out, ErrOut: errOut}, in, out, errOut
}
