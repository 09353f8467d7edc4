// Package browser opens URLs in the user's browser for the login flow. The
// launcher's own output is routed to our stderr: a launcher that writes to
// stdout would corrupt `$(oauthctl ...)` in a script.
package browser

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	pkgbrowser "github.com/pkg/browser"
)

// Opener opens url in a browser. It returns once the launcher has started or
// failed; it does not wait for the user.
type Opener func(ctx context.Context, url string) error

// launcherGrace is how long an opener waits for a $BROWSER or
// --browser-command launcher to exit: one that fails (BROWSER=false, a
// wrapper that finds no display) fails within it. A launcher still running
// after it is left alone (it may be the browser itself) and reaped in the
// background.
const launcherGrace = time.Second

// New returns the opener: the command named by command (--browser-command)
// if set, else $BROWSER (a colon-separated list of commands, each may use %s
// for the URL), else the platform's launcher via github.com/pkg/browser
// (xdg-open, open, rundll32). Commands run from argv, never through a shell.
// A $BROWSER command that exits non-zero within launcherGrace counts as
// failed and the next one is tried, as with xdg-utils.
func New(errOut io.Writer, getenv func(string) string) Opener {
	return NewWithCommand(errOut, getenv, "")
}

// NewWithCommand is New with an explicit launcher command.
func NewWithCommand(errOut io.Writer, getenv func(string) string, command string) Opener {
	return func(ctx context.Context, url string) error {
		cmds := []string{}
		if command != "" {
			cmds = append(cmds, command)
		} else if b := getenv("BROWSER"); b != "" {
			cmds = strings.Split(b, ":")
		}
		var errs []error
		for _, c := range cmds {
			argv := strings.Fields(c)
			if len(argv) == 0 {
				continue
			}
			substituted := false
			for i, a := range argv {
				if strings.Contains(a, "%s") {
					argv[i] = strings.ReplaceAll(a, "%s", url)
					substituted = true
				}
			}
			if !substituted {
				argv = append(argv, url)
			}
			cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
			cmd.Stdout, cmd.Stderr = errOut, errOut
			if err := cmd.Start(); err != nil {
				errs = append(errs, fmt.Errorf("starting %s: %w", argv[0], err))
				continue
			}
			if err := waitLauncher(cmd, argv[0]); err != nil {
				errs = append(errs, err)
				continue
			}
			return nil
		}
		if len(cmds) > 0 {
			return errors.Join(errs...)
		}
		// pkg/browser writes the launcher's output to its package variables;
		// point them at stderr here, at construction of the call, not in init().
		pkgbrowser.Stdout, pkgbrowser.Stderr = errOut, errOut
		return launcherNotFound(pkgbrowser.OpenURL(url))
	}
}

// waitLauncher waits up to launcherGrace for a started launcher. It returns
// an error when the launcher exited unsuccessfully within that time; one
// still running is reaped in the background.
func waitLauncher(cmd *exec.Cmd, name string) error {
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	timer := time.NewTimer(launcherGrace)
	defer timer.Stop()
	var err error
	select {
	case err = <-done:
	case <-timer.C:
		return nil // still running: the goroutine reaps it
	}
	var ee *exec.ExitError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ee) && ee.ExitCode() >= 0:
		return fmt.Errorf("the browser command %s exited with status %d", name, ee.ExitCode())
	case errors.As(err, &ee):
		return fmt.Errorf("the browser command %s ended: %s", name, ee.ProcessState)
	}
	return fmt.Errorf("the browser command %s: %w", name, err)
}

// launcherNotFound rewrites github.com/pkg/browser's error for a system
// with none of its launchers (exec: "xdg-open,x-www-browser,www-browser":
// executable file not found in $PATH) into one that says what to do.
func launcherNotFound(err error) error {
	var ee *exec.Error
	if err == nil || !errors.As(err, &ee) || !errors.Is(ee.Err, exec.ErrNotFound) {
		return err
	}
	return fmt.Errorf("no browser launcher found (tried %s; set $BROWSER or use --browser-command)",
		strings.Join(strings.Split(ee.Name, ","), ", "))
}
