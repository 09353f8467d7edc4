// Command oauthctl is the small front of oauthctl, installed as "oauthctl"
// next to the full program, "oauthctl-full" (the module's root package).
//
// `oauthctl token` is what scripts run many times a minute, and most of
// its time was the start-up of one large binary: the Go runtime runs the
// initializers of every linked package (HTTP, TLS, OIDC, YAML, the
// terminal UI) before main, whatever the command. This program links only
// what `token` needs to answer from stored state (cmd/front: the kernel
// keyring copy, else one keychain read) and answers that way when it can.
// For everything else, a refresh, an error to explain, any other command
// or flag, it replaces itself with the full program, with the same
// arguments, standard streams and environment, so that the result is
// exactly what the full program alone gives. The root package builds a
// complete, self-contained oauthctl too; this front only makes it faster.
package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/internal/procsec"
	"github.com/oauthctl/oauthctl/internal/sanitize"
	"github.com/oauthctl/oauthctl/keyring"
)

func main() {
	// Before anything reads a token (docs/security.md §3.5).
	procsec.DisableCoreDumps()
	defer func() {
		// As the full program does (cmd.Main): exit 1, no Go stack.
		if r := recover(); r != nil {
			fmt.Fprintf(os.Stderr, "oauthctl: internal error: %s\n", sanitize.Line(fmt.Sprint(r), front.MaxShownMessage))
			os.Exit(1)
		}
	}()
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "token" {
		if req, ok := front.Parse(args[1:]); ok {
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			handled, _, err := front.Serve(ctx, deps(os.Getenv), req, os.Stdout, os.Stderr)
			if !handled && ctx.Err() != nil {
				// Ctrl-C while the keychain was read: stop here (exit
				// 130), as the full program would, rather than start it.
				handled, err = true, ctx.Err()
			}
			stop()
			if handled {
				code := 0
				if err != nil {
					var text string
					text, code = front.ErrorText(err)
					fmt.Fprint(os.Stderr, text)
				}
				os.Exit(code)
			}
		}
	}
	path, err := fullProgram()
	if err == nil {
		if err = run(path, os.Args); err != nil {
			err = fmt.Errorf("%s: %w", path, err)
		}
	}
	fmt.Fprintf(os.Stderr, "oauthctl: cannot start the full program: %s\n", sanitize.Line(err.Error(), front.MaxShownMessage))
	if errors.Is(err, fs.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "install %s beside %s: see README, Build and run (or run scripts/install.sh)\n", front.FullProgram, front.FrontProgram)
	} else {
		fmt.Fprintf(os.Stderr, "it must be the executable %s from the same build as %s: reinstall both (scripts/install.sh)\n", front.FullProgram, front.FrontProgram)
	}
	os.Exit(1)
}

// deps are the hot path's dependencies: the kernel cache and the keychain
// when the user's state lives in the local keychain, else none (front.Serve
// then answers nothing and the full program runs).
func deps(getenv func(string) string) front.Deps {
	d := front.Deps{Getenv: getenv, Now: time.Now}
	if !front.KeychainStore(getenv) {
		return d // no cache and no keychain: Answer reads nothing
	}
	p, err := keyring.DefaultPaths(getenv)
	if err != nil {
		return d
	}
	d.Paths = func() (keyring.Paths, error) { return p, nil }
	d.Cache = keyring.NewKernelCache(p.Index, "keychain", getenv, time.Now)
	d.Keychain = func() keyring.Store { return keyring.NewKeychain() }
	return d
}

// fullProgram is the full program's path: FullProgram in the directory of
// this executable, with symbolic links resolved (a link to the front on
// $PATH still finds its real neighbour). Nothing is looked up on $PATH.
func fullProgram() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	if self, err = filepath.EvalSymlinks(self); err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(self), front.FullProgram+exeSuffix), nil
}
