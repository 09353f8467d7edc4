//go:build windows

package main

import (
	"errors"
	"os"
	"os/exec"
	"os/signal"
)

const exeSuffix = ".exe"

// run runs the program at path with argv's arguments, the standard streams
// and the environment, and exits with its exit code (Windows has no exec).
// It returns only when the program cannot be started.
func run(path string, argv []string) error {
	// Ctrl-C reaches every process on the console: the child decides, and
	// this one waits for its exit code.
	signal.Ignore(os.Interrupt)
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
