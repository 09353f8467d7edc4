package keyring_test

import (
	"errors"
	"strings"
	"testing"

	gokeyring "github.com/zalando/go-keyring"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestSecretServiceBackendGet checks that the short read path returns
// exactly what go-keyring's Get returns, for present and missing items,
// against the real Secret Service.
func TestSecretServiceBackendGet(t *testing.T) {
	testkeyring.Require(t)
	service := "oauthctl-ssget-" + strings.ReplaceAll(t.Name(), "/", "-")
	items := map[string]string{
		"plain":   "fake-secret",
		"unicode": "fake-sécret-✓-\x01",
		"large":   strings.Repeat("fake-large-secret-", 6000),
		"empty":   "",
	}
	for user, secret := range items {
		if err := gokeyring.Set(service, user, secret); err != nil {
			t.Fatalf("Set %s: %v", user, err)
		}
		t.Cleanup(func() { _ = gokeyring.Delete(service, user) })
	}
	// The same attributes under another service must not be found.
	if err := gokeyring.Set(service+"-other", "missing", "fake-other"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = gokeyring.Delete(service+"-other", "missing") })

	var b keyring.SecretServiceBackend
	for user, secret := range items {
		got, err := b.Get(service, user)
		want, werr := gokeyring.Get(service, user)
		if err != nil || werr != nil || got != secret || got != want {
			t.Errorf("Get(%s): %d bytes, %v; want %d bytes (go-keyring: %d bytes, %v)", user, len(got), err, len(secret), len(want), werr)
		}
	}
	if _, err := b.Get(service, "missing"); !errors.Is(err, gokeyring.ErrNotFound) {
		t.Errorf("Get(missing) error %v, want go-keyring's ErrNotFound", err)
	}
	// Through the Keychain store, a missing record is ErrNotFound.
	kc := &keyring.Keychain{Backend: b, Service: service}
	if _, err := kc.Load(t.Context(), keyring.Key{Provider: "fake", Account: "missing"}); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load(missing) error %v, want ErrNotFound", err)
	}
}
