package cmd

import (
	"bytes"
	"flag"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// updateGolden rewrites the golden files under testdata/ instead of
// comparing with them: go test ./cmd -run TestStatusGolden -update
var updateGolden = flag.Bool("update", false, "rewrite the golden files under testdata/")

// assertGolden compares got with testdata/name, or rewrites the file under
// -update.
func assertGolden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *updateGolden {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading %s (run with -update to create it): %v", path, err)
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s (-want +got):\n%s", path, diff)
	}
}

// acParse runs c, a command built with a runF that captures its options,
// on args the way Run does, and returns the exit code.
func acParse(c *cobra.Command, args []string) int {
	if args == nil {
		args = []string{} // nil makes cobra read os.Args
	}
	c.SetArgs(args)
	c.SetOut(io.Discard)
	c.SetErr(io.Discard)
	c.SilenceErrors, c.SilenceUsage = true, true
	c.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return &UsageError{Msg: err.Error()} })
	return ExitCode(err2usage(c.Execute()))
}

// acNow is the fixed clock of the account command tests.
var acNow = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

// acEnv is a private world for the account commands (status, switch,
// logout, whoami, client): a state and lock directory under t.TempDir(), an
// in-memory keychain, a providers.yaml given as text, an environment map and
// a fixed clock.
type acEnv struct {
	t     *testing.T
	paths keyring.Paths
	store *keyring.Memory
	yaml  string

	mu   sync.Mutex
	vars map[string]string
	now  time.Time
	// client is the HTTP client commands get; tests may shorten its timeout.
	client *http.Client
}

func newAcEnv(t *testing.T, providersYAML string) *acEnv {
	dir := t.TempDir()
	return &acEnv{
		t:     t,
		paths: keyring.Paths{Index: filepath.Join(dir, "state", "accounts.json"), LockDir: filepath.Join(dir, "locks")},
		store: keyring.NewMemory(),
		yaml:  providersYAML,
		vars:  map[string]string{},
		now:   acNow,
		client: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 5 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

func (e *acEnv) getenv(k string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.vars[k]
}

func (e *acEnv) setenv(k, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vars[k] = v
}

func (e *acEnv) clock() time.Time {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.now
}

// catalogue loads the built-in presets and e.yaml as the user's file, then
// the client registrations, as the production Factory does.
func (e *acEnv) catalogue() (*auth.Catalogue, error) {
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		return nil, err
	}
	cat, err := auth.LoadCatalogue(auth.ConfigSource{Path: "providers.yaml (built-in)", Data: builtin},
		auth.ConfigSource{Path: "providers.yaml", Data: []byte(e.yaml)}, e.getenv)
	if err != nil {
		return nil, err
	}
	if err := applyStoredClients(e.t.Context(), func() (keyring.StateStore, error) { return keyring.FileState{Paths: e.paths}, nil }, cat); err != nil {
		return nil, err
	}
	return cat, nil
}

// factory builds a Factory over the environment with stdin in and fresh
// output buffers.
func (e *acEnv) factory(in string) (*Factory, *bytes.Buffer, *bytes.Buffer) {
	ios, stdin, out, errOut := iostreams.Test()
	stdin.WriteString(in)
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		e.t.Fatal(err)
	}
	f := &Factory{
		IO: ios, Getenv: e.getenv, Now: e.clock, Version: "test", BuiltinProviders: builtin,
		HTTPClient: func() *http.Client { return e.client },
		Store:      func() (keyring.Store, error) { return e.store, nil },
		Paths:      func() (keyring.Paths, error) { return e.paths, nil },
		Catalogue:  e.catalogue,
	}
	return f, out, errOut
}

// acResult is what one command line did.
type acResult struct {
	code        int
	out, errOut string
}

// run runs a command line and returns its exit code and output.
func (e *acEnv) run(args ...string) acResult {
	return e.runIn("", args...)
}

// runIn is run with stdin.
func (e *acEnv) runIn(stdin string, args ...string) acResult {
	e.t.Helper()
	f, out, errOut := e.factory(stdin)
	code := Run(e.t.Context(), f, args)
	return acResult{code: code, out: out.String(), errOut: errOut.String()}
}

// seed stores an account: its record in the keychain (when rec is not nil)
// and its metadata in the index.
func (e *acEnv) seed(a keyring.Account, rec *keyring.Record) {
	e.t.Helper()
	if rec != nil {
		if err := e.store.Save(e.t.Context(), a.Key(), rec); err != nil {
			e.t.Fatal(err)
		}
	}
	err := keyring.UpdateIndex(e.t.Context(), e.paths, func(ix *keyring.Index) error {
		ix.Put(a)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
}

// index reads the account index.
func (e *acEnv) index() *keyring.Index {
	e.t.Helper()
	ix, err := keyring.LoadIndex(e.paths.Index)
	if err != nil {
		e.t.Fatal(err)
	}
	return ix
}

// accountNames lists the index's accounts as "provider/account", with "*"
// after each provider's default.
func (e *acEnv) accountNames() []string {
	ix := e.index()
	var out []string
	for _, a := range ix.Accounts {
		n := a.Provider + "/" + a.Account
		if ix.Defaults[a.Provider] == a.Account {
			n += "*"
		}
		out = append(out, n)
	}
	return out
}

// stored reports whether the keychain holds a record for key.
func (e *acEnv) stored(key keyring.Key) bool {
	_, err := e.store.Load(e.t.Context(), key)
	return err == nil
}

// acProviderYAML is a user provider entry with explicit endpoints at base
// (an httptest server), with the given revocation URL ("" for none).
func acProviderYAML(name, base, revocationURL string) string {
	y := "  " + name + ":\n" +
		"    issuer: " + base + "\n" +
		"    auth_url: " + base + "/authorize\n" +
		"    token_url: " + base + "/token\n" +
		"    userinfo_url: " + base + "/userinfo\n" +
		"    manage_url: https://" + name + ".example/connections\n" +
		"    client_id: " + name + "-client\n" +
		"    scopes: [openid, email, offline_access]\n"
	if revocationURL != "" {
		y += "    revocation_url: " + revocationURL + "\n"
	}
	return y
}

// acAccount is an account of an acProviderYAML provider, bound to its
// configuration.
func acAccount(provider, base, account string) keyring.Account {
	return keyring.Account{Provider: provider, Account: account, Issuer: base, TokenURL: base + "/token",
		ClientID: provider + "-client", Scopes: []string{"openid", "email", "offline_access"},
		Expiry: acNow.Add(30 * time.Minute), Subject: "sub-" + account, Identity: account,
		Refreshable: true, Grant: auth.GrantAuthorizationCode, UpdatedAt: acNow.Add(-time.Hour)}
}

// acRecord is an obviously fake token set named after its account.
func acRecord(account string) *keyring.Record {
	return &keyring.Record{AccessToken: "fake-at-" + account, RefreshToken: "fake-rt-" + account,
		TokenType: "Bearer", Expiry: acNow.Add(30 * time.Minute)}
}
