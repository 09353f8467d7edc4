package keyring

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/oauthctl/oauthctl/internal/safefile"
)

func TestReadIndexFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	big := `{"version":1,"defaults":{},"accounts":[` + strings.Repeat(`{"provider":"p","account":"a"},`, 500) + `{"provider":"p","account":"b"}]}`
	tests := []struct {
		name    string
		content *string // nil: no file
		want    []byte
	}{
		{name: "missing file", content: nil, want: nil},
		{name: "empty file", content: new(string), want: []byte{}},
		{name: "small", content: ptr(`{"version":1}`), want: []byte(`{"version":1}`)},
		{name: "larger than the first buffer", content: &big, want: []byte(big)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".json")
			if tt.content != nil {
				if err := os.WriteFile(path, []byte(*tt.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			got, err := ReadIndexFile(path)
			if err != nil {
				t.Fatalf("ReadIndexFile: %v", err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" || (tt.want == nil) != (got == nil) {
				t.Errorf("ReadIndexFile (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := ReadIndexFile(dir); err == nil {
		t.Error("ReadIndexFile of a directory: no error")
	}
	// The hot path trusts the index no more than LoadIndex does.
	open := filepath.Join(dir, "world-writable.json")
	if err := os.WriteFile(open, []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(open, 0o666); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadIndexFile(open); !errors.Is(err, safefile.ErrUnsafe) {
		t.Errorf("ReadIndexFile of a world-writable index: %v, want ErrUnsafe", err)
	}
	// Nor in a directory that others can write (LoadIndex refuses it).
	openDir := filepath.Join(t.TempDir(), "state")
	if err := os.Mkdir(openDir, 0o700); err != nil {
		t.Fatal(err)
	}
	inOpenDir := filepath.Join(openDir, "accounts.json")
	if err := os.WriteFile(inOpenDir, []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(openDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadIndex(inOpenDir); !errors.Is(err, safefile.ErrUnsafe) {
		t.Fatalf("LoadIndex in a world-writable directory: %v, want ErrUnsafe", err)
	}
	if _, err := ReadIndexFile(inOpenDir); !errors.Is(err, safefile.ErrUnsafe) {
		t.Errorf("ReadIndexFile in a world-writable directory: %v, want ErrUnsafe", err)
	}
}

func TestParseIndexMatchesLoadIndex(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	tests := map[string]string{
		"valid":       `{"version":1,"defaults":{"p":"a"},"accounts":[{"provider":"p","account":"a","token_url":"https://x.example/t","client_id":"c","scopes":null,"refreshable":true}]}`,
		"no defaults": `{"version":1,"accounts":[]}`,
		"damaged":     `{"version":1,`,
		"version 2":   `{"version":2}`,
	}
	for name, content := range tests {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			path := filepath.Join(dir, strings.ReplaceAll(name, " ", "-")+".json")
			if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
			want, wantErr := LoadIndex(path)
			got, gotErr := ParseIndex(path, []byte(content))
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("ParseIndex vs LoadIndex (-want +got):\n%s", diff)
			}
			if (wantErr == nil) != (gotErr == nil) || (wantErr != nil && wantErr.Error() != gotErr.Error()) {
				t.Errorf("ParseIndex error %v, LoadIndex error %v", gotErr, wantErr)
			}
		})
	}
	got, err := ParseIndex(filepath.Join(dir, "missing.json"), nil)
	if err != nil || got.Version != IndexVersion || got.Defaults == nil || len(got.Accounts) != 0 {
		t.Errorf("ParseIndex(nil) = %+v, %v; want an empty index", got, err)
	}
}

func ptr(s string) *string { return &s }
