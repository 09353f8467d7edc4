package cmd

import (
	"fmt"
	"sync"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/vault"
)

// StoreEnv selects where oauthctl keeps its state: "keychain" (the OS
// keychain plus local index files, the default) or "vault" (everything in
// a HashiCorp Vault KV v2 engine shared by several machines).
const StoreEnv = "OAUTHCTL_STORE"

// The store kinds.
const (
	StoreKeychain = "keychain"
	StoreVault    = "vault"
)

// storeKind returns the store the user chose: $OAUTHCTL_STORE, else a
// top-level `store:` line in the user's providers.yaml (from userConfig,
// the process's one read of it, which the catalogue shares), else the
// keychain. The file is scanned line by line, not parsed as YAML: every
// `oauthctl token` needs the answer, and the hot path parses no YAML.
// auth's full parse of the same file accepts `store:` only where this scan
// finds it (a plain top-level key on a line of its own), so the two never
// disagree.
func storeKind(getenv func(string) string, userConfig func() (auth.ConfigSource, error)) (string, error) {
	if v := getenv(StoreEnv); v != "" {
		if v != StoreKeychain && v != StoreVault {
			return "", fmt.Errorf("%w: %s=%q: want %s or %s", auth.ErrConfig, StoreEnv, v, StoreKeychain, StoreVault)
		}
		return v, nil
	}
	src, err := userConfig()
	if err != nil {
		return "", err
	}
	kind, line := auth.StoreSetting(src.Data)
	switch kind {
	case "":
		return StoreKeychain, nil
	case StoreKeychain, StoreVault:
		return kind, nil
	}
	return "", &auth.ConfigError{Path: src.Path, Line: line, Field: "store", Msg: fmt.Sprintf("%q: want %s or %s", kind, StoreKeychain, StoreVault)}
}

// newStores returns the lazy constructors of the Store and the StateStore
// for the kind the environment and userConfig select, and the kind. With
// Vault both are one client (one keep-alive connection); with the keychain
// the state is the local files under paths.
func newStores(getenv func(string) string, userConfig func() (auth.ConfigSource, error), paths func() (keyring.Paths, error)) (store func() (keyring.Store, error), state func() (keyring.StateStore, error), kind func() (string, error)) {
	kind = sync.OnceValues(func() (string, error) { return storeKind(getenv, userConfig) })
	shared := sync.OnceValues(func() (*vault.Vault, error) { return vault.NewFromEnv(getenv) })
	keychain := sync.OnceValue(keyring.NewKeychain)
	store = func() (keyring.Store, error) {
		k, err := kind()
		switch {
		case err != nil:
			return nil, err
		case k == StoreVault:
			return shared()
		}
		return keychain(), nil
	}
	state = func() (keyring.StateStore, error) {
		k, err := kind()
		switch {
		case err != nil:
			return nil, err
		case k == StoreVault:
			return shared()
		}
		p, err := paths()
		if err != nil {
			return nil, err
		}
		return keyring.FileState{Paths: p}, nil
	}
	return store, state, kind
}
