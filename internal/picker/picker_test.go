package picker

import (
	"bytes"
	"context"
	"errors"
	"io"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"
)

// term is a pseudo-terminal: the picker gets the slave as its terminal, the
// test types on the master and reads what was drawn.
type ptyTerm struct {
	master, slave *os.File
	mu            sync.Mutex
	screen        bytes.Buffer
}

func newTerm(t *testing.T) *ptyTerm {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	if err := pty.Setsize(m, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	tm := &ptyTerm{master: m, slave: s}
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			tm.mu.Lock()
			tm.screen.Write(buf[:n])
			tm.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	t.Cleanup(func() { s.Close(); m.Close() })
	return tm
}

func (tm *ptyTerm) output() string {
	tm.mu.Lock()
	defer tm.mu.Unlock()
	return tm.screen.String()
}

// waitFor waits until the drawn output contains s.
func (tm *ptyTerm) waitFor(t *testing.T, s string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(tm.output(), s) {
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%q", s, tm.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

var providers = []Item{
	{Label: "corp", Detail: "client ID configured"},
	{Label: "google", Detail: "client ID configured"},
	{Label: "github"},
	{Label: "gitlab"},
	{Label: "microsoft"},
	{Label: "add a provider by issuer URL…"},
}

// TestPickThroughPTY drives the picker through a real pseudo-terminal with
// the keys a person would press.
func TestPickThroughPTY(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		keys    []string // typed one after another, after the list is drawn
		want    int
		wantErr error
	}{
		{"enter takes the first", []string{"\r"}, 0, nil},
		{"arrow down twice", []string{"\x1b[B", "\x1b[B", "\r"}, 2, nil},
		{"down then up", []string{"\x1b[B", "\x1b[B", "\x1b[A", "\r"}, 1, nil},
		{"type to filter", []string{"g", "i", "t", "l", "\r"}, 3, nil},
		{"filter then move", []string{"g", "i", "t", "\x1b[B", "\r"}, 3, nil},
		{"backspace widens", []string{"m", "x", "\x7f", "\r"}, 4, nil},
		{"filter is case-insensitive", []string{"A", "D", "D", "\r"}, 5, nil},
		{"no match, enter does nothing, then fix", []string{"z", "z", "\r", "\x7f", "\x7f", "m", "i", "\r"}, 4, nil},
		{"ctrl-c cancels", []string{"\x03"}, -1, ErrCancelled},
		{"esc cancels", []string{"\x1b"}, -1, ErrCancelled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tm := newTerm(t)
			type result struct {
				i   int
				err error
			}
			done := make(chan result, 1)
			go func() {
				i, err := Pick(t.Context(), tm.slave, tm.slave, []string{"TERM=xterm-256color"}, "Sign in to", providers)
				done <- result{i, err}
			}()
			tm.waitFor(t, "microsoft")
			for _, k := range tt.keys {
				if _, err := io.WriteString(tm.master, k); err != nil {
					t.Fatal(err)
				}
				time.Sleep(60 * time.Millisecond) // a person types; an Esc alone must not read as the start of a sequence
			}
			select {
			case r := <-done:
				if r.i != tt.want || !errors.Is(r.err, tt.wantErr) && !(r.err == nil && tt.wantErr == nil) {
					t.Errorf("Pick = %d, %v; want %d, %v", r.i, r.err, tt.want, tt.wantErr)
				}
				if r.err == nil {
					tm.waitFor(t, "Sign in to: "+providers[tt.want].Label)
				}
			case <-time.After(10 * time.Second):
				t.Fatalf("Pick did not return; the terminal shows:\n%q", tm.output())
			}
		})
	}
}

// TestPickShowsFilterAndHint: the first drawing explains the keys, typing
// shows the filter, and only matching items remain.
func TestPickShowsFilterAndHint(t *testing.T) {
	t.Parallel()
	tm := newTerm(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		_, err := Pick(ctx, tm.slave, tm.slave, []string{"TERM=xterm-256color"}, "Sign in to", providers)
		done <- err
	}()
	tm.waitFor(t, "type to filter, ↑↓ to move, Enter to choose, Esc to cancel")
	tm.waitFor(t, "client ID configured")
	// Each line starts at the left edge: the terminal still turns "\n"
	// into "\r\n" (output processing stays on in raw mode).
	if o := tm.output(); strings.Count(o, "\n") != strings.Count(o, "\r\n") {
		t.Errorf("a line feed without a carriage return:\n%q", o)
	}
	io.WriteString(tm.master, "micro")
	tm.waitFor(t, "micro")
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled context: err = %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Pick ignored the cancelled context")
	}
}

func TestModelScrolls(t *testing.T) {
	t.Parallel()
	var items []Item
	for i := 0; i < 25; i++ {
		items = append(items, Item{Label: "p" + string(rune('a'+i))})
	}
	m := newModel("x", items)
	if v := m.View().Content; !strings.Contains(v, "15 more") {
		t.Errorf("first view lacks the scroll note:\n%s", v)
	}
	if _, err := Pick(t.Context(), nil, io.Discard, nil, "x", nil); err == nil {
		t.Error("an empty list did not fail")
	}
}
