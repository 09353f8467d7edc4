package cmd

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestNewCmdProviders: argv -> ProvidersOptions, and argv errors -> exit 2.
func TestNewCmdProviders(t *testing.T) {
	tests := []struct {
		name     string
		args     []string
		wantJSON bool
		wantCode int
	}{
		{name: "no flags", args: []string{}},
		{name: "json", args: []string{"--json"}, wantJSON: true},
		{name: "json=false", args: []string{"--json=false"}},
		{name: "positional argument", args: []string{"google"}, wantCode: ExitUsage},
		{name: "mistyped subcommand", args: []string{"ad"}, wantCode: ExitUsage},
		{name: "unknown flag", args: []string{"--yaml"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			io, _, _, _ := iostreams.Test()
			f := &Factory{IO: io, Getenv: func(string) string { return "" }}
			var got *ProvidersOptions
			c := NewCmdProviders(f, func(o *ProvidersOptions) error { got = o; return nil })
			code := acParse(c, tt.args)
			if code != tt.wantCode {
				t.Fatalf("exit code = %d, want %d", code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				if got != nil {
					t.Error("runF ran despite the usage error")
				}
				return
			}
			if got == nil {
				t.Fatal("runF did not run")
			}
			if got.JSON != tt.wantJSON || got.Secrets {
				t.Errorf("options JSON=%t Secrets=%t, want JSON=%t Secrets=false", got.JSON, got.Secrets, tt.wantJSON)
			}
			if got.IO != io || got.Catalogue == nil && f.Catalogue != nil {
				t.Error("options do not carry the factory's dependencies")
			}
		})
	}
}

// providersEnv runs `oauthctl providers` through Run with the production
// Factory wiring (NewFactory: user file lookup, permission checks, strict
// loading, stored clients), in an environment of its own. NewFactory reads
// the process environment, so these tests use t.Setenv and do not run in
// parallel.
type providersEnv struct {
	dir     string
	cfgPath string
}

func newProvidersEnv(t *testing.T) *providersEnv {
	t.Helper()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); strings.HasPrefix(k, "OAUTHCTL_") {
			t.Setenv(k, "")
		}
	}
	dir := t.TempDir()
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(dir, "config"))
	t.Setenv("OAUTHCTL_STATE_DIR", filepath.Join(dir, "state"))
	t.Setenv("OAUTHCTL_LOCK_DIR", filepath.Join(dir, "run"))
	return &providersEnv{dir: dir, cfgPath: filepath.Join(dir, "config", "oauthctl", "providers.yaml")}
}

// writeConfig writes the user's providers.yaml at the default location.
func (e *providersEnv) writeConfig(t *testing.T, content string, mode os.FileMode) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(e.cfgPath), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(e.cfgPath, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(e.cfgPath, mode); err != nil {
		t.Fatal(err)
	}
}

func (e *providersEnv) run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	io, _, out, errOut := iostreams.Test()
	f := NewFactory(t.Context(), io, builtin, "test")
	code = Run(t.Context(), f, append([]string{"providers"}, args...))
	return code, out.String(), errOut.String()
}

// userProviders is a user file with a new provider, an explicit override
// and a client ID, as a newcomer's file might look.
const userProviders = `providers:
  google:
    client_id: 1234-fake.apps.googleusercontent.com
  corp:
    issuer: https://sso.corp.example
    client_id: corp-cli
    scopes: [openid, email]
  github:
    override: true
    auth_url: https://ghe.example.com/login/oauth/authorize
    token_url: https://ghe.example.com/login/oauth/access_token
`

// userWarnings is what loading userProviders prints on stderr.
const userWarnings = "warning: {cfg}:10: github overrides the built-in github preset's auth_url\n" +
	"warning: {cfg}:11: github overrides the built-in github preset's token_url\n" +
	"warning: {cfg}:8: github: the preset's device_auth_url, grant_revocation_url, userinfo_url, manage_url, git_hosts dropped: they are on other hosts than the entry's endpoints\n"

// TestProvidersGolden compares the table and the JSON with golden files
// (refresh: go test ./cmd -run TestProvidersGolden -update).
func TestProvidersGolden(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		user       string
		env        map[string]string
		golden     string
		wantStderr string
	}{
		{name: "built-in table", golden: "providers_table.golden"},
		{name: "built-in json", args: []string{"--json"}, golden: "providers.json.golden"},
		{
			name: "user file table", user: userProviders, golden: "providers_user_table.golden",
			env:        map[string]string{"OAUTHCTL_GITLAB_CLIENT_ID": "gitlab-env-id", "OAUTHCTL_GOOGLE_CLIENT_SECRET": "fake-secret"},
			wantStderr: userWarnings,
		},
		{
			name: "user file json", args: []string{"--json"}, user: userProviders, golden: "providers_user.json.golden",
			env:        map[string]string{"OAUTHCTL_GITLAB_CLIENT_ID": "gitlab-env-id", "OAUTHCTL_GOOGLE_CLIENT_SECRET": "fake-secret"},
			wantStderr: userWarnings,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newProvidersEnv(t)
			if tt.user != "" {
				e.writeConfig(t, tt.user, 0o600)
			}
			for k, v := range tt.env {
				t.Setenv(k, v)
			}
			code, stdout, stderr := e.run(t, tt.args...)
			if code != ExitOK {
				t.Fatalf("exit code %d, stderr:\n%s", code, stderr)
			}
			if want := strings.ReplaceAll(tt.wantStderr, "{cfg}", e.cfgPath); stderr != want {
				t.Errorf("stderr:\n got %q\nwant %q", stderr, want)
			}
			if strings.Contains(stdout, "fake-secret") {
				t.Error("stdout shows the client secret")
			}
			assertGolden(t, tt.golden, stdout)
			if strings.HasSuffix(tt.golden, ".json.golden") {
				var env struct {
					Providers []map[string]any `json:"providers"`
				}
				if err := json.Unmarshal([]byte(stdout), &env); err != nil || env.Providers == nil {
					t.Fatalf("--json output is not a {\"providers\": [...]} object: %v", err)
				}
				fields := []string{"name", "source", "issuer", "auth_url", "token_url", "device_auth_url", "revocation_url",
					"grant_revocation_url", "userinfo_url", "jwks_url", "manage_url", "tenant", "client_id", "client_id_source",
					"client_secret_source", "client_secret_stored", "client_secret_other_client_id", "client_secret_required", "token_endpoint_auth_method", "scopes", "auth_params", "incremental_param",
					"redirect_uri", "grant", "device_flow", "oidc", "needs_discovery", "revocation_revokes_grant", "git_hosts", "git_username"}
				for _, p := range env.Providers {
					if len(p) != len(fields) {
						t.Errorf("%v has %d fields, want the %d documented ones", p["name"], len(p), len(fields))
					}
					for _, k := range fields {
						if _, ok := p[k]; !ok {
							t.Errorf("%v lacks %q", p["name"], k)
						}
						if !strings.Contains(providersLong, k) {
							t.Errorf("field %q is not documented in providers --help", k)
						}
					}
					if p["name"] == "github" && (p["issuer"] != nil || p["client_id"] != nil) {
						t.Errorf("github: issuer %v, client_id %v, want null for values not set", p["issuer"], p["client_id"])
					}
					// An issuer-only entry: the device flow is known only after discovery.
					if p["name"] == "corp" && p["device_flow"] != nil {
						t.Errorf("corp: device_flow = %v, want null", p["device_flow"])
					}
				}
			}
		})
	}
}

// TestProvidersConfigErrors (rows 47, 48): a broken, silently overriding or
// unsafe user file fails with exit 2 and one line naming file, line and
// field; stdout stays empty.
func TestProvidersConfigErrors(t *testing.T) {
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		setup   func(t *testing.T, e *providersEnv)
		want    string // stderr; {cfg} is the file's path
	}{
		{
			name:    "syntax error",
			content: "providers:\n  corp:\n    issuer: https://sso.example\n   token_url: x\n",
			want:    "oauthctl: {cfg}:4: invalid YAML: did not find expected key\n",
		},
		{
			name:    "unknown key",
			content: "providers:\n  corp:\n    issuer: https://sso.example\n    scope: [openid]\n",
			want:    "oauthctl: {cfg}:4: scope: unknown field (known: issuer, auth_url, token_url, device_auth_url, revocation_url, grant_revocation_url, userinfo_url, jwks_url, manage_url, revocation_revokes_grant, tenant, client_id, client_secret_required, token_endpoint_auth_method, scopes, auth_params, incremental_param, redirect_uri, grant, git_hosts, git_username, override)\n",
		},
		{
			name:    "client secret in the file",
			content: "providers:\n  google:\n    client_id: x.apps.googleusercontent.com\n    client_secret: fake-GOCSPX\n",
			want:    "oauthctl: {cfg}:4: client_secret: client secrets do not belong in providers.yaml: set OAUTHCTL_GOOGLE_CLIENT_SECRET or run `oauthctl client set google`\n",
		},
		{
			name:    "http endpoint",
			content: "providers:\n  corp:\n    auth_url: http://sso.example/authorize\n    token_url: https://sso.example/token\n",
			want:    "oauthctl: {cfg}:3: auth_url: must use https (plain http is allowed only for loopback hosts)\n",
		},
		{
			name:    "invalid URL",
			content: "providers:\n  corp:\n    issuer: \"https://sso example\"\n",
			want:    "oauthctl: {cfg}:3: issuer: is not a valid URL\n",
		},
		{
			name:    "silent override of a preset",
			content: "providers:\n  google:\n    token_url: https://evil.example/token\n",
			want:    "oauthctl: {cfg}:3: token_url: changes where the built-in \"google\" preset sends codes and tokens; add `override: true` to the entry if you mean it\n",
		},
		{
			name:    "world-writable file",
			content: "providers:\n  corp:\n    issuer: https://sso.example\n",
			mode:    0o666,
			want:    "oauthctl: {cfg}: is writable by other users (mode 0666) and decides where tokens are sent; run: chmod go-w {cfg}\n",
		},
		{
			name:    "group-writable file",
			content: "providers:\n  corp:\n    issuer: https://sso.example\n",
			mode:    0o620,
			want:    "oauthctl: {cfg}: is writable by other users (mode 0620) and decides where tokens are sent; run: chmod go-w {cfg}\n",
		},
		{
			name: "OAUTHCTL_CONFIG names a missing file",
			setup: func(t *testing.T, e *providersEnv) {
				e.cfgPath = filepath.Join(e.dir, "missing.yaml")
				t.Setenv("OAUTHCTL_CONFIG", e.cfgPath)
			},
			want: "oauthctl: {cfg}: cannot read: no such file or directory\n",
		},
		{
			name: "config path is a directory",
			setup: func(t *testing.T, e *providersEnv) {
				if err := os.MkdirAll(e.cfgPath, 0o700); err != nil {
					t.Fatal(err)
				}
			},
			want: "oauthctl: {cfg}: is a directory\n",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newProvidersEnv(t)
			if tt.content != "" {
				mode := tt.mode
				if mode == 0 {
					mode = 0o600
				}
				e.writeConfig(t, tt.content, mode)
			}
			if tt.setup != nil {
				tt.setup(t, e)
			}
			for _, args := range [][]string{nil, {"--json"}} {
				code, stdout, stderr := e.run(t, args...)
				if code != ExitUsage {
					t.Errorf("%v: exit code = %d, want %d", args, code, ExitUsage)
				}
				if stdout != "" {
					t.Errorf("%v: stdout = %q, want nothing", args, stdout)
				}
				if want := strings.ReplaceAll(tt.want, "{cfg}", e.cfgPath); stderr != want {
					t.Errorf("%v: stderr:\n got %q\nwant %q", args, stderr, want)
				}
			}
		})
	}
}

// TestProvidersNoUserFile: without a user file (and without OAUTHCTL_CONFIG)
// the built-in presets are listed; the default location may be missing.
func TestProvidersNoUserFile(t *testing.T) {
	e := newProvidersEnv(t)
	code, stdout, stderr := e.run(t)
	if code != ExitOK || stderr != "" {
		t.Fatalf("exit %d, stderr %q", code, stderr)
	}
	var names []string
	for _, line := range strings.Split(strings.TrimSpace(stdout), "\n")[1:] {
		names = append(names, strings.Fields(line)[0])
	}
	if diff := cmp.Diff([]string{"github", "gitlab", "google", "microsoft"}, names); diff != "" {
		t.Errorf("listed providers (-want +got):\n%s", diff)
	}
}

// TestProvidersRunNeverReadsKeychain: listing providers must not touch the
// keychain (it may prompt or hang), unless asked for secrets.
func TestProvidersRunNeverReadsKeychain(t *testing.T) {
	newProvidersEnv(t)
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	io, _, out, _ := iostreams.Test()
	f := NewFactory(t.Context(), io, builtin, "test")
	opts := &ProvidersOptions{IO: io, Catalogue: f.Catalogue, Store: func() (keyring.Store, error) {
		t.Error("providers read the keychain")
		return nil, nil
	}, Getenv: func(string) string { return "" }}
	if err := providersRun(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out.Bytes(), []byte("google")) {
		t.Errorf("output lacks google:\n%s", out)
	}
}
