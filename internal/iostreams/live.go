package iostreams

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// spinnerFrames are drawn in turn, one every spinnerInterval.
var spinnerFrames = [...]string{"⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"}

const spinnerInterval = 100 * time.Millisecond

// Live is a status line on ErrOut while something is awaited: on a terminal
// a spinner, the message and the elapsed time, redrawn in place; elsewhere
// (a pipe, a log file, TERM=dumb) the message once as a plain line, so logs
// get one line and no control characters. Stop ends it. Print writes a
// line above it. Safe for concurrent use.
type Live struct {
	w       io.Writer
	msg     string
	animate bool
	start   time.Time
	now     func() time.Time

	mu      sync.Mutex
	frame   int
	stopped bool
	done    chan struct{}
	exited  chan struct{}
}

// StartLive shows msg as a live line on ErrOut. now is the clock for the
// elapsed time (time.Now in production).
func (s *IOStreams) StartLive(msg string, now func() time.Time) *Live {
	l := &Live{w: s.ErrOut, msg: msg, animate: s.ErrTTY && !s.Dumb, now: now, start: now(),
		done: make(chan struct{}), exited: make(chan struct{})}
	if !l.animate {
		fmt.Fprintln(l.w, msg)
		close(l.exited)
		return l
	}
	l.mu.Lock()
	l.draw()
	l.mu.Unlock()
	go l.run()
	return l
}

func (l *Live) run() {
	defer close(l.exited)
	t := time.NewTicker(spinnerInterval)
	defer t.Stop()
	for {
		select {
		case <-l.done:
			return
		case <-t.C:
			l.mu.Lock()
			if !l.stopped {
				l.frame = (l.frame + 1) % len(spinnerFrames)
				l.draw()
			}
			l.mu.Unlock()
		}
	}
}

// draw redraws the line; l.mu is held.
func (l *Live) draw() {
	fmt.Fprintf(l.w, "\r\x1b[K%s %s (%s)", spinnerFrames[l.frame], l.msg, Elapsed(l.now().Sub(l.start)))
}

// Print writes a line to ErrOut without garbling the live line: on a
// terminal it clears the line, prints, and redraws below.
func (l *Live) Print(line string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.animate || l.stopped {
		fmt.Fprintln(l.w, line)
		return
	}
	fmt.Fprint(l.w, "\r\x1b[K"+line+"\n")
	l.draw()
}

// Stop ends the live line and clears it on a terminal. It may be called
// more than once.
func (l *Live) Stop() {
	l.mu.Lock()
	if l.stopped {
		l.mu.Unlock()
		return
	}
	l.stopped = true
	if l.animate {
		fmt.Fprint(l.w, "\r\x1b[K")
	}
	l.mu.Unlock()
	if l.animate {
		close(l.done)
	}
	<-l.exited
}

// Elapsed formats d for a person: "7s", "1m05s", "1h02m".
func Elapsed(d time.Duration) string {
	d = d.Truncate(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	default:
		return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
	}
}
