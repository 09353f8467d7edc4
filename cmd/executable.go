package cmd

import (
	"os"
	"path/filepath"
	"runtime"

	"github.com/oauthctl/oauthctl/cmd/front"
)

// executable is the path that other programs (git, kubectl) should run
// oauthctl by. That is the front binary (cmd/oauthctl), when this full
// program runs as front.FullProgram and the front sits beside it: the front
// answers `token` faster and starts this program for the rest. Otherwise it
// is this executable as os.Executable names it: symbolic links are resolved
// only to recognise the full program, so that a path such as Homebrew's
// /opt/homebrew/bin/oauthctl is written as it is, not as the versioned
// directory it links to, which an upgrade removes.
func executable() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	resolved := self
	if r, err := filepath.EvalSymlinks(self); err == nil {
		resolved = r
	}
	if sib, ok := frontBeside(resolved); ok {
		return sib, nil
	}
	return self, nil
}

// frontBeside returns the front binary beside self when self is the full
// program's file and the front is there.
func frontBeside(self string) (string, bool) {
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	if filepath.Base(self) != front.FullProgram+ext {
		return "", false
	}
	sib := filepath.Join(filepath.Dir(self), front.FrontProgram+ext)
	fi, err := os.Stat(sib)
	if err != nil || !fi.Mode().IsRegular() {
		return "", false
	}
	// Windows has no execute bits (Go reports none for files).
	if runtime.GOOS != "windows" && fi.Mode().Perm()&0o111 == 0 {
		return "", false
	}
	return sib, true
}
