//go:build unix

package main

import (
	"os"
	"syscall"
)

const exeSuffix = ""

// run replaces this process with the program at path, with argv and the
// environment unchanged: same process ID, standard streams, signals and
// exit status, so callers (git, kubectl, scripts) see the full program
// only. It returns only when the exec fails.
func run(path string, argv []string) error {
	return syscall.Exec(path, argv, os.Environ())
}
