package keyring_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
)

func TestValidateAccount(t *testing.T) {
	tests := []struct {
		name string
		want string // "" = valid
	}{
		{"alice@example.com", ""},
		{"Alice Example", ""},
		{"日本語", ""},
		{strings.Repeat("a", 128), ""},
		{"", "account name is empty"},
		{strings.Repeat("a", 129), "account name is longer than 128 bytes"},
		{"a#1", `account name "a#1" must not contain '#' or ':'`},
		{"google:alice", `account name "google:alice" must not contain '#' or ':'`},
		{"a\nb", `account name "a\nb" has a control character`},
		{"a\tb", `account name "a\tb" has a control character`},
		{"a\x1b[31mb", `account name "a\x1b[31mb" has a control character`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := keyring.ValidateAccount(tt.name)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("ValidateAccount(%q) = %q, want %q", tt.name, got, tt.want)
			}
		})
	}
}

func TestUnavailableError(t *testing.T) {
	cause := errors.New("dbus said no")
	err := error(&keyring.UnavailableError{Op: "write", Msg: "no Secret Service on the session bus", Hint: "install gnome-keyring", Err: cause})
	if want := "secure storage unavailable: write: no Secret Service on the session bus (install gnome-keyring)"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err, want)
	}
	if !errors.Is(err, keyring.ErrUnavailable) || !errors.Is(err, cause) {
		t.Error("UnavailableError must match ErrUnavailable and wrap its cause")
	}
	if errors.Is(err, keyring.ErrNotFound) {
		t.Error("UnavailableError matches ErrNotFound")
	}
}

// TestMemoryStore: the in-memory store behaves like the keychain for the
// commands: copies in and out, ErrNotFound, idempotent deletes, counters
// and injected failures.
func TestMemoryStore(t *testing.T) {
	ctx := t.Context()
	m := keyring.NewMemory()
	key := keyring.Key{Provider: "google", Account: "alice"}
	if _, err := m.Load(ctx, key); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("Load of nothing: %v", err)
	}
	rec := &keyring.Record{AccessToken: "fake-at", Scopes: []string{"openid"}}
	if err := m.Save(ctx, key, rec); err != nil {
		t.Fatal(err)
	}
	rec.Scopes[0] = "mutated"
	got, err := m.Load(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(&keyring.Record{AccessToken: "fake-at", Scopes: []string{"openid"}}, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
	got.Scopes[0] = "mutated"
	again, _ := m.Load(ctx, key)
	if again.Scopes[0] != "openid" {
		t.Error("Load returned the stored record itself, not a copy")
	}
	if m.Loads != 3 || m.Saves != 1 {
		t.Errorf("Loads=%d Saves=%d, want 3 and 1", m.Loads, m.Saves)
	}
	if err := m.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if err := m.Delete(ctx, key); err != nil {
		t.Errorf("second Delete: %v", err)
	}
	if _, err := m.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("ClientSecret of nothing: %v", err)
	}
	if err := m.SetClientSecret(ctx, "google", "fake-secret"); err != nil {
		t.Fatal(err)
	}
	if s, err := m.ClientSecret(ctx, "google"); s != "fake-secret" || err != nil {
		t.Errorf("ClientSecret = %q, %v", s, err)
	}
	if err := m.DeleteClientSecret(ctx, "google"); err != nil {
		t.Fatal(err)
	}
	fail := &keyring.UnavailableError{Op: "write", Msg: "injected"}
	m.FailSave, m.FailLoad = fail, fail
	if err := m.Save(ctx, key, rec); !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("Save with FailSave: %v", err)
	}
	if _, err := m.Load(ctx, key); !errors.Is(err, keyring.ErrUnavailable) {
		t.Errorf("Load with FailLoad: %v", err)
	}
}

// TestMemoryContract: the in-memory store that command tests use passes
// the same contract as the real backends.
func TestMemoryContract(t *testing.T) {
	storetest.Run(t, func(*testing.T) keyring.Store { return keyring.NewMemory() })
}
