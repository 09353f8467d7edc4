package auth

// ClientIDStored is the ClientIDSource of a client ID saved with
// `oauthctl client set`.
const ClientIDStored = "stored"

// StoredClient is a client registration saved with `oauthctl client set`:
// the client ID (not a secret), whether its secret is in the keychain, and
// the client ID that secret belongs to (SecretClientID; "" when not
// recorded). The cmd package reads it from a file and hands it over; auth
// reads no files.
type StoredClient struct {
	ClientID       string
	SecretStored   bool
	SecretClientID string
}

// ApplyStoredClients adds the registrations saved with `oauthctl client set`
// to the catalogue as the lowest-precedence source of client IDs: a provider
// whose client ID comes from OAUTHCTL_<NAME>_CLIENT_ID or providers.yaml
// keeps it.
//
// A stored secret belongs to the client ID it was stored for: it is used
// (ClientSecretStored) only when that is the provider's effective client ID.
// When the environment or providers.yaml gives another client ID, the
// secret is not used and ClientSecretOtherClientID names the client ID it
// belongs to, so that nothing sends one client's secret with another
// client's ID. A registration that did not record the secret's client ID
// (written by older versions, secret only) is ambiguous: its secret was
// stored for a client ID configured elsewhere, which is what the provider
// still has, so it is used as before.
// Registrations of providers the catalogue does not hold are ignored.
func (c *Catalogue) ApplyStoredClients(stored map[string]StoredClient) {
	for name, sc := range stored {
		p, ok := c.providers[name]
		if !ok {
			continue
		}
		if p.ClientIDSource == "" && sc.ClientID != "" {
			p.ClientID, p.ClientIDSource = sc.ClientID, ClientIDStored
		}
		p.ClientSecretStored, p.ClientSecretOtherClientID = sc.SecretStored, ""
		owner := sc.SecretClientID
		if sc.ClientID != "" {
			owner = sc.ClientID
		}
		if sc.SecretStored && owner != "" && owner != p.ClientID {
			p.ClientSecretStored, p.ClientSecretOtherClientID = false, owner
		}
	}
}
