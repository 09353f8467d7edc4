package keyring

import (
	"context"
	"path/filepath"
	"time"
)

// ClientRegistration is what `oauthctl client set` recorded for a provider,
// outside the keychain: the client ID, which is not a secret, and whether
// the client secret was put in the keychain. Knowing the latter lets
// `providers` report where a secret comes from, and `token` skip a keychain
// read for public clients, without touching the keychain.
//
// The stored secret belongs to one client: ClientID, or, when `client set`
// was given only a secret for the client ID configured elsewhere,
// SecretClientID (that client ID at the time). It is never sent with
// another client ID (see SecretOwner).
type ClientRegistration struct {
	ClientID     string `json:"client_id,omitempty"`
	SecretStored bool   `json:"secret_stored"`
	// SecretClientID is the client ID the secret was stored for when
	// ClientID is empty; registrations written before it was recorded
	// lack it.
	SecretClientID string    `json:"secret_client_id,omitempty"`
	UpdatedAt      time.Time `json:"updated_at,omitzero"`
}

// SecretOwner returns the client ID the stored secret was issued for, or ""
// when the registration did not record it (then it is unknown).
func (r ClientRegistration) SecretOwner() string {
	if r.ClientID != "" {
		return r.ClientID
	}
	return r.SecretClientID
}

// Clients is the client registrations file (clients.json next to the
// account index). It holds no secret.
type Clients struct {
	Version   int                           `json:"version"`
	Providers map[string]ClientRegistration `json:"providers"`
}

// ClientsVersion is the format version of the client registrations, in a
// file or in Vault (keyring/vault).
const ClientsVersion = 1

// ClientsPath is the client registrations file, next to the account index.
func (p Paths) ClientsPath() string { return filepath.Join(filepath.Dir(p.Index), "clients.json") }

// clientsLockPath serializes updates of the client registrations file.
func (p Paths) clientsLockPath() string { return filepath.Join(p.LockDir, "clients.lock") }

// LoadClients reads the client registrations; a missing file is empty.
func LoadClients(path string) (*Clients, error) {
	c := Clients{Version: ClientsVersion}
	if err := loadJSONFile(path, "client registrations file", "move it away and run `oauthctl client set` again", ClientsVersion, &c, &c.Version); err != nil {
		return nil, err
	}
	if c.Providers == nil {
		c.Providers = map[string]ClientRegistration{}
	}
	return &c, nil
}

// Save writes the registrations atomically with mode 0600.
func (c *Clients) Save(path string) error {
	c.Version = ClientsVersion
	return saveJSONFile(path, c)
}

// UpdateClients runs fn on the client registrations under a lock and saves
// the result.
func UpdateClients(ctx context.Context, p Paths, fn func(*Clients) error) error {
	unlock, err := Lock(ctx, p.clientsLockPath(), DefaultLockWait)
	if err != nil {
		return err
	}
	defer unlock()
	c, err := LoadClients(p.ClientsPath())
	if err != nil {
		return err
	}
	if err := fn(c); err != nil {
		return err
	}
	return c.Save(p.ClientsPath())
}
