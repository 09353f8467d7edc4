//go:build windows

package main

import (
	"errors"
	"os"
	"os/exec"
)

const exeSuffix = ".exe"

// run runs the program at path with argv's arguments, the standard streams
// and the environment, and exits with its exit code (Windows has no exec).
// It returns only when the program cannot be started.
func run(path string, argv []string) error {
	c := exec.Command(path, argv[1:]...)
	c.Stdin, c.Stdout, c.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := c.Run()
	var exit *exec.ExitError
	switch {
	case errors.As(err, &exit):
		os.Exit(exit.ExitCode())
	case err != nil:
		return err
	}
	os.Exit(0)
	return nil
}
