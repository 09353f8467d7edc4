package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// userFileWithComments is a hand-written providers.yaml: comments, blank
// lines, flow and block styles, quoting — all of which an edit must keep.
const userFileWithComments = `# My providers. Keep this comment.
providers:
  # The corporate IdP.
  corp:
    issuer: "https://sso.corp.example"   # quoted on purpose
    client_id: corp-cli
    scopes: [openid, email]

  # GitLab with my own client.
  gitlab:
    client_id: gl-id
# trailing comment
`

func testEntry(issuer string) *yaml.Node {
	opts := &ProvidersAddOptions{Issuer: issuer, ClientID: "cli", Scopes: []string{"openid", "email"}}
	return providerEntryNode(opts, &auth.Metadata{TokenEndpoint: issuer + "/token", AuthorizationEndpoint: issuer + "/auth"})
}

// TestAppendProvider: the new entry goes at the end of the providers
// mapping, at its indentation, and every byte of the old text stays.
func TestAppendProvider(t *testing.T) {
	t.Parallel()
	entry := "  # added\n  new:\n    issuer: https://new.example\n    auth_url: https://new.example/auth\n    token_url: https://new.example/token\n    client_id: cli\n    scopes: [openid, email]\n"
	tests := []struct {
		name, old, want string
	}{
		{"no file", "", "# Your oauthctl providers; see: oauthctl help providers\nproviders:\n" + entry},
		{"comments only", "# hello\n", "# hello\nproviders:\n" + entry},
		{"empty providers", "providers:\n", "providers:\n" + entry},
		{"flow empty providers", "providers: {}\n", "providers: \n" + entry},
		{"with comments", userFileWithComments, userFileWithComments + "\n" + entry},
		{"no final newline", "providers:\n  a:\n    issuer: https://a.example", "providers:\n  a:\n    issuer: https://a.example\n\n" + entry},
		{"four-space indent", "providers:\n    a:\n        issuer: https://a.example\n",
			"providers:\n    a:\n        issuer: https://a.example\n\n" + strings.ReplaceAll(strings.ReplaceAll(entry, "\n    ", "\n      "), "  ", "    ")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := appendProvider([]byte(tt.old), "new", "added", testEntry("https://new.example"))
			if err != nil {
				t.Fatal(err)
			}
			if tt.name != "four-space indent" {
				if diff := cmp.Diff(tt.want, string(got)); diff != "" {
					t.Errorf("(-want +got):\n%s", diff)
				}
			} else if !strings.HasPrefix(string(got), tt.old) || !strings.Contains(string(got), "\n    new:\n        issuer: https://new.example\n        auth_url:") {
				t.Errorf("four-space file:\n%s", got)
			}
			var doc struct {
				Providers map[string]map[string]any `yaml:"providers"`
			}
			if err := yaml.Unmarshal(got, &doc); err != nil || doc.Providers["new"]["token_url"] != "https://new.example/token" {
				t.Errorf("result does not parse with the new entry (%v):\n%s", err, got)
			}
		})
	}
	for _, bad := range []string{"providers: [a]\n", "other: 1\n", "providers:\n  new:\n    issuer: https://x.example\n", "providers: {a: {issuer: x}}\n", "{{{"} {
		if _, err := appendProvider([]byte(bad), "new", "added", testEntry("https://new.example")); err == nil {
			t.Errorf("appendProvider(%q) succeeded, want an error", bad)
		}
	}
}

// TestRemoveProvider: the entry and the comment above it go; everything
// else, comments and blank lines included, stays.
func TestRemoveProvider(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, old, remove, want string
		found                   bool
	}{
		{"first", userFileWithComments, "corp", "# My providers. Keep this comment.\nproviders:\n  # GitLab with my own client.\n  gitlab:\n    client_id: gl-id\n# trailing comment\n", true},
		{"last", userFileWithComments, "gitlab", "# My providers. Keep this comment.\nproviders:\n  # The corporate IdP.\n  corp:\n    issuer: \"https://sso.corp.example\"   # quoted on purpose\n    client_id: corp-cli\n    scopes: [openid, email]\n# trailing comment\n", true},
		{"missing", userFileWithComments, "nope", userFileWithComments, false},
		{"empty file", "", "corp", "", false},
		{"flow", "providers: {a: {issuer: https://a.example}, b: {issuer: https://b.example}}\n", "a", "providers: {b: {issuer: 'https://b.example'}}\n", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, found, err := removeProvider([]byte(tt.old), tt.remove)
			if err != nil {
				t.Fatal(err)
			}
			if found != tt.found {
				t.Errorf("found = %v, want %v", found, tt.found)
			}
			if diff := cmp.Diff(tt.want, string(got)); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
	// add then remove is the identity
	added, err := appendProvider([]byte(userFileWithComments), "new", "added", testEntry("https://new.example"))
	if err != nil {
		t.Fatal(err)
	}
	back, found, err := removeProvider(added, "new")
	if err != nil || !found || string(back) != userFileWithComments {
		t.Errorf("add then remove: found %v, err %v, file:\n%s", found, err, back)
	}
}

// TestProvidersAddRemove runs `providers add` against a real OpenID
// Provider (internal/testop) through the production Factory: discovery,
// what it shows, the file it writes (mode 0600, the old text kept), and
// that the loader and `providers show` then know the entry; then `providers
// remove` restores the file.
func TestProvidersAddRemove(t *testing.T) {
	op := testop.Start(t)
	e := newProvidersEnv(t)
	e.writeConfig(t, userFileWithComments, 0o600)

	code, stdout, stderr := e.run(t, "add", "myop", "--issuer", op.Issuer, "--client-id", "web", "--scopes", "openid,email,offline_access", "--token-endpoint-auth-method", "client_secret_post")
	if code != ExitOK || stdout != "" {
		t.Fatalf("add: exit %d, stdout %q, stderr:\n%s", code, stdout, stderr)
	}
	for _, want := range []string{"Found:", "token           " + op.Endpoints().Token, "device flow     yes, ", "revocation      yes, ",
		"PKCE methods    S256", "Added myop to " + e.cfgPath, "Next: oauthctl login myop"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr)
		}
	}
	if strings.Contains(stderr, "\x1b[") || strings.Contains(stderr, "✓") {
		t.Errorf("stderr is not a terminal but has colour or symbols:\n%s", stderr)
	}
	fi, err := os.Stat(e.cfgPath)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("file mode %v (%v), want 0600", fi.Mode().Perm(), err)
	}
	data, _ := os.ReadFile(e.cfgPath)
	if !strings.HasPrefix(string(data), userFileWithComments) {
		t.Errorf("the old text was not kept:\n%s", data)
	}
	if !strings.Contains(string(data), "  myop:\n    issuer: "+op.Issuer+"\n") || !strings.Contains(string(data), "    scopes: [openid, email, offline_access]\n") ||
		!strings.Contains(string(data), "    token_endpoint_auth_method: client_secret_post\n") {
		t.Errorf("new entry not as expected:\n%s", data)
	}

	code, stdout, stderr = e.run(t, "show", "myop")
	if code != ExitOK || !strings.Contains(stdout, "myop (user)") || !strings.Contains(stdout, "client ID              web (config)") ||
		!strings.Contains(stdout, "device flow            yes") || !strings.Contains(stdout, "client authentication  client_secret_post") {
		t.Errorf("show: exit %d, stdout:\n%s\nstderr:\n%s", code, stdout, stderr)
	}

	// Again: already there.
	code, _, stderr = e.run(t, "add", "myop", "--issuer", op.Issuer)
	if code != ExitUsage || !strings.Contains(stderr, "myop is already in "+e.cfgPath+"\nto replace it, run: oauthctl providers remove myop\n") {
		t.Errorf("second add: exit %d, stderr %q", code, stderr)
	}
	// A built-in name.
	code, _, stderr = e.run(t, "add", "google", "--issuer", op.Issuer)
	if code != ExitUsage || !strings.Contains(stderr, "google is a built-in provider") {
		t.Errorf("add google: exit %d, stderr %q", code, stderr)
	}

	// A client ID from `client set` stays stored: remove says so.
	if err := os.MkdirAll(filepath.Join(e.dir, "state"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.dir, "state", "clients.json"),
		[]byte(`{"version":1,"providers":{"myop":{"client_id":"stored-id","secret_stored":false}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	code, _, stderr = e.run(t, "remove", "myop")
	if code != ExitOK || stderr != "Removed myop from "+e.cfgPath+"\n"+
		"What oauthctl client set stored for myop stays; to delete it: oauthctl client unset myop\n" {
		t.Errorf("remove: exit %d, stderr %q", code, stderr)
	}
	if data, _ := os.ReadFile(e.cfgPath); string(data) != userFileWithComments {
		t.Errorf("after add and remove the file is not what it was:\n%s", data)
	}
	code, _, stderr = e.run(t, "remove", "myop")
	if code != ExitUsage || !strings.Contains(stderr, `unknown provider "myop"`) {
		t.Errorf("second remove: exit %d, stderr %q", code, stderr)
	}
	code, _, stderr = e.run(t, "remove", "google")
	if code != ExitUsage || !strings.Contains(stderr, "google is a built-in provider and cannot be removed") {
		t.Errorf("remove google: exit %d, stderr %q", code, stderr)
	}
}

// TestProvidersAddErrors: what `providers add` refuses, without writing.
func TestProvidersAddErrors(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"no issuer off a terminal", []string{"add", "x"}, ExitUsage, "oauthctl: providers add needs --issuer URL"},
		{"plain http issuer", []string{"add", "x", "--issuer", "http://idp.example"}, ExitUsage, "oauthctl: --issuer: "},
		{"bad name, refused before discovery", []string{"add", "9x", "--issuer", "https://127.0.0.1:1"}, ExitUsage,
			"oauthctl: provider name \"9x\": use letters, digits, '-', '_' and '.', starting with a letter\n"},
		{"unreachable", []string{"add", "x", "--issuer", "https://127.0.0.1:1"}, ExitUnavailable, "oauthctl: cannot add x: discovery: cannot reach the provider"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newProvidersEnv(t)
			code, stdout, stderr := e.run(t, tt.args...)
			if code != tt.wantCode || stdout != "" || !strings.Contains(stderr, tt.wantErr) {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q", code, stdout, stderr, tt.wantCode, tt.wantErr)
			}
			if _, err := os.Stat(e.cfgPath); err == nil {
				t.Error("a file was written")
			}
		})
	}
}

// TestProvidersCompactTable: on a terminal the table fits 80 columns.
func TestProvidersCompactTable(t *testing.T) {
	t.Parallel()
	long := userProviders + `  verylongprovidername:
    issuer: https://login.very-long-identity-provider.example.com/tenants/0123456789/v2.0
    client_id: x
`
	e := newAcEnv(t, long)
	f, out, errOut := e.factory("")
	f.IO.OutTTY = true
	code := Run(t.Context(), f, []string{"providers"})
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if n := len([]rune(l)); n > 80 {
			t.Errorf("%d columns: %q", n, l)
		}
	}
	assertGolden(t, "providers_tty.golden", out.String())
	if !strings.HasSuffix(errOut.String(), "Details: oauthctl providers show PROVIDER, or oauthctl providers --json\n") {
		t.Errorf("stderr %q", errOut)
	}
}

// TestProvidersHeaders: the terminal table's column names are the piped
// table's (which scripts read), at most shortened, so a person reads the
// same words either way.
func TestProvidersHeaders(t *testing.T) {
	t.Parallel()
	if len(providersCompactHeader) != len(providersHeader) {
		t.Fatalf("%d terminal columns, %d piped", len(providersCompactHeader), len(providersHeader))
	}
	for i, h := range providersCompactHeader {
		if !strings.Contains(providersHeader[i], h) {
			t.Errorf("terminal column %q is not the piped %q", h, providersHeader[i])
		}
	}
}

func TestEllipsize(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		s    string
		n    int
		want string
	}{{"abcdef", 6, "abcdef"}, {"abcdefghij", 7, "abcd…ij"}, {"abc", 1, "a"}} {
		if got := ellipsize(tt.s, tt.n); got != tt.want {
			t.Errorf("ellipsize(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

var _ = iostreams.Test

// TestProvidersSecretsNoKeychain: `providers --secrets` without a keychain
// warns once and reports each provider as it would without --secrets,
// instead of claiming every provider's secret is unreadable.
func TestProvidersSecretsNoKeychain(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	f, out, errOut := e.factory("")
	calls := 0
	f.Store = func() (keyring.Store, error) {
		calls++
		return nil, fmt.Errorf("%w: no Secret Service on the session bus", keyring.ErrUnavailable)
	}
	if code := Run(t.Context(), f, []string{"providers", "--secrets"}); code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	if calls != 1 {
		t.Errorf("the keychain was opened %d times, want once", calls)
	}
	if strings.Contains(out.String(), "unreadable") || !strings.Contains(out.String(), "needed") {
		t.Errorf("table:\n%s", out)
	}
	if want := "warning: could not read the keychain, so stored client secrets are not confirmed: secure storage unavailable: no Secret Service on the session bus\n"; errOut.String() != want {
		t.Errorf("stderr %q, want %q", errOut, want)
	}
}

// TestProvidersShowGolden pins `providers show` for a person (terminal:
// bold name) and for a pipe, and its --json envelope.
func TestProvidersShowGolden(t *testing.T) {
	t.Parallel()
	for _, tt := range []struct {
		golden string
		args   []string
		tty    bool
	}{
		{"providers_show_google.golden", []string{"providers", "show", "google"}, false},
		{"providers_show_google_tty.golden", []string{"providers", "show", "google"}, true},
		{"providers_show_corp.json.golden", []string{"providers", "show", "corp", "--json"}, false},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, userProviders)
			f, out, errOut := e.factory("")
			f.IO.OutTTY = tt.tty
			if code := Run(t.Context(), f, tt.args); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			assertGolden(t, tt.golden, out.String())
		})
	}
}

// TestProvidersAddGolden pins what `providers add` tells a person, on a
// terminal (colour, ✓) and off one, against a real OP (the issuer's random
// port is replaced by {ISSUER}).
func TestProvidersAddGolden(t *testing.T) {
	op := testop.Start(t)
	for _, tt := range []struct {
		golden string
		tty    bool
	}{{"providers_add.golden", false}, {"providers_add_tty.golden", true}} {
		t.Run(tt.golden, func(t *testing.T) {
			e := newProvidersEnv(t)
			builtin, err := os.ReadFile("../providers.yaml")
			if err != nil {
				t.Fatal(err)
			}
			ios, _, out, errOut := iostreams.Test()
			ios.ErrTTY = tt.tty
			f := NewFactory(t.Context(), ios, builtin, "test")
			if code := Run(t.Context(), f, []string{"providers", "add", "myop", "--issuer", op.Issuer, "--client-id", "web"}); code != 0 {
				t.Fatalf("exit %d: %s", code, errOut)
			}
			if out.Len() != 0 {
				t.Errorf("stdout %q", out)
			}
			got := strings.ReplaceAll(errOut.String(), op.Issuer, "{ISSUER}")
			got = strings.ReplaceAll(got, e.cfgPath, "{CONFIG}")
			assertGolden(t, tt.golden, got)
		})
	}
}
