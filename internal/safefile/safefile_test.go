//go:build unix

package safefile

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestReadFile covers what a trusted file may be: a regular file of the
// user (or root) that no one else can write. Everything else is refused
// without blocking (a FIFO) and without following a link.
func TestReadFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		want    string // "" means the content is read
		notExit bool
	}{
		{name: "own 0600 file", setup: func(t *testing.T, p string) { write(t, p, 0o600) }},
		{name: "own 0644 file", setup: func(t *testing.T, p string) { write(t, p, 0o644) }},
		{name: "missing", setup: func(*testing.T, string) {}, notExit: true},
		{name: "group-writable", setup: func(t *testing.T, p string) { write(t, p, 0o620) }, want: "is writable by other users (mode 0620)"},
		{name: "world-writable", setup: func(t *testing.T, p string) { write(t, p, 0o666) }, want: "is writable by other users (mode 0666)"},
		{name: "symlink to own file", setup: func(t *testing.T, p string) {
			write(t, p+".real", 0o600)
			if err := os.Symlink(p+".real", p); err != nil {
				t.Fatal(err)
			}
		}, want: "is a symbolic link"},
		{name: "FIFO", setup: func(t *testing.T, p string) {
			if err := syscall.Mkfifo(p, 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "is not a regular file"},
		{name: "directory", setup: func(t *testing.T, p string) {
			if err := os.Mkdir(p, 0o700); err != nil {
				t.Fatal(err)
			}
		}, want: "is a directory"},
		{name: "too large", setup: func(t *testing.T, p string) {
			if err := os.WriteFile(p, make([]byte, 2000), 0o600); err != nil {
				t.Fatal(err)
			}
		}, want: "is larger than 1024 bytes"},
	}
	if os.Getuid() == 0 {
		tests = append(tests, struct {
			name    string
			setup   func(t *testing.T, path string)
			want    string
			notExit bool
		}{name: "owned by another user", setup: func(t *testing.T, p string) {
			write(t, p, 0o644)
			if err := os.Chown(p, 65534, 65534); err != nil {
				t.Fatal(err)
			}
		}, want: "belongs to uid 65534"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			p := filepath.Join(t.TempDir(), "providers.yaml")
			tt.setup(t, p)
			done := make(chan struct{})
			var data []byte
			var err error
			go func() {
				defer close(done)
				data, err = ReadFile(p, 1024)
			}()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("ReadFile blocked")
			}
			switch {
			case tt.notExit:
				if !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("err = %v, want fs.ErrNotExist", err)
				}
			case tt.want == "":
				if err != nil || string(data) != "content" {
					t.Errorf("ReadFile = %q, %v", data, err)
				}
			default:
				if err == nil || !strings.Contains(err.Error(), tt.want) {
					t.Errorf("err = %v, want %q", err, tt.want)
				}
				if data != nil {
					t.Errorf("data returned with the error: %q", data)
				}
			}
		})
	}
}

// TestCheckDir: a directory others can write or own is refused; a missing
// one is fine; a link to one's own directory is followed.
func TestCheckDir(t *testing.T) {
	t.Parallel()
	base := t.TempDir()
	mk := func(name string, mode os.FileMode) string {
		p := filepath.Join(base, name)
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	own := mk("own", 0o700)
	link := filepath.Join(base, "link")
	if err := os.Symlink(own, link); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, path, want string
	}{
		{"own 0700", own, ""},
		{"own 0755", mk("own755", 0o755), ""},
		{"missing", filepath.Join(base, "missing"), ""},
		{"link to own", link, ""},
		{"world-writable", mk("ww", 0o777), "is writable by other users (mode 0777)"},
		{"sticky world-writable", mk("sticky", 0o777|os.ModeSticky), "is writable by other users"},
		{"group-writable", mk("gw", 0o770), "is writable by other users (mode 0770)"},
	}
	if os.Getuid() == 0 {
		other := mk("other", 0o755)
		if err := os.Chown(other, 65534, 65534); err != nil {
			t.Fatal(err)
		}
		tests = append(tests, struct{ name, path, want string }{"owned by another user", other, "belongs to uid 65534"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckDir(tt.path)
			if tt.want == "" && err != nil || tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !errors.Is(err, ErrUnsafe)) {
				t.Errorf("CheckDir = %v, want %q", err, tt.want)
			}
		})
	}
}

func write(t *testing.T, p string, mode os.FileMode) {
	t.Helper()
	if err := os.WriteFile(p, []byte("content"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		t.Fatal(err)
	}
}

// TestReadFileSwapAfterCheck reproduces the check-then-read race of issue
// 10 item 6 deterministically: right after the check, an attacker who can
// write the directory renames his own file over the checked one. What is
// read is still the checked file, because it is read from the descriptor
// that was checked, not opened again by name.
func TestReadFileSwapAfterCheck(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	p := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(p, []byte("victim"), 0o600); err != nil {
		t.Fatal(err)
	}
	evil := filepath.Join(dir, "evil")
	if err := os.WriteFile(evil, []byte("evil"), 0o666); err != nil {
		t.Fatal(err)
	}
	data, err := readFile(p, 1024, func() {
		if err := os.Rename(evil, p); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil || string(data) != "victim" {
		t.Errorf("read %q, %v; want the checked file's content", data, err)
	}
}
