package cmd

import (
	"context"
	"testing"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestSecretSourceNamesTheStore: `providers` says where a stored client
// secret is, the keychain or Vault, as the store choice says.
func TestSecretSourceNamesTheStore(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		kind    func() (string, error)
		stored  bool // a secret in the store
		p       auth.Provider
		secrets bool
		want    string
	}{
		{name: "keychain", kind: func() (string, error) { return StoreKeychain, nil }, stored: true, p: auth.Provider{Name: "p", ClientSecretStored: true}, want: "keychain"},
		{name: "no store kind (tests, show)", stored: true, p: auth.Provider{Name: "p", ClientSecretStored: true}, want: "keychain"},
		{name: "vault", kind: func() (string, error) { return StoreVault, nil }, stored: true, p: auth.Provider{Name: "p", ClientSecretStored: true}, want: "vault"},
		{name: "vault, checked", kind: func() (string, error) { return StoreVault, nil }, stored: true, p: auth.Provider{Name: "p", ClientSecretStored: true}, secrets: true, want: "vault"},
		{name: "vault, missing", kind: func() (string, error) { return StoreVault, nil }, p: auth.Provider{Name: "p", ClientSecretStored: true}, secrets: true, want: "vault (missing)"},
		{name: "vault, other client", kind: func() (string, error) { return StoreVault, nil }, p: auth.Provider{Name: "p", ClientSecretOtherClientID: "old"}, want: "vault (for other client ID)"},
		{name: "environment", kind: func() (string, error) { return StoreVault, nil }, p: auth.Provider{Name: "env"}, want: "env"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			st := keyring.NewMemory()
			if tt.stored {
				if err := st.SetClientSecret(context.Background(), tt.p.Name, "fake-secret"); err != nil {
					t.Fatal(err)
				}
			}
			ios, _, _, _ := iostreams.Test()
			opts := &ProvidersOptions{IO: ios, StoreKind: tt.kind, Secrets: tt.secrets,
				Store:  func() (keyring.Store, error) { return st, nil },
				Getenv: func(k string) string { return map[string]string{"OAUTHCTL_ENV_CLIENT_SECRET": "fake-env-secret"}[k] }}
			p := tt.p
			if got := (&secretChecker{opts: opts}).source(context.Background(), &p); got != tt.want {
				t.Errorf("source = %q, want %q", got, tt.want)
			}
		})
	}
}
