package vault

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/oauthctl/oauthctl/keyring"
)

// LoadIndex implements StateStore: the index key, read once.
func (v *Vault) LoadIndex(ctx context.Context) (*keyring.Index, error) {
	r, err := v.read(ctx, v.indexPath())
	if errors.Is(err, keyring.ErrNotFound) {
		return &keyring.Index{Version: keyring.IndexVersion, Defaults: map[string]string{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return v.decodeIndex(r.data)
}

func (v *Vault) decodeIndex(data json.RawMessage) (*keyring.Index, error) {
	ix := keyring.Index{Version: keyring.IndexVersion}
	if data != nil {
		if err := json.Unmarshal(data, &ix); err != nil {
			return nil, fmt.Errorf("the account index in Vault (%s/%s) is damaged; delete it and log in again", v.cfg.Mount, v.indexPath())
		}
		if ix.Version != keyring.IndexVersion {
			return nil, fmt.Errorf("the account index in Vault (%s/%s) has unknown version %d", v.cfg.Mount, v.indexPath(), ix.Version)
		}
	}
	if ix.Defaults == nil {
		ix.Defaults = map[string]string{}
	}
	return &ix, nil
}

// UpdateIndex implements StateStore with a check-and-set loop: fn runs
// again on the newer index when another machine wrote in between.
func (v *Vault) UpdateIndex(ctx context.Context, fn func(*keyring.Index) error) error {
	return v.update(ctx, v.indexPath(), func(data json.RawMessage) (any, error) {
		ix, err := v.decodeIndex(data)
		if err != nil {
			return nil, err
		}
		if err := fn(ix); err != nil {
			return nil, err
		}
		ix.Normalize()
		return ix, nil
	})
}

// LoadClients implements StateStore.
func (v *Vault) LoadClients(ctx context.Context) (*keyring.Clients, error) {
	r, err := v.read(ctx, v.clientsPath())
	if errors.Is(err, keyring.ErrNotFound) {
		return &keyring.Clients{Version: keyring.ClientsVersion, Providers: map[string]keyring.ClientRegistration{}}, nil
	}
	if err != nil {
		return nil, err
	}
	return v.decodeClients(r.data)
}

func (v *Vault) decodeClients(data json.RawMessage) (*keyring.Clients, error) {
	c := keyring.Clients{Version: keyring.ClientsVersion}
	if data != nil {
		if err := json.Unmarshal(data, &c); err != nil {
			return nil, fmt.Errorf("the client registrations in Vault (%s/%s) are damaged; delete them and run `oauthctl client set` again", v.cfg.Mount, v.clientsPath())
		}
		if c.Version != keyring.ClientsVersion {
			return nil, fmt.Errorf("the client registrations in Vault (%s/%s) have unknown version %d", v.cfg.Mount, v.clientsPath(), c.Version)
		}
	}
	if c.Providers == nil {
		c.Providers = map[string]keyring.ClientRegistration{}
	}
	return &c, nil
}

// UpdateClients implements StateStore.
func (v *Vault) UpdateClients(ctx context.Context, fn func(*keyring.Clients) error) error {
	return v.update(ctx, v.clientsPath(), func(data json.RawMessage) (any, error) {
		c, err := v.decodeClients(data)
		if err != nil {
			return nil, err
		}
		if err := fn(c); err != nil {
			return nil, err
		}
		c.Version = keyring.ClientsVersion
		return c, nil
	})
}
