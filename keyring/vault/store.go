package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// tokenEntry is the data of a token key in Vault: the record (absent while
// a lease is held on an account with nothing stored yet, e.g. the first
// client_credentials token) and the refresh lease.
type tokenEntry struct {
	V          int             `json:"v"`
	Record     json.RawMessage `json:"record,omitempty"`
	LeaseOwner string          `json:"lease_owner,omitempty"`
	LeaseUntil time.Time       `json:"lease_until,omitzero"`
}

const tokenEntryVersion = 1

// secretEntry is the data of a client secret key in Vault.
type secretEntry struct {
	V            int    `json:"v"`
	ClientSecret string `json:"client_secret"`
}

// readToken reads and parses the token entry of key: the read (version),
// the entry, and an error (ErrNotFound with a usable read when missing,
// ErrCorrupt when unreadable).
func (v *Vault) readToken(ctx context.Context, key keyring.Key) (*kvRead, *tokenEntry, error) {
	r, err := v.read(ctx, v.tokenPath(key))
	if err != nil {
		return r, &tokenEntry{V: tokenEntryVersion}, err
	}
	var e tokenEntry
	if err := json.Unmarshal(r.data, &e); err != nil {
		return r, &tokenEntry{V: tokenEntryVersion}, fmt.Errorf("%w: %s: not a token entry", keyring.ErrCorrupt, key)
	}
	if e.V != tokenEntryVersion {
		return r, &tokenEntry{V: tokenEntryVersion}, fmt.Errorf("%w: %s: unknown version %d", keyring.ErrCorrupt, key, e.V)
	}
	return r, &e, nil
}

// record decodes the entry's record; nil without one.
func (e *tokenEntry) record(key keyring.Key) (*keyring.Record, error) {
	if len(e.Record) == 0 || string(e.Record) == "null" {
		return nil, nil
	}
	var rec keyring.Record
	if err := json.Unmarshal(e.Record, &rec); err != nil {
		return nil, fmt.Errorf("%w: %s: bad record", keyring.ErrCorrupt, key)
	}
	return &rec, nil
}

// Load implements Store: one read of the token entry.
func (v *Vault) Load(ctx context.Context, key keyring.Key) (*keyring.Record, error) {
	_, e, err := v.readToken(ctx, key)
	if err != nil {
		return nil, err
	}
	rec, err := e.record(key)
	if err != nil {
		return nil, err
	}
	if rec == nil {
		return nil, keyring.ErrNotFound
	}
	return rec, nil
}

// Save implements Store: a check-and-set write of the record over
// whatever version is current, dropping any lease on it. A login or an
// explicit overwrite is newer than a refresh in flight on another host,
// whose final write then fails its check-and-set. Refreshes use the
// lease (Leaser) instead.
func (v *Vault) Save(ctx context.Context, key keyring.Key, rec *keyring.Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the record: %w", err)
	}
	return v.update(ctx, v.tokenPath(key), func(json.RawMessage) (any, error) {
		return tokenEntry{V: tokenEntryVersion, Record: data}, nil
	})
}

// Delete implements Store: the token key with all its versions, which ends
// the session on every machine that shares this Vault. A refresh in flight
// elsewhere fails its final check-and-set and stores nothing.
func (v *Vault) Delete(ctx context.Context, key keyring.Key) error {
	return v.destroy(ctx, v.tokenPath(key))
}

// ClientSecret implements Store.
func (v *Vault) ClientSecret(ctx context.Context, provider string) (string, error) {
	r, err := v.read(ctx, v.secretPath(provider))
	if err != nil {
		return "", err
	}
	var e secretEntry
	if err := json.Unmarshal(r.data, &e); err != nil || e.V != 1 || e.ClientSecret == "" {
		return "", fmt.Errorf("%w: the client secret of %s", keyring.ErrCorrupt, provider)
	}
	return e.ClientSecret, nil
}

// SetClientSecret implements Store.
func (v *Vault) SetClientSecret(ctx context.Context, provider, secret string) error {
	if secret == "" {
		return errors.New("the client secret is empty")
	}
	return v.update(ctx, v.secretPath(provider), func(json.RawMessage) (any, error) {
		return secretEntry{V: 1, ClientSecret: secret}, nil
	})
}

// DeleteClientSecret implements Store.
func (v *Vault) DeleteClientSecret(ctx context.Context, provider string) error {
	return v.destroy(ctx, v.secretPath(provider))
}
