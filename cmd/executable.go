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
// answers `token` faster and starts this program for the rest. Otherwise
// it is this executable (os.Executable). Symbolic links are resolved.
func executable() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if r, err := filepath.EvalSymlinks(self); err == nil {
		self = r
	}
	return frontBeside(self), nil
}

// frontBeside returns the front binary beside self when self is the full
// program's file, else self.
func frontBeside(self string) string {
	ext := ""
	if runtime.GOOS == "windows" {
		ext = ".exe"
	}
	if filepath.Base(self) != front.FullProgram+ext {
		return self
	}
	sib := filepath.Join(filepath.Dir(self), front.FrontProgram+ext)
	if fi, err := os.Stat(sib); err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
		return sib
	}
	return self
}
