//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package picker

import (
	"errors"
	"io"
	"os"
	"sync"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// pollInterval bounds how long a read of the terminal blocks before it
// checks whether the picker has ended.
const pollInterval = 50 // milliseconds

// stoppableInput reads the terminal for Bubble Tea and can be stopped:
// after stop returns, no read of the terminal is in flight and none
// starts, so nothing the user types after the picker (a pasted address, the
// answer to the next prompt) is swallowed by a reader left behind. It is
// deliberately not an *os.File: given a file, Bubble Tea reads through an
// epoll-based canceller whose shutdown closes its pipe while its reading
// goroutine may still use it (a data race the race detector reports).
type stoppableInput struct {
	f       *os.File
	stopped atomic.Bool
	mu      sync.Mutex // held during a read; stop waits for it
}

func newStoppableInput(f *os.File) *stoppableInput { return &stoppableInput{f: f} }

func (r *stoppableInput) Read(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	fds := []unix.PollFd{{Fd: int32(r.f.Fd()), Events: unix.POLLIN}}
	for {
		if r.stopped.Load() {
			return 0, io.EOF
		}
		n, err := unix.Poll(fds, pollInterval)
		if errors.Is(err, unix.EINTR) {
			continue
		}
		if err != nil {
			return 0, err
		}
		if n > 0 {
			return r.f.Read(p)
		}
	}
}

// stop ends reading: it returns once no read is in flight.
func (r *stoppableInput) stop() {
	r.stopped.Store(true)
	r.mu.Lock()
	r.mu.Unlock() //nolint:staticcheck // waiting for an in-flight Read
}

// keepOutputProcessing turns output processing back on after raw mode
// (OPOST, ONLCR): Bubble Tea, not having set raw mode itself, writes "\n"
// and counts on the terminal to return the carriage.
func keepOutputProcessing(f *os.File) error {
	t, err := unix.IoctlGetTermios(int(f.Fd()), ioctlGetTermios)
	if err != nil {
		return err
	}
	t.Oflag |= unix.OPOST | unix.ONLCR
	return unix.IoctlSetTermios(int(f.Fd()), ioctlSetTermios, t)
}
