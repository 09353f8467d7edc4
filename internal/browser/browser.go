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

	pkgbrowser "github.com/pkg/browser"
)

// Opener opens url in a browser. It returns once the launcher has started or
// failed; it does not wait for the user.
type Opener func(ctx context.Context, url string) error

// New returns the opener: the command named by command (--browser-command)
// if set, else $BROWSER (a colon-separated list of commands, each may use %s
// for the URL), else the platform's launcher via github.com/pkg/browser
// (xdg-open, open, rundll32). Commands run from argv, never through a shell.
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
			go func() { _ = cmd.Wait() }() // reap; the launcher's exit says nothing about the login
			return nil
		}
		if len(cmds) > 0 {
			return errors.Join(errs...)
		}
		// pkg/browser writes the launcher's output to its package variables;
		// point them at stderr here, at construction of the call, not in init().
		pkgbrowser.Stdout, pkgbrowser.Stderr = errOut, errOut
		return pkgbrowser.OpenURL(url)
	}
}
