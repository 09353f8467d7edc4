package keyring_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
)

// TestClientsRoundTrip: UpdateClients creates clients.json next to the
// index (0600, in a 0700 directory), and LoadClients reads back what it
// wrote; a missing file is empty, a damaged one an error naming the fix.
func TestClientsRoundTrip(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	paths := keyring.Paths{Index: filepath.Join(dir, "state", "accounts.json"), LockDir: filepath.Join(dir, "locks")}
	if got := paths.ClientsPath(); got != filepath.Join(dir, "state", "clients.json") {
		t.Errorf("ClientsPath = %s", got)
	}
	empty, err := keyring.LoadClients(paths.ClientsPath())
	if err != nil || len(empty.Providers) != 0 {
		t.Fatalf("missing file: %+v, %v", empty, err)
	}
	when := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	reg := keyring.ClientRegistration{ClientID: "id-1", SecretStored: true, UpdatedAt: when}
	for _, name := range []string{"google", "github"} {
		err := keyring.UpdateClients(t.Context(), paths, func(c *keyring.Clients) error {
			c.Providers[name] = reg
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	got, err := keyring.LoadClients(paths.ClientsPath())
	if err != nil {
		t.Fatal(err)
	}
	want := &keyring.Clients{Version: 1, Providers: map[string]keyring.ClientRegistration{"google": reg, "github": reg}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("clients (-want +got):\n%s", diff)
	}
	fi, err := os.Stat(paths.ClientsPath())
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, %v; want 0600", fi.Mode(), err)
	}
	if err := os.WriteFile(paths.ClientsPath(), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := keyring.LoadClients(paths.ClientsPath()); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("damaged file: %v", err)
	}
}

// TestClientRegistrationSecretOwner: the stored secret belongs to the
// registration's client ID, else to the recorded SecretClientID, else to
// nobody known; SecretClientID survives a save and load.
func TestClientRegistrationSecretOwner(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		reg  keyring.ClientRegistration
		want string
	}{
		{keyring.ClientRegistration{ClientID: "web", SecretStored: true}, "web"},
		{keyring.ClientRegistration{ClientID: "web", SecretStored: true, SecretClientID: "web"}, "web"},
		{keyring.ClientRegistration{SecretStored: true, SecretClientID: "config-id"}, "config-id"},
		{keyring.ClientRegistration{SecretStored: true}, ""},
	} {
		if got := tt.reg.SecretOwner(); got != tt.want {
			t.Errorf("%+v: SecretOwner() = %q, want %q", tt.reg, got, tt.want)
		}
	}
	path := filepath.Join(t.TempDir(), "clients.json")
	c := &keyring.Clients{Providers: map[string]keyring.ClientRegistration{"acme": {SecretStored: true, SecretClientID: "config-id"}}}
	if err := c.Save(path); err != nil {
		t.Fatal(err)
	}
	got, err := keyring.LoadClients(path)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(c.Providers, got.Providers); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}
