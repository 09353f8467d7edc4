//go:build linux

package iostreams

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestColorScheme: colour and symbols only on a terminal; NO_COLOR drops
// the colour, TERM=dumb both.
func TestColorScheme(t *testing.T) {
	t.Parallel()
	_, slave := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	env := func(kv ...string) func(string) string {
		return func(k string) string {
			for i := 0; i+1 < len(kv); i += 2 {
				if kv[i] == k {
					return kv[i+1]
				}
			}
			return ""
		}
	}
	tests := []struct {
		name                   string
		errOut                 *os.File
		getenv                 func(string) string
		success, warning, bold string
	}{
		{"terminal", slave, env("TERM", "xterm-256color"), "\x1b[32m✓\x1b[0m done", "\x1b[33m!\x1b[0m careful", "\x1b[1mx\x1b[0m"},
		{"terminal NO_COLOR", slave, env("TERM", "xterm", "NO_COLOR", "1"), "✓ done", "! careful", "x"},
		{"terminal TERM=dumb", slave, env("TERM", "dumb"), "done", "warning: careful", "x"},
		{"pipe", w, env("TERM", "xterm"), "done", "warning: careful", "x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := FromFiles(os.Stdin, w, tt.errOut, tt.getenv)
			cs := s.ErrColorScheme()
			if got := cs.Success("done"); got != tt.success {
				t.Errorf("Success = %q, want %q", got, tt.success)
			}
			if got := cs.Warning("careful"); got != tt.warning {
				t.Errorf("Warning = %q, want %q", got, tt.warning)
			}
			if got := cs.Bold("x"); got != tt.bold {
				t.Errorf("Bold = %q, want %q", got, tt.bold)
			}
			if s.OutColorScheme().Enabled() || s.OutColorScheme().Symbols() {
				t.Errorf("stdout is a pipe, but its scheme colours or draws symbols")
			}
		})
	}
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// TestLiveTerminal drives the live line through a real pseudo-terminal: a
// spinner frame, the message and the elapsed time redrawn in place, a
// printed line above it, and a cleared line after Stop.
func TestLiveTerminal(t *testing.T) {
	t.Parallel()
	master, slave := openPTY(t)
	s := FromFiles(os.Stdin, slave, slave, func(k string) string {
		if k == "TERM" {
			return "xterm"
		}
		return ""
	})
	if !s.ErrTTY {
		t.Fatal("the pty slave is not a terminal")
	}
	var got bytes.Buffer
	readDone := make(chan struct{})
	go func() { io.Copy(&got, master); close(readDone) }()

	c := &clock{t: time.Unix(0, 0)}
	l := s.StartLive("Waiting for you", c.now)
	c.add(65 * time.Second)
	time.Sleep(3 * spinnerInterval)
	l.Print("a line above")
	l.Stop()
	l.Stop() // twice is fine
	slave.Close()
	select {
	case <-readDone:
	case <-time.After(5 * time.Second):
		t.Fatal("reading the pty did not end")
	}
	out := got.String()
	for _, want := range []string{
		"\r\x1b[K⠋ Waiting for you (0s)",
		"Waiting for you (1m05s)",
		"\r\x1b[Ka line above\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("terminal output %q lacks %q", out, want)
		}
	}
	if !strings.HasSuffix(out, "\r\x1b[K") {
		t.Errorf("terminal output %q does not end by clearing the line", out)
	}
	frames := 0
	for _, f := range spinnerFrames {
		if strings.Contains(out, f+" Waiting") {
			frames++
		}
	}
	if frames < 2 {
		t.Errorf("the spinner drew %d distinct frames, want it to turn: %q", frames, out)
	}
}

// TestLivePlain: off a terminal (a pipe, TERM=dumb) the live line is one
// plain line, with no control characters, and Print adds plain lines.
func TestLivePlain(t *testing.T) {
	t.Parallel()
	_, slave := openPTY(t)
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	for _, tt := range []struct {
		name string
		f    *os.File
		term string
	}{{"pipe", w, "xterm"}, {"dumb terminal", slave, "dumb"}} {
		var buf bytes.Buffer
		s := FromFiles(os.Stdin, tt.f, tt.f, func(k string) string {
			if k == "TERM" {
				return tt.term
			}
			return ""
		})
		s.ErrOut = &buf
		l := s.StartLive("Waiting for you", time.Now)
		time.Sleep(2 * spinnerInterval)
		l.Print("more")
		l.Stop()
		if got, want := buf.String(), "Waiting for you\nmore\n"; got != want {
			t.Errorf("%s: output %q, want %q", tt.name, got, want)
		}
	}
	w.Close()
}

func TestElapsed(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 7*time.Second + 900*time.Millisecond: "7s", 65 * time.Second: "1m05s", 62*time.Minute + 5*time.Second: "1h02m",
	} {
		if got := Elapsed(d); got != want {
			t.Errorf("Elapsed(%v) = %q, want %q", d, got, want)
		}
	}
}
