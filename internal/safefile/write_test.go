package safefile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestWriteFile(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		followLink bool
		// wantLink: the path is still a symbolic link afterwards.
		wantLink bool
	}{
		{name: "follow: written through the link", followLink: true, wantLink: true},
		{name: "no follow: the link is replaced", followLink: false, wantLink: false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			target := filepath.Join(dir, "target")
			link := filepath.Join(dir, "link")
			if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
				t.Fatal(err)
			}
			if err := os.Symlink(target, link); err != nil {
				t.Fatal(err)
			}
			if err := WriteFile(link, []byte("new"), tt.followLink); err != nil {
				t.Fatal(err)
			}
			fi, err := os.Lstat(link)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode()&os.ModeSymlink != 0; got != tt.wantLink {
				t.Errorf("link kept = %v, want %v", got, tt.wantLink)
			}
			written, kept := link, "old"
			if tt.wantLink {
				written = target
			}
			if b, _ := os.ReadFile(written); string(b) != "new" {
				t.Errorf("%s holds %q, want new", written, b)
			}
			if !tt.wantLink {
				if b, _ := os.ReadFile(target); string(b) != kept {
					t.Errorf("the old link target changed to %q", b)
				}
			}
			if fi, _ := os.Stat(written); fi.Mode().Perm() != 0o600 {
				t.Errorf("mode %v, want 0600", fi.Mode().Perm())
			}
			ents, _ := os.ReadDir(dir)
			for _, e := range ents {
				if strings.Contains(e.Name(), ".tmp-") {
					t.Errorf("temporary file left: %s", e.Name())
				}
			}
		})
	}
}

func TestWriteFileCreatesPrivateDirectory(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "a", "b", "file")
	if err := WriteFile(path, []byte("x"), false); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Dir(path))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("directory mode %v, want 0700", fi.Mode().Perm())
	}
}
