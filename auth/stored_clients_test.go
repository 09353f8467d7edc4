package auth_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
)

// TestApplyStoredClients: a client ID stored with `client set` is the
// lowest-precedence source, below the environment and providers.yaml; the
// stored-secret flag is kept whatever the ID's source; unknown providers are
// ignored.
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
		"gitlab":    {"from-env", "env", true},
		"acme":      {"from-config", "config", true},
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
