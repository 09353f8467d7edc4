package cmd

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/cmd/front"
)

// Packages the binary tests build: the front, installed as "oauthctl", and
// the full program, installed beside it as "oauthctl-full" (issue 14).
const (
	frontPackage = "github.com/oauthctl/oauthctl/cmd/oauthctl"
	fullPackage  = "github.com/oauthctl/oauthctl"
)

// binaries holds the programs built once per test binary run (the build is
// the slow part of every binary test, twice so under -race on 2 CPUs) in a
// directory that TestMain removes at the end.
var binaries struct {
	once sync.Once
	dir  string
	err  error
}

// exe is name with the platform's executable suffix.
func exe(name string) string {
	if runtime.GOOS == "windows" {
		return name + ".exe"
	}
	return name
}

// buildOauthctl returns the path of the front binary, "oauthctl", with the
// full program "oauthctl-full" beside it, as users install them: every
// binary test runs oauthctl the way a shell, git or kubectl does. Both are
// built once per test binary run, without -race (they are the programs
// under test, not the test), and shared: tests must not change the
// directory; copy a binary elsewhere to vary the layout (frontOnly).
func buildOauthctl(t *testing.T) string {
	t.Helper()
	binaries.once.Do(func() {
		binaries.dir, binaries.err = buildBinaries()
	})
	if binaries.err != nil {
		t.Fatal(binaries.err)
	}
	return filepath.Join(binaries.dir, exe(front.FrontProgram))
}

// fullOauthctl returns the path of the full program that buildOauthctl
// built, beside the front.
func fullOauthctl(t *testing.T) string {
	t.Helper()
	return filepath.Join(filepath.Dir(buildOauthctl(t)), exe(front.FullProgram))
}

// buildBinaries builds the front and the full program into a new temporary
// directory. The context is not a test's: the build is shared by them all.
func buildBinaries() (string, error) {
	dir, err := os.MkdirTemp("", "oauthctl-bin-")
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	for _, b := range []struct{ name, pkg string }{{front.FrontProgram, frontPackage}, {front.FullProgram, fullPackage}} {
		out, err := exec.CommandContext(ctx, "go", "build", "-o", filepath.Join(dir, exe(b.name)), b.pkg).CombinedOutput()
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("go build %s: %v\n%s", b.pkg, err, out)
		}
	}
	return dir, nil
}

// removeBinaries removes what buildOauthctl built; TestMain calls it after
// the tests.
func removeBinaries() {
	if binaries.dir != "" {
		os.RemoveAll(binaries.dir)
	}
}

// frontOnly copies the front binary alone into a new directory and returns
// its path there: nothing named oauthctl-full is beside it.
func frontOnly(t *testing.T) string {
	t.Helper()
	src := buildOauthctl(t)
	dst := filepath.Join(t.TempDir(), exe(front.FrontProgram))
	copyFile(t, src, dst, 0o755)
	return dst
}

// copyFile copies src to a new file dst with mode perm.
func copyFile(t *testing.T, src, dst string, perm os.FileMode) {
	t.Helper()
	in, err := os.Open(src)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_WRONLY|os.O_CREATE|os.O_EXCL, perm)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		out.Close()
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
