package cmd

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestBinaryKeychainUnavailable (rows 43, 44) runs the built oauthctl with a
// stored account against broken secure storage: no session bus, a bus
// without a Secret Service, a locked keyring whose unlock prompt is
// dismissed. `oauthctl token` exits 6 with a message that names the fix,
// prints nothing on stdout, and writes no token anywhere else.
func TestBinaryKeychainUnavailable(t *testing.T) {
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	bareEnv, stopBare, err := testkeyring.StartBus()
	if err != nil {
		t.Fatalf("StartBus: %v", err)
	}
	t.Cleanup(stopBare)
	lockedEnv, stopLocked, err := testkeyring.StartLocked()
	if err != nil {
		t.Fatalf("StartLocked: %v", err)
	}
	t.Cleanup(stopLocked)
	state := testkeyring.StateEnv + "=error: broken on purpose"

	tests := []struct {
		name string
		env  []string
		want string
	}{
		{
			name: "no D-Bus session",
			env:  []string{state},
			want: "oauthctl: cannot get a token: the keychain is unavailable: no D-Bus session bus\nrun: dbus-run-session -- bash, and in it: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n",
		},
		{
			name: "no Secret Service",
			env:  bareEnv,
			want: "oauthctl: cannot get a token: the keychain is unavailable: no Secret Service on the session bus\ninstall gnome-keyring (Debian: apt install gnome-keyring), then run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n",
		},
		{
			name: "locked keyring",
			env:  lockedEnv,
			want: "oauthctl: cannot get a token: the keychain is locked\nunlock it in your desktop's prompt or run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			stateDir := filepath.Join(dir, "state")
			ix := &keyring.Index{}
			ix.Put(keyring.Account{Provider: "google", Account: "alice@example.com", Issuer: "https://accounts.google.com",
				TokenURL: "https://oauth2.googleapis.com/token", ClientID: "fake.apps.googleusercontent.com",
				Scopes: []string{"openid"}, Refreshable: true, Expiry: time.Now().Add(time.Hour)})
			if err := ix.Save(filepath.Join(stateDir, "accounts.json")); err != nil {
				t.Fatal(err)
			}
			c := exec.CommandContext(t.Context(), bin, "token", "google")
			// PATH is empty so godbus cannot autolaunch a bus (dbus-x11).
			c.Env = append([]string{"HOME=" + dir, "PATH=", "OAUTHCTL_STATE_DIR=" + stateDir,
				"XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"), "OAUTHCTL_LOCK_DIR=" + filepath.Join(dir, "run"),
				"XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
				"OAUTHCTL_GOOGLE_CLIENT_ID=fake.apps.googleusercontent.com"}, tt.env...)
			var stdout, stderr strings.Builder
			c.Stdout, c.Stderr = &stdout, &stderr
			err := c.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != ExitStorage {
				t.Fatalf("oauthctl token: %v, want exit %d; stderr:\n%s", err, ExitStorage, stderr.String())
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			if stderr.String() != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", stderr.String(), tt.want)
			}
			// No plaintext fallback: only the index we wrote (and lock
			// files) exist under the private directories.
			_ = filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
				if err == nil && !d.IsDir() && path != filepath.Join(stateDir, "accounts.json") && !strings.HasSuffix(path, ".lock") {
					t.Errorf("oauthctl wrote %s", path)
				}
				return nil
			})
		})
	}
}
