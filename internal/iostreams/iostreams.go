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

	// NoColor is set by NO_COLOR (any value, https://no-color.org) or
	// TERM=dumb: no colour even on a terminal.
	NoColor bool
	// Dumb is TERM=dumb: a terminal that cannot move the cursor or draw
	// symbols, so no spinner, no colour, no ✓.
	Dumb bool
}

// System returns the process's own streams.
func System() *IOStreams { return FromFiles(os.Stdin, os.Stdout, os.Stderr, os.Getenv) }

// FromFiles returns streams over the given files, each checked for being a
// terminal, with NO_COLOR and TERM read through getenv.
func FromFiles(in, out, errOut *os.File, getenv func(string) string) *IOStreams {
	dumb := getenv("TERM") == "dumb"
	return &IOStreams{
		In: in, Out: out, ErrOut: errOut,
		InTTY: IsTerminal(in), OutTTY: IsTerminal(out), ErrTTY: IsTerminal(errOut),
		NoColor: getenv("NO_COLOR") != "" || dumb,
		Dumb:    dumb,
	}
}

// Interactive reports whether a person can answer a prompt: stdin and
// stderr (where prompts go) are both terminals.
func (s *IOStreams) Interactive() bool { return s.InTTY && s.ErrTTY }

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
