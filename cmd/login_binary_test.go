package cmd

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestLoginBinary runs the built oauthctl end to end against the in-process
// OP and the private gnome-keyring: the URL reaches the browser through
// --browser-command, through $BROWSER, or is printed (--no-browser); the
// browser stand-in signs in; the tokens land in the real keychain; stdout
// stays empty. A SIGINT while waiting ends the login with 130, stores
// nothing and closes the port.
func TestLoginBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses a shell script as the browser")
	}
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	script := filepath.Join(t.TempDir(), "fake-browser")
	// The launcher writes to its stdout, which oauthctl must route to its
	// own stderr: a launcher must never corrupt `$(oauthctl ...)`.
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf 'BROWSER-OPENED %s\\n' \"$1\"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	urlIn := map[string]*regexp.Regexp{
		"opened":  regexp.MustCompile(`BROWSER-OPENED (\S+)\n`),
		"printed": regexp.MustCompile(`\n  (http://\S+)\n`),
	}
	tests := []struct {
		name    string
		args    []string
		browser string // $BROWSER
		urlFrom string
	}{
		{name: "browser-command", args: []string{"--browser-command", script}, urlFrom: "opened"},
		{name: "BROWSER", browser: script, urlFrom: "opened"},
		{name: "no-browser", args: []string{"--no-browser"}, urlFrom: "printed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t)
			provider := "bin-" + strings.ToLower(strings.ReplaceAll(tt.name, "-", ""))
			env := newLoginEnv(t, testopYAML(provider, op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
			env.set("BROWSER", tt.browser)
			key := keyring.Key{Provider: provider, Account: "test-user@zitadel.ch"}
			kc := keyring.NewKeychain()
			t.Cleanup(func() { _ = kc.Delete(context.WithoutCancel(t.Context()), key) })

			var stdout bytes.Buffer
			stderr := newSyncBuffer()
			c := exec.CommandContext(t.Context(), bin, append([]string{"login", provider}, tt.args...)...)
			c.Env, c.Stdout, c.Stderr = env.environ(), &stdout, stderr
			if err := c.Start(); err != nil {
				t.Fatal(err)
			}
			authURL := stderr.waitFor(t, urlIn[tt.urlFrom])[1]
			res, err := testop.NewBrowser(op, testop.Username, testop.Password).Visit(t.Context(), authURL)
			if err != nil {
				t.Fatalf("browser: %v\nstderr:\n%s", err, stderr)
			}
			if err := c.Wait(); err != nil {
				t.Fatalf("oauthctl: %v\nstderr:\n%s", err, stderr)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if res.StatusCode != 200 {
				t.Errorf("browser page status %d", res.StatusCode)
			}
			if !strings.Contains(stderr.String(), "Logged in to "+provider+" as test-user@zitadel.ch.") {
				t.Errorf("stderr:\n%s", stderr)
			}
			rec, err := kc.Load(t.Context(), key)
			if err != nil || rec.AccessToken == "" || rec.RefreshToken == "" {
				t.Fatalf("keychain after login: %v", err)
			}
			if ix := env.loadIndex(t); ix.Find(provider, key.Account) == nil {
				t.Errorf("index has no %s", key)
			}
		})
	}

	t.Run("SIGINT while waiting", func(t *testing.T) {
		t.Parallel()
		op := testop.Start(t)
		env := newLoginEnv(t, testopYAML("bin-sigint", op.Issuer, testop.NativeClientID, "openid"))
		var stdout bytes.Buffer
		stderr := newSyncBuffer()
		c := exec.CommandContext(t.Context(), bin, "login", "bin-sigint", "--no-browser")
		c.Env, c.Stdout, c.Stderr = env.environ(), &stdout, stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		authURL := stderr.waitFor(t, urlIn["printed"])[1]
		u, _ := url.Parse(authURL)
		redirect, _ := url.Parse(u.Query().Get("redirect_uri"))
		if err := c.Process.Signal(syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		err := c.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != ExitInterrupted {
			t.Fatalf("exit: %v, want %d\nstderr:\n%s", err, ExitInterrupted, stderr)
		}
		if !strings.HasSuffix(stderr.String(), "oauthctl: interrupted\n") || stdout.Len() != 0 {
			t.Errorf("stdout %q, stderr:\n%s", stdout.String(), stderr)
		}
		if conn, err := net.Dial("tcp", redirect.Host); err == nil {
			conn.Close()
			t.Errorf("%s still accepts connections", redirect.Host)
		}
		if ix := env.loadIndex(t); len(ix.Accounts) != 0 {
			t.Errorf("index = %+v, want empty", ix.Accounts)
		}
	})
}
