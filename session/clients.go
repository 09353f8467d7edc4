package session

import (
	"context"
	"errors"
	"fmt"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// ResolveClientSecret returns p's client secret and where it came from:
// OAUTHCTL_<NAME>_CLIENT_SECRET ("env"), else the keychain ("keychain"),
// else "" and "" (a public client). A secret missing from the keychain is
// not an error; a keychain that cannot be read is (exit 6). A keychain
// secret stored for another client ID than p's (the environment or
// providers.yaml overrides the stored client ID) is not p's: it is treated
// as missing, never sent with p's client ID.
func ResolveClientSecret(ctx context.Context, getenv func(string) string, store func() (keyring.Store, error), p *auth.Provider) (secret, source string, err error) {
	if s := getenv(auth.ClientSecretEnv(p.Name)); s != "" {
		return s, "env", nil
	}
	if p.ClientSecretOtherClientID != "" {
		return "", "", nil
	}
	st, err := store()
	if err != nil {
		return "", "", err
	}
	s, err := st.ClientSecret(ctx, p.Name)
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return "", "", nil
	case err != nil:
		return "", "", fmt.Errorf("reading the %s client secret: %w", p.Name, err)
	}
	return s, "keychain", nil
}
