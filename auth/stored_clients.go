package auth

// ClientIDStored is the ClientIDSource of a client ID saved with
// `oauthctl client set`.
const ClientIDStored = "stored"

// StoredClient is a client registration saved with `oauthctl client set`:
// the client ID (not a secret) and whether its secret is in the keychain.
// The cmd package reads it from a file and hands it over; auth reads no
// files.
type StoredClient struct {
	ClientID     string
	SecretStored bool
}

// ApplyStoredClients adds the registrations saved with `oauthctl client set`
// to the catalogue as the lowest-precedence source of client IDs: a provider
// whose client ID comes from OAUTHCTL_<NAME>_CLIENT_ID or providers.yaml
// keeps it. ClientSecretStored is recorded whatever the ID's source, so that
// a secret stored for a client ID given in providers.yaml is found.
// Registrations of providers the catalogue does not hold are ignored.
func (c *Catalogue) ApplyStoredClients(stored map[string]StoredClient) {
	for name, sc := range stored {
		p, ok := c.providers[name]
		if !ok {
			continue
		}
		p.ClientSecretStored = sc.SecretStored
		if p.ClientIDSource == "" && sc.ClientID != "" {
			p.ClientID, p.ClientIDSource = sc.ClientID, ClientIDStored
		}
	}
}
