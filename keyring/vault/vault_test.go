package vault_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/cmd"
	"github.com/oauthctl/oauthctl/internal/testvault"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
	"github.com/oauthctl/oauthctl/keyring/vault"
)

// newVault returns a Vault store on srv under a prefix of its own (or the
// one given), as one simulated host.
func newVault(t *testing.T, srv *testvault.Server, prefix string) *vault.Vault {
	t.Helper()
	if prefix == "" {
		prefix = testvault.Prefix(t)
	}
	v, err := vault.New(vault.Config{Addr: srv.Addr, Token: srv.Token, Mount: srv.Mount, Prefix: prefix})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return v
}

// acct is an index entry with made-up endpoints.
var acct = storetest.Account

// vaultJSON sends a raw request to srv with the root token and decodes the
// answer; it returns the status.
func vaultJSON(t *testing.T, srv *testvault.Server, method, path, body string, out any) int {
	t.Helper()
	resp, err := srv.Do(t.Context(), method, path, body)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if out != nil && len(data) > 0 {
		if err := json.Unmarshal(data, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, path, err, data)
		}
	}
	return resp.StatusCode
}

// TestVaultContract runs the Store contract against a real Vault dev
// server.
func TestVaultContract(t *testing.T) {
	srv := testvault.Require(t)
	storetest.Run(t, func(t *testing.T) keyring.Store { return newVault(t, srv, "") })
}

// TestVaultLayout: where the keys live (escaped names), the per-key
// metadata (cas_required, max_versions), and that Delete leaves no old
// version with an old refresh token behind.
func TestVaultLayout(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	v := newVault(t, srv, prefix)
	ctx := t.Context()
	key := keyring.Key{Provider: "google", Account: "alice/../x y"}
	for i := range 4 {
		if err := v.Save(ctx, key, storetest.Record(fmt.Sprint("v", i))); err != nil {
			t.Fatal(err)
		}
	}
	if err := v.SetClientSecret(ctx, "google", "fake-secret"); err != nil {
		t.Fatal(err)
	}
	if err := v.UpdateIndex(ctx, func(ix *keyring.Index) error { ix.Put(acct("google", key.Account)); return nil }); err != nil {
		t.Fatal(err)
	}
	path := prefix + "/tokens/google/alice~2F..~2Fx~20y"
	var meta struct {
		Data struct {
			CASRequired    bool           `json:"cas_required"`
			MaxVersions    int            `json:"max_versions"`
			CurrentVersion int            `json:"current_version"`
			Versions       map[string]any `json:"versions"`
		} `json:"data"`
	}
	if code := vaultJSON(t, srv, "GET", "secret/metadata/"+path, "", &meta); code != 200 {
		t.Fatalf("metadata of %s: HTTP %d", path, code)
	}
	if !meta.Data.CASRequired || meta.Data.MaxVersions != vault.DefaultMaxVersions || meta.Data.CurrentVersion != 4 {
		t.Errorf("metadata = %+v, want cas_required, max_versions %d, current version 4", meta.Data, vault.DefaultMaxVersions)
	}
	if len(meta.Data.Versions) > vault.DefaultMaxVersions {
		t.Errorf("Vault keeps %d versions, want at most %d", len(meta.Data.Versions), vault.DefaultMaxVersions)
	}
	if code := vaultJSON(t, srv, "POST", "secret/data/"+path, `{"data":{"v":1}}`, nil); code != 400 {
		t.Errorf("a write without check-and-set: HTTP %d, want 400 (cas_required)", code)
	}
	var list struct {
		Data struct {
			Keys []string `json:"keys"`
		} `json:"data"`
	}
	vaultJSON(t, srv, "LIST", "secret/metadata/"+prefix, "", &list)
	if diff := cmp.Diff([]string{"clients/", "index", "tokens/"}, list.Data.Keys); diff != "" {
		t.Errorf("keys under the prefix (-want +got):\n%s", diff)
	}
	if err := v.Delete(ctx, key); err != nil {
		t.Fatal(err)
	}
	if code := vaultJSON(t, srv, "GET", "secret/metadata/"+path, "", nil); code != 404 {
		t.Errorf("metadata after Delete: HTTP %d, want 404 (all versions destroyed)", code)
	}
}

// TestVaultState: the account index and the client registrations live in
// Vault; concurrent updates from several hosts all land (check-and-set
// retries), and an error from fn stores nothing.
func TestVaultState(t *testing.T) {
	srv := testvault.Require(t)
	prefix := testvault.Prefix(t)
	ctx := t.Context()
	ix, err := newVault(t, srv, prefix).LoadIndex(ctx)
	if err != nil || len(ix.Accounts) != 0 || ix.Defaults == nil {
		t.Fatalf("LoadIndex of nothing = %+v, %v; want an empty index", ix, err)
	}
	const hosts = 6
	var wg sync.WaitGroup
	for i := range hosts {
		h := newVault(t, srv, prefix)
		wg.Go(func() {
			err := h.UpdateIndex(ctx, func(ix *keyring.Index) error {
				ix.Put(acct("p", fmt.Sprint("host-", i)))
				return nil
			})
			if err != nil {
				t.Errorf("host %d UpdateIndex: %v", i, err)
			}
			err = h.UpdateClients(ctx, func(c *keyring.Clients) error {
				c.Providers[fmt.Sprint("prov-", i)] = keyring.ClientRegistration{ClientID: fmt.Sprint("client-", i)}
				return nil
			})
			if err != nil {
				t.Errorf("host %d UpdateClients: %v", i, err)
			}
		})
	}
	wg.Wait()
	other := newVault(t, srv, prefix)
	ix, err = other.LoadIndex(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Accounts) != hosts || ix.Find("p", ix.Defaults["p"]) == nil {
		t.Errorf("index after %d concurrent updates: %d accounts, default %q", hosts, len(ix.Accounts), ix.Defaults["p"])
	}
	for i := 1; i < len(ix.Accounts); i++ {
		if ix.Accounts[i-1].Account > ix.Accounts[i].Account {
			t.Errorf("accounts not sorted: %q before %q", ix.Accounts[i-1].Account, ix.Accounts[i].Account)
		}
	}
	c, err := other.LoadClients(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Providers) != hosts || c.Providers["prov-3"].ClientID != "client-3" {
		t.Errorf("client registrations after concurrent updates: %+v", c.Providers)
	}
	boom := errors.New("boom")
	if err := other.UpdateIndex(ctx, func(ix *keyring.Index) error { ix.Remove("p", "host-0"); return boom }); !errors.Is(err, boom) {
		t.Errorf("UpdateIndex with a failing fn: %v", err)
	}
	if ix, _ := other.LoadIndex(ctx); ix.Find("p", "host-0") == nil {
		t.Error("a failed update was stored")
	}
}

// TestVaultStateMatchesFileState: the two StateStores behave alike for the
// same sequence of updates.
func TestVaultStateMatchesFileState(t *testing.T) {
	srv := testvault.Require(t)
	dir := t.TempDir()
	stores := map[string]keyring.StateStore{
		"file":  keyring.FileState{Paths: keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}},
		"vault": newVault(t, srv, ""),
	}
	got := map[string]*keyring.Index{}
	for name, st := range stores {
		ctx := t.Context()
		for _, a := range []string{"bob", "alice", "carol"} {
			if err := st.UpdateIndex(ctx, func(ix *keyring.Index) error { ix.Put(acct("google", a)); return nil }); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
		}
		if err := st.UpdateIndex(ctx, func(ix *keyring.Index) error { ix.Remove("google", "bob"); return nil }); err != nil {
			t.Fatal(err)
		}
		ix, err := st.LoadIndex(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got[name] = ix
	}
	if diff := cmp.Diff(got["file"], got["vault"]); diff != "" {
		t.Errorf("file and Vault state differ (-file +vault):\n%s", diff)
	}
}

// TestVaultUnavailable: every way Vault can be unusable is ErrUnavailable,
// exit 6, with a one-line reason that names the path and, for a policy
// denial, the missing capability; no error carries the Vault token or a
// stored secret, and nothing is written locally.
func TestVaultUnavailable(t *testing.T) {
	srv := testvault.Require(t)
	ctx := t.Context()
	prefix := testvault.Prefix(t)
	key := keyring.Key{Provider: "google", Account: "alice"}
	if err := newVault(t, srv, prefix).Save(ctx, key, storetest.Record("denied")); err != nil {
		t.Fatal(err)
	}

	// A token whose policy may read tokens but write nothing.
	policy := fmt.Sprintf(`path "secret/data/%s/*" { capabilities = ["read"] }`, prefix)
	body, _ := json.Marshal(map[string]string{"policy": policy})
	if code := vaultJSON(t, srv, "PUT", "sys/policies/acl/readonly-"+strings.ReplaceAll(prefix, "/", "-"), string(body), nil); code/100 != 2 {
		t.Fatalf("writing the policy: HTTP %d", code)
	}
	var tok struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	vaultJSON(t, srv, "POST", "auth/token/create", `{"policies":["readonly-`+strings.ReplaceAll(prefix, "/", "-")+`"],"ttl":"10m"}`, &tok)
	if tok.Auth.ClientToken == "" {
		t.Fatal("no token created")
	}
	closed := func() string { // a port nothing listens on
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		return "http://" + l.Addr().String()
	}()

	store := func(addr, token, mount string) *vault.Vault {
		v, err := vault.New(vault.Config{Addr: addr, Token: token, Mount: mount, Prefix: prefix})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	tests := []struct {
		name  string
		v     *vault.Vault
		op    func(v *vault.Vault) error
		want  []string // substrings of the message
		token string   // must not appear
	}{
		{
			name: "unreachable", v: store(closed, srv.Token, "secret"),
			op:   func(v *vault.Vault) error { _, err := v.Load(ctx, key); return err },
			want: []string{"secure storage unavailable: read: cannot reach Vault at " + closed, "connection refused"},
		},
		{
			name: "bad token", v: store(srv.Addr, "fake-wrong-token", "secret"),
			op:   func(v *vault.Vault) error { _, err := v.Load(ctx, key); return err },
			want: []string{"Vault rejected the token", "secret/data/" + prefix + "/tokens/google/alice", "vault login"},
		},
		{
			name: "policy denies a write", v: store(srv.Addr, tok.Auth.ClientToken, "secret"),
			op:   func(v *vault.Vault) error { return v.Save(ctx, key, storetest.Record("new")) },
			want: []string{`permission denied: the Vault token's policy lacks "update" on secret/data/` + prefix + "/tokens/google/alice"},
		},
		{
			name: "policy denies creating a key", v: store(srv.Addr, tok.Auth.ClientToken, "secret"),
			op:   func(v *vault.Vault) error { return v.SetClientSecret(ctx, "google", "fake-secret") },
			want: []string{`permission denied: the Vault token's policy lacks "create" on secret/metadata/` + prefix + "/clients/google"},
		},
		{
			name: "policy denies another prefix", v: func() *vault.Vault {
				v, err := vault.New(vault.Config{Addr: srv.Addr, Token: tok.Auth.ClientToken, Mount: "secret", Prefix: prefix + "-other"})
				if err != nil {
					t.Fatal(err)
				}
				return v
			}(),
			op:   func(v *vault.Vault) error { _, err := v.LoadIndex(ctx); return err },
			want: []string{`lacks "read" on secret/data/` + prefix + "-other/index"},
		},
		{
			name: "no such mount", v: store(srv.Addr, srv.Token, "nope"),
			op:   func(v *vault.Vault) error { _, err := v.Load(ctx, key); return err },
			want: []string{"no KV version 2 secrets engine at nope/", "OAUTHCTL_VAULT_MOUNT"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.op(tt.v)
			if !errors.Is(err, keyring.ErrUnavailable) || cmd.ExitCode(err) != cmd.ExitStorage {
				t.Fatalf("got %v (exit %d), want ErrUnavailable (exit %d)", err, cmd.ExitCode(err), cmd.ExitStorage)
			}
			msg := err.Error()
			for _, w := range tt.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q\ndoes not contain %q", msg, w)
				}
			}
			for _, secret := range []string{srv.Token, tok.Auth.ClientToken, "fake-at-", "fake-rt-"} {
				if strings.Contains(msg, secret) {
					t.Errorf("error carries a secret: %q", msg)
				}
			}
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
		})
	}
}

// TestVaultSealed seals a private dev server: exit 6, "sealed".
func TestVaultSealed(t *testing.T) {
	srv := testvault.Start(t)
	v := newVault(t, srv, "")
	ctx := t.Context()
	key := keyring.Key{Provider: "google", Account: "alice"}
	if err := v.Save(ctx, key, storetest.Record("sealed")); err != nil {
		t.Fatal(err)
	}
	if code := vaultJSON(t, srv, "PUT", "sys/seal", "", nil); code/100 != 2 {
		t.Fatalf("sealing: HTTP %d", code)
	}
	_, err := v.Load(ctx, key)
	if !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(err.Error(), "Vault at "+srv.Addr+" is sealed") {
		t.Errorf("Load from a sealed Vault: %v", err)
	}
	if cmd.ExitCode(err) != cmd.ExitStorage {
		t.Errorf("exit %d, want %d", cmd.ExitCode(err), cmd.ExitStorage)
	}
}

// TestVaultBoundedAnswer: an answer over 1 MiB is refused, not read whole
// (a fault no real Vault produces, so a fake).
func TestVaultBoundedAnswer(t *testing.T) {
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"data":{"data":{"v":1,"record":{"access_token":"`)
		chunk := strings.Repeat("fake-at-", 1024)
		for range 200 { // 1.6 MB
			fmt.Fprint(w, chunk)
		}
		fmt.Fprint(w, `"}},"metadata":{"version":1}}}`)
	}))
	defer fake.Close()
	v, err := vault.New(vault.Config{Addr: fake.URL, Token: "fake-token", Mount: "secret", Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Load(t.Context(), keyring.Key{Provider: "google", Account: "alice"})
	if !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(err.Error(), "larger than 1 MiB") || strings.Contains(err.Error(), "fake-at-") {
		t.Errorf("Load of a 1.6 MB answer: %v", err)
	}
}

// TestVaultRedirectKeepsTheToken: a redirect to another host (an SSO page
// in front of Vault, a wrong server) is refused before the Vault token is
// sent there; Go forwards X-Vault-Token on redirects to any host.
func TestVaultRedirectKeepsTheToken(t *testing.T) {
	var got atomic.Value
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Store(r.Header.Get("X-Vault-Token"))
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"errors":[]}`)
	}))
	defer other.Close()
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+r.URL.Path, http.StatusTemporaryRedirect)
	}))
	defer front.Close()
	v, err := vault.New(vault.Config{Addr: front.URL, Token: "fake-vault-token", Mount: "secret", Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = v.Load(t.Context(), keyring.Key{Provider: "google", Account: "alice"})
	if !errors.Is(err, keyring.ErrUnavailable) || !strings.Contains(err.Error(), "refusing a redirect to another host") {
		t.Errorf("Load through a redirect to another host: %v", err)
	}
	if tok, _ := got.Load().(string); tok != "" {
		t.Errorf("the other host received the Vault token %q", tok)
	}
}

// TestConfigFromEnv: the standard variables, ~/.vault-token, the
// defaults and the refusals.
func TestConfigFromEnv(t *testing.T) {
	home := t.TempDir()
	if err := os.WriteFile(filepath.Join(home, ".vault-token"), []byte("fake-file-token\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	empty := t.TempDir()
	tests := []struct {
		name    string
		env     map[string]string
		want    vault.Config
		wantErr string
	}{
		{
			name: "defaults and the token file",
			env:  map[string]string{"HOME": home},
			want: vault.Config{Addr: "https://127.0.0.1:8200", Token: "fake-file-token", Mount: "secret", Prefix: "oauthctl"},
		},
		{
			name: "every variable",
			env: map[string]string{"HOME": home, "VAULT_ADDR": "https://vault.example:8200", "VAULT_TOKEN": "fake-env-token",
				"VAULT_NAMESPACE": "team", "VAULT_CACERT": "/etc/ca.pem", "VAULT_SKIP_VERIFY": "false",
				"OAUTHCTL_VAULT_MOUNT": "kv", "OAUTHCTL_VAULT_PREFIX": "ci/oauthctl", "OAUTHCTL_VAULT_LEASE_TTL": "2m", "OAUTHCTL_VAULT_LEASE_SKEW": "10s"},
			want: vault.Config{Addr: "https://vault.example:8200", Token: "fake-env-token", Namespace: "team", CACert: "/etc/ca.pem",
				Mount: "kv", Prefix: "ci/oauthctl", LeaseTTL: 2 * time.Minute, LeaseSkew: 10 * time.Second},
		},
		{
			name:    "no token anywhere",
			env:     map[string]string{"HOME": empty},
			wantErr: "secure storage unavailable: configure: no Vault token (set VAULT_TOKEN or run `vault login` (which writes ~/.vault-token))",
		},
		{
			name:    "bad skip verify",
			env:     map[string]string{"HOME": home, "VAULT_SKIP_VERIFY": "maybe"},
			wantErr: `secure storage unavailable: configure: VAULT_SKIP_VERIFY="maybe" is not a boolean`,
		},
		{
			name:    "bad lease ttl",
			env:     map[string]string{"HOME": home, "OAUTHCTL_VAULT_LEASE_TTL": "-1s"},
			wantErr: `secure storage unavailable: configure: OAUTHCTL_VAULT_LEASE_TTL="-1s" is not a positive duration`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vault.ConfigFromEnv(func(k string) string { return tt.env[k] })
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || !errors.Is(err, keyring.ErrUnavailable) {
					t.Errorf("error = %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("config (-want +got):\n%s", diff)
			}
		})
	}
}

// TestNewRefuses: settings that would leak the Vault token or the
// tokens, or point outside the mount, are refused before any request.
func TestNewRefuses(t *testing.T) {
	ok := vault.Config{Addr: "https://vault.example:8200", Token: "fake-token", Mount: "secret", Prefix: "oauthctl"}
	tests := []struct {
		name    string
		edit    func(c *vault.Config)
		wantErr string // "" = accepted
	}{
		{"https", func(c *vault.Config) {}, ""},
		{"http on loopback", func(c *vault.Config) { c.Addr = "http://127.0.0.1:8200" }, ""},
		{"http on localhost", func(c *vault.Config) { c.Addr = "http://localhost:8200" }, ""},
		{"skip verify on loopback", func(c *vault.Config) { c.Addr = "https://[::1]:8200"; c.SkipVerify = true }, ""},
		{"nested mount and prefix", func(c *vault.Config) { c.Mount = "/team/kv/"; c.Prefix = "ci/oauthctl" }, ""},
		{"http elsewhere", func(c *vault.Config) { c.Addr = "http://vault.example:8200" },
			"secure storage unavailable: configure: VAULT_ADDR=http://vault.example:8200 sends the Vault token and the tokens in the clear (use https (plain http is accepted only for a loopback address))"},
		{"skip verify elsewhere", func(c *vault.Config) { c.SkipVerify = true },
			"secure storage unavailable: configure: VAULT_SKIP_VERIFY is refused for vault.example:8200, which is not a loopback address (set VAULT_CACERT to the server's CA certificate instead)"},
		{"not a URL", func(c *vault.Config) { c.Addr = "vault.example:8200" },
			`secure storage unavailable: configure: VAULT_ADDR="vault.example:8200" is not an http(s) URL without user info or query`},
		{"user info is refused and not shown", func(c *vault.Config) { c.Addr = "https://admin:fake-password@vault.example:8200" },
			`secure storage unavailable: configure: VAULT_ADDR="https://admin:xxxxx@vault.example:8200" is not an http(s) URL without user info or query`},
		{"dot-dot prefix", func(c *vault.Config) { c.Prefix = "a/../b" },
			`secure storage unavailable: configure: OAUTHCTL_VAULT_PREFIX="a/../b": has an empty, . or .. segment`},
		{"odd mount", func(c *vault.Config) { c.Mount = "se cret" },
			`secure storage unavailable: configure: OAUTHCTL_VAULT_MOUNT="se cret": has the character ' ' (allowed: letters, digits, . _ - /)`},
		{"missing CA file", func(c *vault.Config) { c.CACert = "/nonexistent/ca.pem" },
			"secure storage unavailable: configure: reading VAULT_CACERT: /nonexistent/ca.pem: no such file or directory"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := ok
			tt.edit(&c)
			_, err := vault.New(c)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.wantErr {
				t.Errorf("New error = %q, want %q", got, tt.wantErr)
			}
		})
	}
}

// TestVaultNamespaceHeader: VAULT_NAMESPACE travels as X-Vault-Namespace,
// the token as X-Vault-Token, on the KV v2 data path (a fake: the dev
// server has no namespaces, an Enterprise feature).
func TestVaultNamespaceHeader(t *testing.T) {
	var mu sync.Mutex
	var got []string
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Method+" "+r.URL.Path+" ns="+r.Header.Get("X-Vault-Namespace")+" tok="+r.Header.Get("X-Vault-Token"))
		mu.Unlock()
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"errors":[]}`)
	}))
	defer fake.Close()
	v, err := vault.New(vault.Config{Addr: fake.URL, Token: "fake-token", Namespace: "team/a", Mount: "kv", Prefix: "p"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := v.Load(t.Context(), keyring.Key{Provider: "g", Account: "a b"}); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load: %v, want ErrNotFound", err)
	}
	if diff := cmp.Diff([]string{"GET /v1/kv/data/p/tokens/g/a~20b ns=team/a tok=fake-token"}, got); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
}

// TestVaultREADMEPolicy: the minimal policy the README documents is
// enough for everything oauthctl does (the Store contract, the index and
// client registrations, a lease, a logout), with a token that has only it.
func TestVaultREADMEPolicy(t *testing.T) {
	srv := testvault.Require(t)
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, block, ok := strings.Cut(string(readme), "```hcl\n")
	block, _, ok2 := strings.Cut(block, "```")
	if !ok || !ok2 || !strings.Contains(block, `path "secret/data/oauthctl/*"`) {
		t.Fatalf("README has no hcl policy block for secret/ and prefix oauthctl")
	}
	prefix := testvault.Prefix(t)
	policy := strings.ReplaceAll(block, "secret/data/oauthctl/", "secret/data/"+prefix+"/")
	policy = strings.ReplaceAll(policy, "secret/metadata/oauthctl/", "secret/metadata/"+prefix+"/")
	name := "readme-" + strings.ReplaceAll(prefix, "/", "-")
	body, _ := json.Marshal(map[string]string{"policy": policy})
	if code := vaultJSON(t, srv, "PUT", "sys/policies/acl/"+name, string(body), nil); code/100 != 2 {
		t.Fatalf("writing the policy: HTTP %d", code)
	}
	var tok struct {
		Auth struct {
			ClientToken string `json:"client_token"`
		} `json:"auth"`
	}
	vaultJSON(t, srv, "POST", "auth/token/create", `{"policies":["`+name+`"],"no_default_policy":false,"ttl":"10m"}`, &tok)
	n := 0
	host := func(t *testing.T) *vault.Vault {
		n++
		v, err := vault.New(vault.Config{Addr: srv.Addr, Token: tok.Auth.ClientToken, Mount: "secret", Prefix: fmt.Sprint(prefix, "/", n)})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	storetest.Run(t, func(t *testing.T) keyring.Store { return host(t) })
	v := host(t)
	ctx := t.Context()
	key := keyring.Key{Provider: "p", Account: "a"}
	if err := v.UpdateIndex(ctx, func(ix *keyring.Index) error { ix.Put(acct("p", "a")); return nil }); err != nil {
		t.Errorf("UpdateIndex: %v", err)
	}
	if err := v.UpdateClients(ctx, func(c *keyring.Clients) error {
		c.Providers["p"] = keyring.ClientRegistration{ClientID: "fake-client"}
		return nil
	}); err != nil {
		t.Errorf("UpdateClients: %v", err)
	}
	lease, _, err := v.Lease(ctx, key, func(*keyring.Record) bool { return true })
	if err != nil {
		t.Fatalf("Lease: %v", err)
	}
	if err := v.Commit(ctx, lease, storetest.Record("policy"), true); err != nil {
		t.Errorf("Commit: %v", err)
	}
	if err := v.Delete(ctx, key); err != nil {
		t.Errorf("Delete: %v", err)
	}
}
