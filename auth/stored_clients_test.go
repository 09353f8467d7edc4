package auth_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
)

// TestApplyStoredClients: a client ID stored with `client set` is the
// lowest-precedence source, below the environment and providers.yaml; the
// stored secret counts only where the stored client ID is in effect (it is
// that client's); unknown providers are ignored.
func TestApplyStoredClients(t *testing.T) {
	t.Parallel()
	user := auth.ConfigSource{Path: "user.yaml", Data: []byte("providers:\n  acme:\n    issuer: https://acme.example\n    token_url: https://acme.example/token\n    auth_url: https://acme.example/auth\n    client_id: from-config\n")}
	env := envMap(map[string]string{"OAUTHCTL_GITLAB_CLIENT_ID": "from-env"})
	cat, err := auth.LoadCatalogue(builtin(t), user, env)
	if err != nil {
		t.Fatal(err)
	}
	cat.ApplyStoredClients(map[string]auth.StoredClient{
		"google":  {ClientID: "stored-google", SecretStored: true},
		"gitlab":  {ClientID: "stored-gitlab", SecretStored: true},
		"acme":    {ClientID: "stored-acme", SecretStored: true},
		"github":  {ClientID: "stored-github"},
		"removed": {ClientID: "x", SecretStored: true},
	})
	type got struct {
		ID, Source string
		Secret     bool
	}
	want := map[string]got{
		"google":    {"stored-google", "stored", true},
		"gitlab":    {"from-env", "env", false},       // the secret is stored-gitlab's
		"acme":      {"from-config", "config", false}, // the secret is stored-acme's
		"github":    {"stored-github", "stored", false},
		"microsoft": {"", "", false},
	}
	have := map[string]got{}
	for _, p := range cat.All() {
		have[p.Name] = got{p.ClientID, p.ClientIDSource, p.ClientSecretStored}
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("client sources (-want +got):\n%s", diff)
	}
}

// TestApplyStoredClientsSecretOwner: a stored secret is used only with the
// client ID it was stored for; with another effective client ID it is
// reported as another client's and not used. A registration that recorded
// no client ID for its secret keeps it in use.
func TestApplyStoredClientsSecretOwner(t *testing.T) {
	t.Parallel()
	env := envMap(map[string]string{"OAUTHCTL_GITLAB_CLIENT_ID": "native", "OAUTHCTL_GITHUB_CLIENT_ID": "web"})
	cat, err := auth.LoadCatalogue(builtin(t), auth.ConfigSource{}, env)
	if err != nil {
		t.Fatal(err)
	}
	cat.ApplyStoredClients(map[string]auth.StoredClient{
		"gitlab":    {ClientID: "web", SecretStored: true, SecretClientID: "web"}, // env overrides: other client
		"github":    {ClientID: "web", SecretStored: true, SecretClientID: "web"}, // env gives the same ID
		"google":    {SecretStored: true, SecretClientID: "config-then"},          // no ID in effect now
		"microsoft": {SecretStored: true},                                         // legacy: owner unknown
	})
	type got struct {
		ID     string
		Stored bool
		Other  string
	}
	want := map[string]got{
		"gitlab":    {"native", false, "web"},
		"github":    {"web", true, ""},
		"google":    {"", false, "config-then"},
		"microsoft": {"", true, ""},
	}
	have := map[string]got{}
	for _, p := range cat.All() {
		have[p.Name] = got{p.ClientID, p.ClientSecretStored, p.ClientSecretOtherClientID}
	}
	if diff := cmp.Diff(want, have); diff != "" {
		t.Errorf("stored secrets (-want +got):\n%s", diff)
	}
}
