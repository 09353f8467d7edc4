package cmd

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// TestStoredSecretBelongsToItsClientID: a secret stored with `client set`
// for client ID "web" is never sent with another client ID that the
// environment or providers.yaml puts first; `providers` says so and warns;
// with the stored client ID in effect again, the secret is used.
func TestStoredSecretBelongsToItsClientID(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	ctx := context.Background()
	if r := e.runIn("web\nfake-web-secret\n", "client", "set", "google"); r.code != 0 {
		t.Fatalf("client set: %s", r.errOut)
	}
	resolve := func() (string, string) {
		t.Helper()
		cat, err := e.catalogue()
		if err != nil {
			t.Fatal(err)
		}
		p, err := cat.Get("google")
		if err != nil {
			t.Fatal(err)
		}
		s, src, err := session.ResolveClientSecret(ctx, e.getenv, func() (keyring.Store, error) { return e.store, nil }, p)
		if err != nil {
			t.Fatal(err)
		}
		return s, src
	}
	if s, src := resolve(); s != "fake-web-secret" || src != "keychain" {
		t.Errorf("stored client ID in effect: secret from %q (set %t), want the keychain's", src, s != "")
	}

	e.setenv("OAUTHCTL_GOOGLE_CLIENT_ID", "native")
	if s, src := resolve(); s != "" || src != "" {
		t.Errorf("another client ID from the environment: secret from %q (set %t), want none", src, s != "")
	}
	r := e.run("providers")
	if !strings.Contains(strings.Join(strings.Fields(r.out), " "), "google built-in https://accounts.google.com yes (env) keychain (for other client ID) yes") {
		t.Errorf("providers:\n%s", r.out)
	}
	wantWarn := "warning: the google client secret in the keychain was stored for client ID web, not native (from OAUTHCTL_GOOGLE_CLIENT_ID), and is not used; run: oauthctl client set google\n"
	if r.code != 0 || r.errOut != wantWarn {
		t.Errorf("providers: exit %d stderr %q, want 0 and %q", r.code, r.errOut, wantWarn)
	}
	if r := e.run("providers", "--json"); !strings.Contains(r.out, `"client_secret_other_client_id": "web"`) ||
		!strings.Contains(r.out, `"client_secret_source": "keychain (for other client ID)"`) || strings.Contains(r.out, "fake-web-secret") {
		t.Errorf("providers --json:\n%s", r.out)
	}

	// A secret in the environment still wins, and silences the warning.
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_SECRET", "fake-env-secret")
	if s, src := resolve(); s != "fake-env-secret" || src != "env" {
		t.Errorf("env secret: from %q", src)
	}
	if r := e.run("providers"); r.errOut != "" {
		t.Errorf("warning despite an env secret: %q", r.errOut)
	}
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_SECRET", "")

	// Back to the stored client ID: the secret is used again.
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_ID", "web")
	if s, src := resolve(); s != "fake-web-secret" || src != "keychain" {
		t.Errorf("same client ID from the environment: secret from %q", src)
	}
}

// TestStoredSecretOnlyRecordsItsClientID: `client set` with an empty first
// line stores a secret for the client ID configured then (providers.yaml);
// it records that ID, so a later OAUTHCTL_<NAME>_CLIENT_ID for another
// client does not get it. A registration without any recorded client ID
// (older versions) keeps its secret in use.
func TestStoredSecretOnlyRecordsItsClientID(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "providers:\n  acme:\n    issuer: https://acme.example\n    auth_url: https://acme.example/a\n    token_url: https://acme.example/t\n    client_id: config-id\n")
	if r := e.runIn("\nfake-s\n", "client", "set", "acme"); r.code != 0 {
		t.Fatalf("client set: %s", r.errOut)
	}
	clients, err := keyring.LoadClients(e.paths.ClientsPath())
	if err != nil {
		t.Fatal(err)
	}
	if reg := clients.Providers["acme"]; reg.ClientID != "" || reg.SecretClientID != "config-id" || reg.SecretOwner() != "config-id" {
		t.Errorf("registration %+v, want the secret recorded for config-id", reg)
	}
	secretFor := func() bool {
		t.Helper()
		cat, err := e.catalogue()
		if err != nil {
			t.Fatal(err)
		}
		p, _ := cat.Get("acme")
		s, _, err := session.ResolveClientSecret(context.Background(), e.getenv, func() (keyring.Store, error) { return e.store, nil }, p)
		if err != nil {
			t.Fatal(err)
		}
		return s == "fake-s"
	}
	if !secretFor() {
		t.Error("config-id: the stored secret is not used")
	}
	e.setenv("OAUTHCTL_ACME_CLIENT_ID", "other")
	if secretFor() {
		t.Error("another client ID from the environment got config-id's secret")
	}

	// A registration written before the secret's client ID was recorded.
	err = keyring.UpdateClients(context.Background(), e.paths, func(c *keyring.Clients) error {
		c.Providers["acme"] = keyring.ClientRegistration{SecretStored: true}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if !secretFor() {
		t.Error("a legacy registration's secret is no longer used")
	}
}

// TestTokenRefreshWithOtherClientsSecret: the refresh of `token` for a
// provider that requires a client secret fails with exit 2 ("needs a client
// secret") instead of sending the secret stored for another client ID; the
// token endpoint is never called.
func TestTokenRefreshWithOtherClientsSecret(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var bodies []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		bodies = append(bodies, r.Header.Get("Authorization")+" "+string(b))
		mu.Unlock()
		http.Error(w, `{"error":"invalid_client"}`, http.StatusUnauthorized)
	}))
	t.Cleanup(srv.Close)
	e := newAcEnv(t, "providers:\n"+acProviderYAML("acme", srv.URL, "")+"    client_secret_required: true\n")
	if r := e.runIn("web\nfake-web-secret\n", "client", "set", "acme"); r.code != 0 {
		t.Fatalf("client set: %s", r.errOut)
	}
	a := acAccount("acme", srv.URL, "alice") // client ID acme-client, from providers.yaml
	rec := acRecord("alice")
	rec.Expiry = acNow.Add(-time.Minute)
	a.Expiry = rec.Expiry
	e.seed(a, rec)

	r := e.run("token", "acme")
	if r.code != ExitUsage || r.out != "" || !strings.Contains(r.errOut, "acme needs a client secret") {
		t.Errorf("token: exit %d stdout %q stderr %q; want exit %d, nothing, and a missing secret", r.code, r.out, r.errOut, ExitUsage)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(bodies) != 0 {
		t.Errorf("the token endpoint was called: %q", bodies)
	}
}
