package cmd

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestErrorTextAgrees: what the front binary prints and exits with for an
// error front.Serve returns is what the full program prints for it
// (errorTextFor, ExitCode), byte for byte.
func TestErrorTextAgrees(t *testing.T) {
	t.Parallel()
	unavailable := func(msg string) *keyring.UnavailableError {
		return &keyring.UnavailableError{Op: "read", Msg: msg, Err: errors.New("dbus: " + msg)}
	}
	tests := []struct {
		name string
		err  error
	}{
		{name: "locked", err: unavailable("the keychain is locked")},
		{name: "no bus", err: unavailable("no D-Bus session bus")},
		{name: "no connection", err: unavailable("cannot connect to the D-Bus session bus")},
		{name: "no Secret Service", err: unavailable("no Secret Service on the session bus")},
		{name: "timeout", err: unavailable("the keychain did not answer within 15s")},
		{name: "other", err: &keyring.UnavailableError{Op: "read", Msg: "weird \x1b[31m failure", Hint: "try again"}},
		{name: "wrapped", err: fmt.Errorf("reading the tokens of acme:alice: %w", unavailable("the keychain is locked"))},
		{name: "interrupted", err: context.Canceled},
		{name: "write", err: fmt.Errorf("writing the token: %w", os.ErrClosed)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			text, code := front.ErrorText(tt.err)
			if want := errorTextFor(tt.err, "token"); text != want {
				t.Errorf("front.ErrorText = %q, the full program prints %q", text, want)
			}
			if want := ExitCode(tt.err); code != want {
				t.Errorf("front.ErrorText exit %d, the full program exits %d", code, want)
			}
		})
	}
}

// TestKeychainStoreAgrees: which configurations the front binary treats as
// the local keychain's (want), and that it does exactly when the full
// program's store choice says "keychain" without an error.
func TestKeychainStoreAgrees(t *testing.T) {
	t.Parallel()
	file := func(t *testing.T, body string, mode os.FileMode) string {
		t.Helper()
		p := filepath.Join(t.TempDir(), "providers.yaml")
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chmod(p, mode); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name string
		env  func(t *testing.T) map[string]string
		want bool
	}{
		{name: "default, no file", want: true, env: func(t *testing.T) map[string]string { return map[string]string{"XDG_CONFIG_HOME": t.TempDir()} }},
		{name: "OAUTHCTL_STORE=keychain", want: true, env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_STORE": "keychain", "XDG_CONFIG_HOME": t.TempDir()}
		}},
		{name: "OAUTHCTL_STORE=vault", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_STORE": "vault", "XDG_CONFIG_HOME": t.TempDir()}
		}},
		{name: "OAUTHCTL_STORE=bogus", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_STORE": "bogus", "XDG_CONFIG_HOME": t.TempDir()}
		}},
		{name: "file without store", want: true, env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": file(t, "providers: {}\n", 0o600)}
		}},
		{name: "store: keychain", want: true, env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": file(t, "store: keychain # local\n", 0o600)}
		}},
		{name: "store: vault", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": file(t, "store: 'vault'\n", 0o600)}
		}},
		{name: "store: bogus", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": file(t, "store: bogus\n", 0o600)}
		}},
		{name: "named file missing", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": filepath.Join(t.TempDir(), "none.yaml")}
		}},
		{name: "file others can write", env: func(t *testing.T) map[string]string {
			return map[string]string{"OAUTHCTL_CONFIG": file(t, "providers: {}\n", 0o666)}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			env := tt.env(t)
			getenv := func(k string) string { return env[k] }
			kind, err := storeKind(getenv, func() (auth.ConfigSource, error) { return readUserConfig(getenv) })
			full := err == nil && kind == StoreKeychain
			got := front.KeychainStore(getenv)
			if got != tt.want {
				t.Errorf("front.KeychainStore = %v, want %v", got, tt.want)
			}
			if got != full {
				t.Errorf("front.KeychainStore = %v; the full program: %q, %v", got, kind, err)
			}
		})
	}
}
