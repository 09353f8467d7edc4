package cmd

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/creack/pty"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/picker"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// ptyRun is the built oauthctl running on a pseudo-terminal: stdin, stdout
// and stderr are the terminal, as when a person runs it.
type ptyRun struct {
	cmd    *exec.Cmd
	master *os.File
	mu     sync.Mutex
	screen bytes.Buffer
	done   chan error
	// drained is closed when everything the program wrote has been read.
	drained chan struct{}
}

func startPTY(t *testing.T, bin string, env []string, args ...string) *ptyRun {
	t.Helper()
	c := exec.CommandContext(t.Context(), bin, args...)
	c.Env = append(env, "TERM=xterm-256color", "NO_COLOR=")
	m, err := pty.StartWithSize(c, &pty.Winsize{Rows: 30, Cols: 100})
	if err != nil {
		t.Skipf("no pseudo-terminal: %v", err)
	}
	r := &ptyRun{cmd: c, master: m, done: make(chan error, 1), drained: make(chan struct{})}
	go func() {
		defer close(r.drained)
		buf := make([]byte, 4096)
		for {
			n, err := m.Read(buf)
			r.mu.Lock()
			r.screen.Write(buf[:n])
			r.mu.Unlock()
			if err != nil {
				return
			}
		}
	}()
	go func() { r.done <- c.Wait() }()
	t.Cleanup(func() { m.Close() })
	return r
}

func (r *ptyRun) output() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.screen.String()
}

// waitFor waits for re to match what the terminal received.
func (r *ptyRun) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		if m := re.FindStringSubmatch(r.output()); m != nil {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("the terminal never showed %q; it shows:\n%q", re, r.output())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *ptyRun) typeKeys(t *testing.T, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, err := io.WriteString(r.master, k); err != nil {
			t.Fatal(err)
		}
		time.Sleep(60 * time.Millisecond)
	}
}

func (r *ptyRun) wait(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		// The slave side is closed with the process: reading ends (EIO)
		// once the last output is read.
		select {
		case <-r.drained:
		case <-time.After(10 * time.Second):
			t.Errorf("the terminal output did not end")
		}
		if err != nil {
			t.Fatalf("oauthctl: %v; the terminal shows:\n%s", err, r.output())
		}
	case <-time.After(30 * time.Second):
		t.Fatalf("oauthctl did not exit; the terminal shows:\n%q", r.output())
	}
}

// TestLoginPTY runs the built oauthctl on a real pseudo-terminal, as a
// person would: `oauthctl login` with no provider shows the picker (type to
// filter, Enter), the browser opens (a script records the address), the
// live waiting line spins with the elapsed time, and the success line has
// its ✓. A second run has a browser launcher that fails: the login turns to
// the paste-back prompt at once, and the pasted address completes it.
func TestLoginPTY(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("pseudo-terminals and shell scripts")
	}
	testkeyring.Require(t)
	bin := buildOauthctl(t)

	t.Run("picker, browser and spinner", func(t *testing.T) {
		t.Parallel()
		op := testop.Start(t)
		env := newLoginEnv(t, testopYAML("ptyop", op.Issuer, testop.NativeClientID, "openid, email, offline_access")+
			"  other:\n    issuer: https://other.example\n")
		urlFile := filepath.Join(env.dir, "url")
		script := filepath.Join(env.dir, "browser")
		if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+urlFile+"\n"), 0o700); err != nil {
			t.Fatal(err)
		}
		env.set("BROWSER", script)
		key := keyring.Key{Provider: "ptyop", Account: "test-user@zitadel.ch"}
		t.Cleanup(func() { _ = keyring.NewKeychain().Delete(context.WithoutCancel(t.Context()), key) })

		r := startPTY(t, bin, env.environ(), "login")
		r.waitFor(t, regexp.MustCompile(`Sign in to`))
		r.waitFor(t, regexp.MustCompile(`add a provider by issuer URL…`))
		// ptyop has a client ID, so it is listed before other.
		if o := r.output(); strings.Index(o, "ptyop") > strings.Index(o, "other") {
			t.Errorf("a provider without a client ID is listed first:\n%s", o)
		}
		r.typeKeys(t, "p", "t", "y", "\r")
		r.waitFor(t, regexp.MustCompile(`Sign in to: ptyop`))
		r.waitFor(t, regexp.MustCompile(`[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] Waiting for you to finish signing in in the browser… \(Ctrl-C to cancel\) \(\d+s\)`))
		var authURL []byte
		for deadline := time.Now().Add(30 * time.Second); len(authURL) == 0 && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			authURL, _ = os.ReadFile(urlFile)
		}
		time.Sleep(1200 * time.Millisecond) // let the elapsed time tick
		if _, err := testop.NewBrowser(op, testop.Username, testop.Password).Visit(t.Context(), string(authURL)); err != nil {
			t.Fatalf("browser: %v", err)
		}
		r.wait(t)
		out := r.output()
		if !strings.Contains(out, "(1s)") {
			t.Errorf("the elapsed time did not advance:\n%q", out)
		}
		if !strings.Contains(out, "\x1b[32m✓\x1b[0m Logged in to ptyop as test-user@zitadel.ch.") {
			t.Errorf("no ✓ success line:\n%q", out)
		}
		if ix := env.loadIndex(t); ix.Find("ptyop", key.Account) == nil {
			t.Errorf("index has no %s", key)
		}
	})

	t.Run("launcher fails, paste-back", func(t *testing.T) {
		t.Parallel()
		op := testop.Start(t)
		env := newLoginEnv(t, testopYAML("ptypaste", op.Issuer, testop.NativeClientID, "openid, email"))
		env.set("BROWSER", "false")
		key := keyring.Key{Provider: "ptypaste", Account: "test-user@zitadel.ch"}
		t.Cleanup(func() { _ = keyring.NewKeychain().Delete(context.WithoutCancel(t.Context()), key) })

		start := time.Now()
		r := startPTY(t, bin, env.environ(), "login", "ptypaste")
		r.waitFor(t, regexp.MustCompile(`could not open a browser`))
		// The provider's own address, printed once the launcher failed,
		// saying plainly that the one-time address printed first is dead.
		authURL := r.waitFor(t, regexp.MustCompile(`The address above no longer works; open this one instead, in a browser on any machine, and sign in:\r?\n\r?\n  (http://\S+)\r?\n`))[1]
		r.waitFor(t, regexp.MustCompile(`paste it here and press Enter`))
		if d := time.Since(start); d > 20*time.Second {
			t.Errorf("the paste-back prompt took %s", d)
		}
		if strings.Contains(r.output(), "Waiting for you to finish signing in") {
			t.Errorf("a spinner runs over the paste-back prompt:\n%q", r.output())
		}
		redirect, err := testop.NewBrowser(op, testop.Username, testop.Password).FinalRedirect(t.Context(), authURL)
		if err != nil {
			t.Fatal(err)
		}
		r.typeKeys(t, redirect+"\r")
		r.wait(t)
		if !strings.Contains(r.output(), "Logged in to ptypaste as test-user@zitadel.ch.") {
			t.Errorf("terminal:\n%q", r.output())
		}
	})
}

// TestLoginNoProviderNotATerminal: without a terminal, `login` with no
// provider is exit 2 listing the providers, those with a client ID first.
func TestLoginNoProviderNotATerminal(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "providers:\n  google:\n    client_id: fake-id\n")
	res := e.run("login")
	want := "oauthctl: login needs a PROVIDER: google, github, gitlab, microsoft\nrun: oauthctl login PROVIDER (there is no terminal to choose one on)\n"
	if res.code != ExitUsage || res.out != "" || res.errOut != want {
		t.Errorf("exit %d, stdout %q, stderr %q; want 2, nothing, %q", res.code, res.out, res.errOut, want)
	}
}

// TestPickLoginProviderAdd: the picker's last entry runs the providers-add
// flow (name, issuer, client ID and scopes asked on the terminal), and the
// login goes on with the new provider from the new catalogue.
func TestPickLoginProviderAdd(t *testing.T) {
	op := testop.Start(t)
	e := newProvidersEnv(t)
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ios, stdin, _, errOut := iostreams.Test()
	ios.InTTY, ios.ErrTTY = true, true
	stdin.WriteString("newop\n" + op.Issuer + "\nweb\n\n")
	f := NewFactory(t.Context(), ios, builtin, "test")
	var shown []picker.Item
	opts := &LoginOptions{IO: ios, Session: f.Session(), Builtin: builtin, Pick: func(_ context.Context, title string, items []picker.Item) (int, error) {
		shown = items
		return len(items) - 1, nil
	}}
	if err := pickLoginProvider(t.Context(), opts); err != nil {
		t.Fatalf("%v\nstderr:\n%s", err, errOut)
	}
	if len(shown) != 5 || shown[4].Label != addProviderItem || shown[0].Detail != "github.com, no client ID yet" {
		t.Errorf("picker items: %+v", shown)
	}
	if opts.Provider != "newop" {
		t.Fatalf("provider %q, want newop", opts.Provider)
	}
	p, err := lookupProvider(opts.Session.Catalogue, "newop")
	if err != nil || p.ClientID != "web" || strings.Join(p.Scopes, " ") != "openid email offline_access" {
		t.Fatalf("new provider %+v, %v", p, err)
	}
	for _, want := range []string{"Name for the provider", "Issuer URL", "Client ID", "Scopes [openid,email,offline_access]: ", "\x1b[32m✓\x1b[0m Added newop to " + e.cfgPath} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut.String(), "Next:") {
		t.Errorf("a next step printed inside login:\n%s", errOut)
	}
}

// TestLoginNoProviderDumbTerminal: TERM=dumb cannot redraw a picker, so
// `login` without a provider lists them (exit 2) even on a terminal.
func TestLoginNoProviderDumbTerminal(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	f, out, errOut := e.factory("")
	f.IO.InTTY, f.IO.ErrTTY, f.IO.Dumb = true, true, true
	code := Run(t.Context(), f, []string{"login"})
	if code != ExitUsage || out.Len() != 0 || !strings.HasPrefix(errOut.String(), "oauthctl: login needs a PROVIDER: github, gitlab, google, microsoft\n") {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

// TestPickLoginProviderCancelled: Esc in the picker ends the login with
// exit 130 and says a choice was declined, not "interrupted".
func TestPickLoginProviderCancelled(t *testing.T) {
	newProvidersEnv(t)
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ios, _, _, _ := iostreams.Test()
	ios.InTTY, ios.ErrTTY = true, true
	f := NewFactory(t.Context(), ios, builtin, "test")
	opts := &LoginOptions{IO: ios, Session: f.Session(), Builtin: builtin, Pick: func(context.Context, string, []picker.Item) (int, error) {
		return -1, picker.ErrCancelled
	}}
	err = pickLoginProvider(t.Context(), opts)
	if code := ExitCode(err); code != ExitInterrupted {
		t.Errorf("exit %d, want %d", code, ExitInterrupted)
	}
	if got, want := errorText(err), "oauthctl: cancelled: no provider chosen, nothing was done\n"; got != want {
		t.Errorf("error text %q, want %q", got, want)
	}
}
