package browser

import (
	"bytes"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
)

// syncBuffer is a bytes.Buffer safe for the launcher's output copier.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// script writes an executable shell script into dir.
func script(t *testing.T, dir, name, body string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return p
}

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// TestOpenerLaunchers runs fake launcher scripts through $BROWSER and
// --browser-command: the URL reaches the launcher as an argument (or in
// place of %s), the launcher's output goes to errOut, a launcher that exits
// non-zero at once is an error naming it and its status (and the next
// $BROWSER entry is tried), and a launcher that keeps running is a success.
func TestOpenerLaunchers(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("shell-script launchers")
	}
	t.Parallel()
	const url = "http://127.0.0.1:1/authorize?state=s"
	// The scripts are written before anything is started: a script still
	// open for writing in one test while another forks is "text file busy".
	// Each subtest hard-links them into its own directory, where the ok
	// script records the URL it got.
	shared := t.TempDir()
	scripts := map[string]string{
		"ok":   script(t, shared, "ok", "printf 'OPENED %s\\n' \"$*\"\nprintf '%s' \"$1\" >\"$(dirname \"$0\")/got-url\"\n"),
		"fail": script(t, shared, "fail", "echo launcher failing\nexit 3\n"),
		"slow": script(t, shared, "slow", "sleep 30\nexit 1\n"),
	}
	tests := []struct {
		name    string
		browser string // $BROWSER; "{ok}" etc. are replaced by script paths
		command string // --browser-command
		wantErr string // "" means success
		wantOut string // in errOut
		wantURL bool   // the ok script was given the URL
	}{
		{name: "BROWSER succeeds", browser: "{ok}", wantOut: "OPENED " + url + "\n", wantURL: true},
		{name: "BROWSER with a URL placeholder", browser: "{ok} --new-tab=%s", wantOut: "OPENED --new-tab=" + url + "\n"},
		{name: "BROWSER exits 3", browser: "{fail}", wantErr: "the browser command {fail} exited with status 3",
			wantOut: "launcher failing\n"},
		{name: "BROWSER=false", browser: "false", wantErr: "the browser command false exited with status 1"},
		{name: "BROWSER falls through to the next", browser: "{fail}:{ok}", wantOut: "launcher failing\nOPENED " + url + "\n", wantURL: true},
		{name: "BROWSER all fail", browser: "{fail}:false",
			wantErr: "the browser command {fail} exited with status 3\nthe browser command false exited with status 1"},
		{name: "BROWSER still running is left alone", browser: "{slow}"},
		{name: "--browser-command exits 3", command: "{fail}", browser: "{ok}", wantErr: "the browser command {fail} exited with status 3"},
		{name: "--browser-command succeeds", command: "{ok}", wantURL: true},
		{name: "--browser-command not found", command: "{dir}/missing", wantErr: "starting {dir}/missing: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			got := filepath.Join(dir, "got-url")
			repl := []string{"{dir}", dir}
			for name, p := range scripts {
				link := filepath.Join(dir, name)
				if err := os.Link(p, link); err != nil {
					t.Fatal(err)
				}
				repl = append(repl, "{"+name+"}", link)
			}
			paths := strings.NewReplacer(repl...)
			var errOut syncBuffer
			open := NewWithCommand(&errOut, env(map[string]string{"BROWSER": paths.Replace(tt.browser)}), paths.Replace(tt.command))
			err := open(t.Context(), url)
			switch want := paths.Replace(tt.wantErr); {
			case want == "" && err != nil:
				t.Fatalf("open: %v", err)
			case want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)):
				t.Fatalf("open: %v, want an error starting %q", err, want)
			}
			if !strings.Contains(errOut.String(), tt.wantOut) {
				t.Errorf("errOut = %q, want it to contain %q", errOut.String(), tt.wantOut)
			}
			b, _ := os.ReadFile(got)
			if gotURL := string(b) == url; gotURL != tt.wantURL {
				t.Errorf("launcher got %q; want the URL = %v", b, tt.wantURL)
			}
		})
	}
}

// TestOpenerNoLauncher: with no $BROWSER and none of the system launchers
// on $PATH, the error says what was tried and what to do, not pkg/browser's
// exec error.
func TestOpenerNoLauncher(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("the launcher list is Linux's")
	}
	t.Setenv("PATH", t.TempDir())
	var errOut syncBuffer
	err := New(&errOut, env(nil))(t.Context(), "http://127.0.0.1:1/authorize")
	const want = "no browser launcher found (tried xdg-open, x-www-browser, www-browser; set $BROWSER or use --browser-command)"
	if err == nil || err.Error() != want {
		t.Errorf("open: %v\nwant: %s", err, want)
	}
}
