package auth_test

import (
	"errors"
	"net/url"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"github.com/oauthctl/oauthctl/auth"
)

const builtinPath = "providers.yaml (built-in)"

// builtin reads the presets that main.go embeds.
func builtin(t testing.TB) auth.ConfigSource {
	t.Helper()
	data, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatalf("reading the built-in presets: %v", err)
	}
	return auth.ConfigSource{Path: builtinPath, Data: data}
}

func noEnv(string) string { return "" }

func envMap(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func loadBuiltin(t *testing.T) *auth.Catalogue {
	t.Helper()
	cat, err := auth.LoadCatalogue(builtin(t), auth.ConfigSource{}, noEnv)
	if err != nil {
		t.Fatalf("LoadCatalogue(built-in): %v", err)
	}
	return cat
}

// endpoints lists a provider's URL fields by name.
func endpoints(p *auth.Provider) map[string]string {
	m := map[string]string{
		"issuer": p.Issuer, "auth_url": p.AuthURL, "token_url": p.TokenURL, "device_auth_url": p.DeviceAuthURL,
		"revocation_url": p.RevocationURL, "grant_revocation_url": p.GrantRevocationURL,
		"userinfo_url": p.UserinfoURL, "jwks_url": p.JWKSURL, "manage_url": p.ManageURL,
	}
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

// TestBuiltinPresets checks the embedded providers.yaml: it parses, holds
// the four presets and nothing else, every URL is https on the provider's own
// domains, and each preset has the facts the login and logout code rely on.
func TestBuiltinPresets(t *testing.T) {
	cat := loadBuiltin(t)
	if diff := cmp.Diff([]string{"github", "gitlab", "google", "microsoft"}, cat.Names()); diff != "" {
		t.Fatalf("built-in presets (-want +got):\n%s", diff)
	}
	if len(cat.Warnings) != 0 {
		t.Errorf("built-in presets produce warnings: %q", cat.Warnings)
	}

	type facts struct {
		domains        []string // every endpoint host is one of these or below one
		issuer         string
		oidc           bool
		device         bool
		revocation     bool
		grantRevoke    bool
		userinfo       bool
		secretRequired bool
		tenant         string
		scopes         []string
		authParams     map[string]string
	}
	want := map[string]facts{
		"google": {
			domains: []string{"google.com", "googleapis.com"}, issuer: "https://accounts.google.com", oidc: true,
			device: true, revocation: true, userinfo: true, secretRequired: true,
			scopes: []string{"openid", "email", "profile"}, authParams: map[string]string{"access_type": "offline"},
		},
		"github": {
			domains: []string{"github.com"}, device: true, grantRevoke: true, userinfo: true, secretRequired: true,
			scopes: []string{"read:user"},
		},
		"microsoft": {
			domains: []string{"login.microsoftonline.com", "graph.microsoft.com", "myapps.microsoft.com"},
			issuer:  "https://login.microsoftonline.com/{tenantid}/v2.0", oidc: true, device: true, userinfo: true,
			tenant: "common", scopes: []string{"openid", "profile", "email", "offline_access"},
			authParams: map[string]string{"prompt": "select_account"},
		},
		"gitlab": {
			domains: []string{"gitlab.com"}, issuer: "https://gitlab.com", oidc: true, device: true, revocation: true,
			userinfo: true, scopes: []string{"openid", "profile", "email"},
		},
	}
	for _, p := range cat.All() {
		t.Run(p.Name, func(t *testing.T) {
			w := want[p.Name]
			for field, raw := range endpoints(p) {
				u, err := url.Parse(strings.ReplaceAll(strings.ReplaceAll(raw, "{tenantid}", "t"), "{client_id}", "c"))
				if err != nil || u.Scheme != "https" || u.Host == "" {
					t.Errorf("%s = %q: want an absolute https URL", field, raw)
					continue
				}
				if !onDomains(u.Hostname(), w.domains) {
					t.Errorf("%s = %q: host %s is not on %v", field, raw, u.Hostname(), w.domains)
				}
			}
			got := facts{
				domains: w.domains, issuer: p.Issuer, oidc: p.IsOIDC(), device: p.HasDevice(),
				revocation: p.RevocationURL != "", grantRevoke: p.GrantRevocationURL != "", userinfo: p.UserinfoURL != "",
				secretRequired: p.ClientSecretRequired, tenant: p.Tenant, scopes: p.Scopes, authParams: p.AuthParams,
			}
			if diff := cmp.Diff(w, got, cmp.AllowUnexported(facts{})); diff != "" {
				t.Errorf("facts (-want +got):\n%s", diff)
			}
			if p.Source != auth.SourceBuiltin || p.Grant != auth.GrantAuthorizationCode || p.NeedsDiscovery {
				t.Errorf("source %q, grant %q, needs discovery %t: want built-in, authorization_code, false", p.Source, p.Grant, p.NeedsDiscovery)
			}
			if p.AuthURL == "" || p.TokenURL == "" {
				t.Errorf("auth_url %q, token_url %q: built-in presets spell out their endpoints", p.AuthURL, p.TokenURL)
			}
			if p.ClientID != "" || p.RedirectURI != "" {
				t.Errorf("client_id %q, redirect_uri %q: presets carry neither", p.ClientID, p.RedirectURI)
			}
			if p.IsOIDC() && p.JWKSURL == "" {
				t.Errorf("an OIDC preset needs jwks_url to verify ID tokens without discovery")
			}
		})
	}
	ms, _ := cat.Get("microsoft")
	for _, u := range []string{ms.AuthURL, ms.TokenURL, ms.DeviceAuthURL, ms.JWKSURL} {
		if !strings.Contains(u, "/common/") || strings.Contains(u, "{tenant}") {
			t.Errorf("microsoft URL %q: want the common tenant filled in", u)
		}
	}
}

func onDomains(host string, domains []string) bool {
	for _, d := range domains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return true
		}
	}
	return false
}

// TestBuiltinNamesUnique reads providers.yaml as a YAML tree: no provider
// name appears twice (a later entry would silently win in a plain decoder),
// and the file has no secret.
func TestBuiltinNamesUnique(t *testing.T) {
	src := builtin(t)
	var doc yaml.Node
	if err := yaml.Unmarshal(src.Data, &doc); err != nil {
		t.Fatal(err)
	}
	providers := doc.Content[0].Content[1]
	seen := map[string]int{}
	for i := 0; i < len(providers.Content); i += 2 {
		k := providers.Content[i]
		if l, dup := seen[k.Value]; dup {
			t.Errorf("provider %q defined at lines %d and %d", k.Value, l, k.Line)
		}
		seen[k.Value] = k.Line
	}
	if len(seen) != 4 {
		t.Errorf("%d presets, want 4", len(seen))
	}
	for _, bad := range []string{"client_secret:", "client_id:"} {
		if strings.Contains(string(src.Data), bad) {
			t.Errorf("providers.yaml contains %q", bad)
		}
	}
}

// TestUserEntriesMerge: a user file adds providers and overrides built-in
// fields by name; what it does not name stays as the preset has it.
func TestUserEntriesMerge(t *testing.T) {
	user := auth.ConfigSource{Path: "/home/u/.config/oauthctl/providers.yaml", Data: []byte(`providers:
  google:
    client_id: 1234-fake.apps.googleusercontent.com
    scopes: [openid, email, https://www.googleapis.com/auth/drive.readonly]
    auth_params:
      prompt: select_account
  corp:
    issuer: https://sso.corp.example
    client_id: corp-cli
  local:
    auth_url: http://127.0.0.1:8080/authorize
    token_url: http://localhost:8080/token
    redirect_uri: http://127.0.0.1:8085/callback
  robot:
    grant: client_credentials
    token_url: https://auth.example.com/oauth/token
`)}
	cat, err := auth.LoadCatalogue(builtin(t), user, noEnv)
	if err != nil {
		t.Fatalf("LoadCatalogue: %v", err)
	}
	if diff := cmp.Diff([]string{"corp", "github", "gitlab", "google", "local", "microsoft", "robot"}, cat.Names()); diff != "" {
		t.Errorf("names (-want +got):\n%s", diff)
	}
	g, _ := cat.Get("google")
	base := loadBuiltin(t)
	bg, _ := base.Get("google")
	wantG := *bg
	wantG.Source = auth.SourceOverride
	wantG.ClientID, wantG.ClientIDSource = "1234-fake.apps.googleusercontent.com", "config"
	wantG.Scopes = []string{"openid", "email", "https://www.googleapis.com/auth/drive.readonly"}
	wantG.AuthParams = map[string]string{"access_type": "offline", "prompt": "select_account"}
	if diff := cmp.Diff(&wantG, g); diff != "" {
		t.Errorf("google after the override (-want +got):\n%s", diff)
	}

	corp, _ := cat.Get("corp")
	wantCorp := &auth.Provider{Name: "corp", Source: auth.SourceUser, Issuer: "https://sso.corp.example",
		ClientID: "corp-cli", ClientIDSource: "config", Scopes: []string{}, Grant: auth.GrantAuthorizationCode, NeedsDiscovery: true}
	if diff := cmp.Diff(wantCorp, corp); diff != "" {
		t.Errorf("issuer-only entry (-want +got):\n%s", diff)
	}
	local, _ := cat.Get("local")
	if local.NeedsDiscovery || local.RedirectURI != "http://127.0.0.1:8085/callback" || local.IsOIDC() {
		t.Errorf("loopback entry: %+v", local)
	}
	robot, _ := cat.Get("robot")
	if robot.Grant != auth.GrantClientCredentials || robot.NeedsDiscovery {
		t.Errorf("client_credentials entry: grant %q, needs discovery %t", robot.Grant, robot.NeedsDiscovery)
	}
}

// TestEndpointOverride (row 48): a user entry that changes where a built-in
// preset sends codes and tokens fails unless it says `override: true`, and
// then loads with a warning naming file, line and field.
func TestEndpointOverride(t *testing.T) {
	const path = "/home/u/.config/oauthctl/providers.yaml"
	silent := auth.ConfigSource{Path: path, Data: []byte(`providers:
  github:
    client_id: Iv1.fake
    token_url: https://evil.example/token
`)}
	_, err := auth.LoadCatalogue(builtin(t), silent, noEnv)
	want := path + `:4: token_url: changes where the built-in "github" preset sends codes and tokens; add ` +
		"`override: true`" + ` to the entry if you mean it`
	if err == nil || err.Error() != want {
		t.Fatalf("silent override: got %v\nwant %s", err, want)
	}
	if !errors.Is(err, auth.ErrConfig) {
		t.Errorf("silent override error does not match ErrConfig")
	}

	explicit := auth.ConfigSource{Path: path, Data: []byte(`providers:
  github:
    override: true
    token_url: https://ghe.example.com/login/oauth/access_token
    auth_url: https://ghe.example.com/login/oauth/authorize
`)}
	cat, err := auth.LoadCatalogue(builtin(t), explicit, noEnv)
	if err != nil {
		t.Fatalf("explicit override: %v", err)
	}
	wantWarn := []string{
		path + ":4: github overrides the built-in github preset's token_url",
		path + ":5: github overrides the built-in github preset's auth_url",
		path + ":2: github: the preset's device_auth_url, grant_revocation_url, userinfo_url, manage_url, git_hosts dropped: they are on other hosts than the entry's endpoints",
	}
	if diff := cmp.Diff(wantWarn, cat.Warnings); diff != "" {
		t.Errorf("warnings (-want +got):\n%s", diff)
	}
	gh, _ := cat.Get("github")
	// Moved to another server: nothing of the preset may still point at
	// github.com, or logout would send the GHE token and client secret there.
	wantGH := &auth.Provider{Name: "github", Source: auth.SourceOverride,
		AuthURL:  "https://ghe.example.com/login/oauth/authorize",
		TokenURL: "https://ghe.example.com/login/oauth/access_token", ClientSecretRequired: true,
		TokenEndpointAuthMethod: "client_secret_post",
		Scopes:                  []string{"read:user"}, Grant: auth.GrantAuthorizationCode, GitUsername: "x-access-token"}
	if diff := cmp.Diff(wantGH, gh); diff != "" {
		t.Errorf("github moved to GHE (-want +got):\n%s", diff)
	}

	// An override on the preset's own hosts keeps the preset's other URLs.
	sameHost := auth.ConfigSource{Path: path, Data: []byte(`providers:
  google:
    override: true
    token_url: https://oauth2.googleapis.com/v5/token
`)}
	cat, err = auth.LoadCatalogue(builtin(t), sameHost, noEnv)
	if err != nil {
		t.Fatalf("same-host override: %v", err)
	}
	if diff := cmp.Diff([]string{path + ":4: google overrides the built-in google preset's token_url"}, cat.Warnings); diff != "" {
		t.Errorf("same-host warnings (-want +got):\n%s", diff)
	}
	g, _ := cat.Get("google")
	base, _ := loadBuiltin(t).Get("google")
	wantG := *base
	wantG.Source, wantG.TokenURL = auth.SourceOverride, "https://oauth2.googleapis.com/v5/token"
	if diff := cmp.Diff(&wantG, g); diff != "" {
		t.Errorf("google after a same-host override (-want +got):\n%s", diff)
	}
}

// TestMicrosoftTenant: the tenant fills {tenant} in the endpoints; a tenant
// ID also pins the issuer, a domain keeps the multi-tenant issuer template.
func TestMicrosoftTenant(t *testing.T) {
	tests := []struct {
		tenant     string
		wantToken  string
		wantIssuer string
	}{
		{"contoso.onmicrosoft.com", "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token",
			"https://login.microsoftonline.com/{tenantid}/v2.0"},
		{"72F988BF-86F1-41AF-91AB-2D7CD011DB47", "https://login.microsoftonline.com/72F988BF-86F1-41AF-91AB-2D7CD011DB47/oauth2/v2.0/token",
			"https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0"},
		{"organizations", "https://login.microsoftonline.com/organizations/oauth2/v2.0/token",
			"https://login.microsoftonline.com/{tenantid}/v2.0"},
		{"../../evil", "https://login.microsoftonline.com/..%2F..%2Fevil/oauth2/v2.0/token",
			"https://login.microsoftonline.com/{tenantid}/v2.0"},
	}
	for _, tt := range tests {
		t.Run(tt.tenant, func(t *testing.T) {
			user := auth.ConfigSource{Path: "u.yaml", Data: []byte("providers:\n  microsoft:\n    override: true\n    tenant: \"" + tt.tenant + "\"\n")}
			cat, err := auth.LoadCatalogue(builtin(t), user, noEnv)
			if err != nil {
				t.Fatalf("LoadCatalogue: %v", err)
			}
			ms, _ := cat.Get("microsoft")
			if ms.TokenURL != tt.wantToken || ms.Issuer != tt.wantIssuer {
				t.Errorf("token_url %q, issuer %q; want %q, %q", ms.TokenURL, ms.Issuer, tt.wantToken, tt.wantIssuer)
			}
			u, err := url.Parse(ms.TokenURL)
			if err != nil || u.Host != "login.microsoftonline.com" {
				t.Errorf("the tenant moved the token endpoint to %q", ms.TokenURL)
			}
		})
	}
}

// TestLoadErrors (row 47): every problem in a user file fails the load with
// "file:line: field: message".
func TestLoadErrors(t *testing.T) {
	const path = "/cfg/providers.yaml"
	tests := []struct {
		name string
		yaml string
		want string
	}{
		{
			name: "syntax error",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n   bad indent: [\n",
			want: path + ":4: invalid YAML: did not find expected key",
		},
		{
			name: "bad indentation deep in the file",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    scopes: [openid]\n  other:\n    issuer: https://o.example\n     token_url: https://o.example/t\n",
			want: path + ":7: invalid YAML: mapping values are not allowed in this context",
		},
		{
			name: "unterminated flow sequence",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    scopes: [openid, email\n",
			want: path + ":4: invalid YAML: did not find expected ',' or ']'",
		},
		{
			name: "unterminated quote",
			yaml: "providers:\n  corp:\n    issuer: \"https://sso.example\n    scopes: [openid]\n",
			want: path + ":3: invalid YAML: found unexpected end of stream",
		},
		{
			name: "tab indentation",
			yaml: "providers:\n\tcorp: {}\n",
			want: path + ":2: invalid YAML: found character that cannot start any token",
		},
		{
			name: "unknown top-level key",
			yaml: "provider:\n  corp: {}\n",
			want: path + ":1: provider: unknown top-level key (want `providers:`)",
		},
		{
			name: "not a mapping",
			yaml: "- corp\n",
			want: path + ":1: the file must be a mapping with a top-level `providers:` key",
		},
		{
			name: "providers not a map",
			yaml: "providers: [corp]\n",
			want: path + ":1: providers: must be a map from provider name to entry",
		},
		{
			name: "entry not a map",
			yaml: "providers:\n  corp: https://sso.example\n",
			want: path + ":2: corp: provider entry must be a map of fields",
		},
		{
			name: "unknown field",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    token_uri: https://sso.example/token\n",
			want: path + ":4: token_uri: unknown field (known: issuer, auth_url, token_url, device_auth_url, revocation_url, grant_revocation_url, userinfo_url, jwks_url, manage_url, revocation_revokes_grant, tenant, client_id, client_secret_required, token_endpoint_auth_method, scopes, auth_params, incremental_param, redirect_uri, grant, git_hosts, git_username, override)",
		},
		{
			name: "client_secret key",
			yaml: "providers:\n  my-corp:\n    issuer: https://sso.example\n    client_secret: fake-secret\n",
			want: path + ":4: client_secret: client secrets do not belong in providers.yaml: set OAUTHCTL_MY_CORP_CLIENT_SECRET or run `oauthctl client set my-corp`",
		},
		{
			name: "field set twice",
			yaml: "providers:\n  corp:\n    issuer: https://a.example\n    issuer: https://b.example\n",
			want: path + ":4: issuer: is set twice",
		},
		{
			name: "provider defined twice",
			yaml: "providers:\n  corp:\n    issuer: https://a.example\n  corp:\n    issuer: https://b.example\n",
			want: path + `:4: provider "corp" is defined twice`,
		},
		{
			name: "bad provider name",
			yaml: "providers:\n  1corp:\n    issuer: https://sso.example\n",
			want: path + `:2: provider name "1corp": use letters, digits, '-', '_' and '.', starting with a letter`,
		},
		{
			name: "scopes not a list",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    scopes: openid email\n",
			want: path + ":4: scopes: must be a list of strings, e.g. [openid, email]",
		},
		{
			name: "auth_params not a map",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    auth_params: [prompt]\n",
			want: path + ":4: auth_params: must be a map from parameter name to string value",
		},
		{
			name: "reserved auth param",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    auth_params:\n      state: fixed\n      prompt: login\n",
			want: path + ":5: auth_params.state: is set by oauthctl itself and cannot be configured",
		},
		{
			name: "response_mode auth param",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    auth_params: {response_mode: form_post}\n",
			want: path + ":4: auth_params.response_mode: is set by oauthctl itself and cannot be configured",
		},
		{
			name: "bool of the wrong type",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    client_secret_required: sometimes\n",
			want: path + ":4: client_secret_required: must be true or false",
		},
		{
			name: "string field given a list",
			yaml: "providers:\n  corp:\n    issuer: [https://sso.example]\n",
			want: path + ":3: issuer: must be a string",
		},
		{
			name: "missing endpoints",
			yaml: "providers:\n  corp:\n    client_id: corp-cli\n",
			want: path + ":2: token_url: is missing: give token_url (and auth_url), or an issuer to discover them from",
		},
		{
			name: "missing auth_url",
			yaml: "providers:\n  corp:\n    token_url: https://sso.example/token\n",
			want: path + ":2: auth_url: is missing: give auth_url, or an issuer to discover it from",
		},
		{
			name: "http endpoint",
			yaml: "providers:\n  corp:\n    auth_url: https://sso.example/authorize\n    token_url: http://sso.example/token\n",
			want: path + ":4: token_url: must use https (plain http is allowed only for loopback hosts)",
		},
		{
			name: "http issuer",
			yaml: "providers:\n  corp:\n    issuer: http://sso.example\n",
			want: path + ":3: issuer: must use https (plain http is allowed only for loopback hosts)",
		},
		{
			name: "javascript URL",
			yaml: "providers:\n  corp:\n    auth_url: javascript:alert(1)\n    token_url: https://sso.example/token\n",
			want: path + ":3: auth_url: must be an absolute https URL",
		},
		{
			name: "file URL",
			yaml: "providers:\n  corp:\n    auth_url: file:///etc/passwd\n    token_url: https://sso.example/token\n",
			want: path + ":3: auth_url: must be an absolute https URL",
		},
		{
			name: "relative URL",
			yaml: "providers:\n  corp:\n    auth_url: /authorize\n    token_url: https://sso.example/token\n",
			want: path + ":3: auth_url: must be an absolute https URL",
		},
		{
			name: "user info in URL",
			yaml: "providers:\n  corp:\n    issuer: https://user:pw@sso.example\n",
			want: path + ":3: issuer: must not carry user info",
		},
		{
			name: "ftp URL",
			yaml: "providers:\n  corp:\n    auth_url: ftp://sso.example/a\n    token_url: https://sso.example/token\n",
			want: path + `:3: auth_url: must use https, not "ftp"`,
		},
		{
			name: "bad redirect_uri host",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    redirect_uri: http://example.com:8085/callback\n",
			want: path + ":4: redirect_uri: must be an http loopback URI such as http://127.0.0.1:8085/callback",
		},
		{
			name: "https redirect_uri",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    redirect_uri: https://127.0.0.1:8085/callback\n",
			want: path + ":4: redirect_uri: must be an http loopback URI such as http://127.0.0.1:8085/callback",
		},
		{
			name: "redirect_uri without port",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    redirect_uri: http://127.0.0.1/callback\n",
			want: path + ":4: redirect_uri: must name a port, e.g. http://127.0.0.1:8085/callback",
		},
		{
			name: "redirect_uri with query",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    redirect_uri: http://127.0.0.1:8085/callback?x=1\n",
			want: path + ":4: redirect_uri: must not have a query or fragment",
		},
		{
			name: "unknown grant",
			yaml: "providers:\n  corp:\n    issuer: https://sso.example\n    grant: password\n",
			want: path + ":4: grant: must be authorization_code or client_credentials",
		},
		{
			name: "tenant placeholder without tenant",
			yaml: "providers:\n  corp:\n    auth_url: https://sso.example/{tenant}/authorize\n    token_url: https://sso.example/{tenant}/token\n",
			want: path + ":2: tenant: is required: the endpoints contain {tenant}",
		},
		{
			name: "names sharing environment variables",
			yaml: "providers:\n  Google:\n    issuer: https://accounts.example\n",
			want: path + `:2: provider "Google" shares the environment variables OAUTHCTL_GOOGLE_CLIENT_ID and OAUTHCTL_GOOGLE_CLIENT_SECRET with provider "google"; rename one`,
		},
		{
			name: "user names sharing environment variables",
			yaml: "providers:\n  my-app:\n    issuer: https://a.example\n  my_app:\n    issuer: https://b.example\n",
			want: path + `:4: provider "my_app" shares the environment variables OAUTHCTL_MY_APP_CLIENT_ID and OAUTHCTL_MY_APP_CLIENT_SECRET with provider "my-app"; rename one`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := auth.LoadCatalogue(builtin(t), auth.ConfigSource{Path: path, Data: []byte(tt.yaml)}, noEnv)
			if err == nil {
				t.Fatalf("LoadCatalogue succeeded, want %s", tt.want)
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
			var ce *auth.ConfigError
			if !errors.As(err, &ce) || !errors.Is(err, auth.ErrConfig) {
				t.Errorf("error %T is not a *ConfigError matching ErrConfig", err)
			}
		})
	}
}

// TestLoopbackHTTPAllowed: plain http is fine for loopback hosts only.
func TestLoopbackHTTPAllowed(t *testing.T) {
	for _, host := range []string{"127.0.0.1", "127.1.2.3", "[::1]", "localhost", "LOCALHOST"} {
		t.Run(host, func(t *testing.T) {
			user := auth.ConfigSource{Path: "u.yaml", Data: []byte("providers:\n  dev:\n    auth_url: http://" + host +
				":9000/authorize\n    token_url: http://" + host + ":9000/token\n")}
			if _, err := auth.LoadCatalogue(builtin(t), user, noEnv); err != nil {
				t.Errorf("http on %s: %v", host, err)
			}
		})
	}
}

func TestCheckEndpointURL(t *testing.T) {
	tests := []struct {
		url  string
		want string // "" = ok
	}{
		{"https://accounts.google.com/o/oauth2/v2/auth", ""},
		{"https://example.com:8443/token?x=1", ""},
		{"http://127.0.0.1:8080/token", ""},
		{"http://[::1]:8080/token", ""},
		{"http://localhost/token", ""},
		{"http://127.0.0.1.evil.example/token", "must use https (plain http is allowed only for loopback hosts)"},
		{"http://localhost.evil.example/token", "must use https (plain http is allowed only for loopback hosts)"},
		{"http://10.0.0.1/token", "must use https (plain http is allowed only for loopback hosts)"},
		{"https://", "must be an absolute https URL"},
		{"mailto:a@b.example", "must be an absolute https URL"},
		{"https://u@example.com/", "must not carry user info"},
		{"HTTPS://EXAMPLE.COM/token", ""},
		{"ws://example.com/", `must use https, not "ws"`},
		{"https://exa mple.com/", "is not a valid URL"},
	}
	for _, tt := range tests {
		t.Run(tt.url, func(t *testing.T) {
			err := auth.CheckEndpointURL(tt.url)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("CheckEndpointURL(%q) = %q, want %q", tt.url, got, tt.want)
			}
		})
	}
}

// TestClientIDPrecedence: OAUTHCTL_<NAME>_CLIENT_ID beats client_id in the
// file; the source is reported; names map to variables upper-cased with
// other characters as '_'.
func TestClientIDPrecedence(t *testing.T) {
	user := auth.ConfigSource{Path: "u.yaml", Data: []byte(`providers:
  google:
    client_id: from-config.apps.googleusercontent.com
  my-corp.dev:
    issuer: https://sso.example
    client_id: corp-from-config
`)}
	tests := []struct {
		name       string
		env        map[string]string
		provider   string
		wantID     string
		wantSource string
	}{
		{"config only", nil, "google", "from-config.apps.googleusercontent.com", "config"},
		{"env beats config", map[string]string{"OAUTHCTL_GOOGLE_CLIENT_ID": "from-env"}, "google", "from-env", "env"},
		{"env only", map[string]string{"OAUTHCTL_GITHUB_CLIENT_ID": "Iv1.env"}, "github", "Iv1.env", "env"},
		{"nothing", nil, "gitlab", "", ""},
		{"punctuated name", map[string]string{"OAUTHCTL_MY_CORP_DEV_CLIENT_ID": "corp-env"}, "my-corp.dev", "corp-env", "env"},
		{"other provider's variable ignored", map[string]string{"OAUTHCTL_GITHUB_CLIENT_ID": "x"}, "google", "from-config.apps.googleusercontent.com", "config"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cat, err := auth.LoadCatalogue(builtin(t), user, envMap(tt.env))
			if err != nil {
				t.Fatal(err)
			}
			p, err := cat.Get(tt.provider)
			if err != nil {
				t.Fatal(err)
			}
			if p.ClientID != tt.wantID || p.ClientIDSource != tt.wantSource {
				t.Errorf("client ID %q from %q, want %q from %q", p.ClientID, p.ClientIDSource, tt.wantID, tt.wantSource)
			}
		})
	}
	if got := auth.ClientIDEnv("my-corp.dev"); got != "OAUTHCTL_MY_CORP_DEV_CLIENT_ID" {
		t.Errorf("ClientIDEnv = %q", got)
	}
	if got := auth.ClientSecretEnv("gitlab"); got != "OAUTHCTL_GITLAB_CLIENT_SECRET" {
		t.Errorf("ClientSecretEnv = %q", got)
	}
}

// TestUnknownProvider: Get of an unknown name lists the known ones and is a
// configuration error (exit 2).
func TestUnknownProvider(t *testing.T) {
	cat := loadBuiltin(t)
	_, err := cat.Get("gogle")
	want := `unknown provider "gogle" (known: github, gitlab, google, microsoft)`
	if err == nil || err.Error() != want {
		t.Fatalf("Get = %v, want %s", err, want)
	}
	var ue *auth.UnknownProviderError
	if !errors.As(err, &ue) || !errors.Is(err, auth.ErrConfig) {
		t.Errorf("error %T: want *UnknownProviderError matching ErrConfig", err)
	}
}

// TestCatalogueCopies: what Get and All return cannot change the catalogue.
func TestCatalogueCopies(t *testing.T) {
	cat := loadBuiltin(t)
	g, _ := cat.Get("google")
	g.Scopes[0] = "mutated"
	g.AuthParams["access_type"] = "mutated"
	g.TokenURL = "https://evil.example"
	for _, p := range cat.All() {
		if p.Name == "google" {
			p.Scopes[1] = "mutated"
			p.AuthParams["prompt"] = "mutated"
		}
	}
	again, _ := cat.Get("google")
	if diff := cmp.Diff([]string{"openid", "email", "profile"}, again.Scopes); diff != "" {
		t.Errorf("scopes changed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]string{"access_type": "offline"}, again.AuthParams); diff != "" {
		t.Errorf("auth params changed (-want +got):\n%s", diff)
	}
	if again.TokenURL != "https://oauth2.googleapis.com/token" {
		t.Errorf("token URL changed: %s", again.TokenURL)
	}
}

// TestEmptyUserFile: an empty, comment-only or `providers:`-only file adds
// nothing.
func TestEmptyUserFile(t *testing.T) {
	for _, data := range []string{"", "\n\n", "# just a comment\n", "providers:\n", "providers: {}\n"} {
		cat, err := auth.LoadCatalogue(builtin(t), auth.ConfigSource{Path: "u.yaml", Data: []byte(data)}, noEnv)
		if err != nil {
			t.Errorf("%q: %v", data, err)
			continue
		}
		if len(cat.Names()) != 4 {
			t.Errorf("%q: %d providers, want the 4 presets", data, len(cat.Names()))
		}
	}
}

// FuzzLoadCatalogue: no user file makes the loader panic, and whatever loads
// passes the endpoint checks; every failure is a ConfigError.
func FuzzLoadCatalogue(f *testing.F) {
	f.Add([]byte("providers:\n  corp:\n    issuer: https://sso.example\n"))
	f.Add([]byte("providers:\n  google:\n    override: true\n    token_url: http://127.0.0.1:1/t\n"))
	f.Add([]byte("providers:\n  microsoft:\n    override: true\n    tenant: \"{tenant}\"\n"))
	f.Add([]byte("providers:\n  a: &x {issuer: https://a.example}\n  b: *x\n"))
	f.Add([]byte("providers:\n  corp:\n    auth_params: {prompt: login}\n    scopes: [a, b]\n    issuer: https://x\n"))
	f.Add([]byte("? [a]\n: b\n"))
	f.Add([]byte("providers: !!binary aGVsbG8=\n"))
	f.Add([]byte("\t- :"))
	builtinSrc := builtin(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		cat, err := auth.LoadCatalogue(builtinSrc, auth.ConfigSource{Path: "fuzz.yaml", Data: data}, noEnv)
		if err != nil {
			var ce *auth.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *ConfigError: %v", err, err)
			}
			if ce.Path != "fuzz.yaml" {
				t.Fatalf("error blames %q, not the user file: %v", ce.Path, err)
			}
			return
		}
		for _, p := range cat.All() {
			for field, raw := range endpoints(p) {
				raw = strings.ReplaceAll(strings.ReplaceAll(raw, "{tenantid}", "t"), "{client_id}", "c")
				if err := auth.CheckEndpointURL(raw); err != nil {
					t.Fatalf("%s.%s = %q loaded but fails the check: %v", p.Name, field, raw, err)
				}
			}
			if p.TokenURL == "" && p.Issuer == "" {
				t.Fatalf("%s loaded with neither token_url nor issuer", p.Name)
			}
		}
	})
}
