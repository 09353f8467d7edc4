package cmd

import (
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/oauthctl/oauthctl/internal/fakeas"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestLoginReloginRevocationEndpoint checks that the refresh token a
// re-login replaces is revoked only at the revocation endpoint its own
// login recorded: after providers.yaml moved revocation_url, nothing is
// sent there, a warning says so, and the new login records the new
// endpoint.
func TestLoginReloginRevocationEndpoint(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		moveTo      string // "" keeps revocation_url; "other" moves it to another server
		wantRevoked bool
		wantWarning string
	}{
		{name: "unchanged: revoked", wantRevoked: true},
		{name: "moved to another server: not sent", moveTo: "other",
			wantWarning: "warning: the replaced refresh token of fake:alice@example.com was not revoked: revocation endpoint {B}/revoke, now {X}/revoke\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			var otherHits int
			other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				otherHits++
				mu.Unlock()
			}))
			t.Cleanup(other.Close)
			fl := newFakeLogin(t, nil)
			if code := fl.run(t.Context(), "fake"); code != 0 {
				t.Fatalf("first login: exit %d:\n%s", code, fl.errOut)
			}
			<-fl.urls
			key := keyring.Key{Provider: "fake", Account: fakeas.Email}
			first, _ := fl.store.Load(t.Context(), key)
			wantRev := fl.as.URL + "/revoke"
			if tt.moveTo != "" {
				wantRev = other.URL + "/revoke"
				yaml := strings.Replace(fl.as.ProviderYAML("fake", "client-1", "openid, email, offline_access"),
					"revocation_url: "+fl.as.URL+"/revoke", "revocation_url: "+wantRev, 1)
				if err := os.WriteFile(fl.env.getenv("OAUTHCTL_CONFIG"), []byte(yaml), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if code := fl.run(t.Context(), "fake"); code != 0 {
				t.Fatalf("second login: exit %d:\n%s", code, fl.errOut)
			}
			<-fl.urls
			revoked := fl.as.Revoked()
			if got := len(revoked) == 1 && revoked[0].Get("token") == first.RefreshToken; got != tt.wantRevoked {
				t.Errorf("revocations at the login's server: %v, want the first refresh token revoked = %v", revoked, tt.wantRevoked)
			}
			mu.Lock()
			if otherHits != 0 {
				t.Errorf("%d requests reached the new revocation_url", otherHits)
			}
			mu.Unlock()
			warning := strings.NewReplacer("{B}", fl.as.URL, "{X}", other.URL).Replace(tt.wantWarning)
			if gotWarn := strings.Contains(fl.errOut.String(), "warning"); gotWarn != (warning != "") || !strings.Contains(fl.errOut.String(), warning) {
				t.Errorf("stderr:\n%s\nwant warning %q", fl.errOut, warning)
			}
			if strings.Contains(fl.errOut.String(), first.RefreshToken) {
				t.Error("stderr shows the refresh token")
			}
			ix := fl.env.loadIndex(t)
			if len(ix.Accounts) != 1 || ix.Accounts[0].RevocationURL != wantRev {
				t.Errorf("index accounts %+v, want one recording revocation endpoint %s", ix.Accounts, wantRev)
			}
		})
	}
}
