// Package auth speaks OAuth 2.0 and OpenID Connect for oauthctl: the provider
// catalogue and discovery, the loopback browser login, the device grant,
// refresh and revocation. It knows nothing of cobra, files or keychains: the
// cmd package reads files and stores tokens, and hands auth bytes and values.
package auth

import (
	"errors"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/oauthctl/oauthctl/internal/loopback"
	"github.com/oauthctl/oauthctl/internal/oauthval"
	"github.com/oauthctl/oauthctl/internal/suggest"
	"github.com/oauthctl/oauthctl/internal/userconfig"
)

// Sources of a provider entry, as shown by `oauthctl providers`.
const (
	SourceBuiltin  = "built-in"
	SourceUser     = "user"
	SourceOverride = "built-in+user"
)

// Grant types a provider entry may select with `grant:`.
const (
	GrantAuthorizationCode = oauthval.GrantAuthorizationCode
	GrantClientCredentials = oauthval.GrantClientCredentials
)

// Provider is one entry of the catalogue after loading and merging: the
// built-in preset with the user's overrides applied, placeholders expanded and
// the environment's client ID filled in.
type Provider struct {
	Name   string `json:"name"`
	Source string `json:"source"`

	Issuer             string `json:"issuer,omitempty"`
	AuthURL            string `json:"auth_url,omitempty"`
	TokenURL           string `json:"token_url,omitempty"`
	DeviceAuthURL      string `json:"device_auth_url,omitempty"`
	RevocationURL      string `json:"revocation_url,omitempty"`
	GrantRevocationURL string `json:"grant_revocation_url,omitempty"`
	UserinfoURL        string `json:"userinfo_url,omitempty"`
	JWKSURL            string `json:"jwks_url,omitempty"`
	ManageURL          string `json:"manage_url,omitempty"`
	// RevocationRevokesGrant says that revoking any one token at
	// RevocationURL ends the user's whole grant to the client (Google: the
	// app loses its access), so a login must not revoke the refresh token it
	// replaces for the same user: that would revoke the new one too.
	RevocationRevokesGrant bool   `json:"revocation_revokes_grant,omitempty"`
	Tenant                 string `json:"tenant,omitempty"`

	ClientID string `json:"client_id,omitempty"`
	// ClientIDSource says where ClientID came from: "env", "config",
	// "stored" (`oauthctl client set`, see ApplyStoredClients) or "" when
	// none is configured.
	ClientIDSource string `json:"client_id_source,omitempty"`
	// ClientSecretStored is true when `oauthctl client set` put a client
	// secret for this provider in the keychain (ApplyStoredClients).
	ClientSecretStored bool `json:"client_secret_stored,omitempty"`
	// ClientSecretOtherClientID is set when the secret `oauthctl client
	// set` stored belongs to another client ID than ClientID (which the
	// environment or providers.yaml overrides): it names that client ID,
	// and the secret is not used (ClientSecretStored is false).
	ClientSecretOtherClientID string `json:"client_secret_other_client_id,omitempty"`

	ClientSecretRequired bool `json:"client_secret_required,omitempty"`
	// TokenEndpointAuthMethod is how the client authenticates at the token,
	// revocation and device endpoints: none, client_secret_basic or
	// client_secret_post; "" lets ChooseClientAuth decide.
	TokenEndpointAuthMethod string            `json:"token_endpoint_auth_method,omitempty"`
	Scopes                  []string          `json:"scopes"`
	AuthParams              map[string]string `json:"auth_params,omitempty"`
	IncrementalParam        string            `json:"incremental_param,omitempty"`
	RedirectURI             string            `json:"redirect_uri,omitempty"`
	Grant                   string            `json:"grant"`

	// GitHosts are the git hosts (HOST or HOST:PORT, lower case) whose
	// HTTPS remotes `oauthctl git-credential` serves with this provider's
	// access token. They decide where tokens are sent, like the endpoints.
	GitHosts []string `json:"git_hosts,omitempty"`
	// GitUsername is the user name git sends with the token (GitHub:
	// x-access-token, GitLab: oauth2); empty means DefaultGitUsername.
	GitUsername string `json:"git_username,omitempty"`

	// NeedsDiscovery is true for entries whose endpoints come from OIDC
	// discovery of Issuer (a user entry that gives only an issuer).
	NeedsDiscovery bool `json:"needs_discovery,omitempty"`
}

// DefaultGitUsername is the user name git-credential reports for a provider
// without git_username: GitLab's convention, which most forges accept with
// an OAuth access token as the password.
const DefaultGitUsername = "oauth2"

// ServesGitHost reports whether host (HOST or HOST:PORT as git sends it)
// is one of p's git hosts. Case-insensitive; the port must match too.
func (p *Provider) ServesGitHost(host string) bool {
	return slices.Contains(p.GitHosts, strings.ToLower(host))
}

// GitUser returns the user name to hand git with the token.
func (p *Provider) GitUser() string {
	if p.GitUsername != "" {
		return p.GitUsername
	}
	return DefaultGitUsername
}

// IsOIDC reports whether the provider speaks OpenID Connect: it has an issuer
// and the scopes ask for an ID token.
func (p *Provider) IsOIDC() bool {
	return p.Issuer != "" && slices.Contains(p.Scopes, "openid")
}

// HasDevice reports whether the provider offers the device authorization grant.
func (p *Provider) HasDevice() bool { return p.DeviceAuthURL != "" }

// EnvName is NAME in OAUTHCTL_<NAME>_CLIENT_ID: the provider name upper-cased
// with every character other than A-Z and 0-9 replaced by '_'.
func EnvName(provider string) string { return oauthval.EnvName(provider) }

// ClientIDEnv is the environment variable that holds the provider's client ID.
func ClientIDEnv(provider string) string { return oauthval.ClientIDEnv(provider) }

// ClientSecretEnv is the environment variable that holds the provider's client secret.
func ClientSecretEnv(provider string) string {
	return oauthval.ClientSecretEnv(provider)
}

// Catalogue is the set of known providers, built-in and user-defined.
type Catalogue struct {
	providers map[string]*Provider
	// Warnings are non-fatal findings of loading (explicit overrides of a
	// built-in preset's endpoints), for the caller to print.
	Warnings []string
}

// Names lists the provider names in sorted order.
func (c *Catalogue) Names() []string {
	names := make([]string, 0, len(c.providers))
	for n := range c.providers {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// All returns every provider, sorted by name. The values are copies.
func (c *Catalogue) All() []*Provider {
	out := make([]*Provider, 0, len(c.providers))
	for _, n := range c.Names() {
		out = append(out, c.providers[n].clone())
	}
	return out
}

// clone returns a deep copy, so callers cannot change the catalogue.
func (p *Provider) clone() *Provider {
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	cp.AuthParams = maps.Clone(p.AuthParams)
	cp.GitHosts = slices.Clone(p.GitHosts)
	return &cp
}

// Get returns a copy of the named provider, or an *UnknownProviderError that
// lists the known names.
func (c *Catalogue) Get(name string) (*Provider, error) {
	p, ok := c.providers[name]
	if !ok {
		known := c.Names()
		return nil, &UnknownProviderError{Name: name, Known: known, Suggestions: suggest.Names(name, known)}
	}
	return p.clone(), nil
}

// GitProvider returns a copy of the provider whose git_hosts lists host
// (HOST or HOST:PORT as git sends it), or false. LoadCatalogue guarantees
// that at most one does.
func (c *Catalogue) GitProvider(host string) (*Provider, bool) {
	for _, n := range c.Names() {
		if p := c.providers[n]; p.ServesGitHost(host) {
			return p.clone(), true
		}
	}
	return nil, false
}

// ConfigSource is one providers.yaml document to load.
type ConfigSource struct {
	Path string // shown in errors
	Data []byte
}

// entry is the YAML schema of one provider. Pointers tell "not set" from
// "set to empty" so that a user entry overrides only what it names.
type entry struct {
	Issuer                 *string           `yaml:"issuer"`
	AuthURL                *string           `yaml:"auth_url"`
	TokenURL               *string           `yaml:"token_url"`
	DeviceAuthURL          *string           `yaml:"device_auth_url"`
	RevocationURL          *string           `yaml:"revocation_url"`
	GrantRevocationURL     *string           `yaml:"grant_revocation_url"`
	UserinfoURL            *string           `yaml:"userinfo_url"`
	JWKSURL                *string           `yaml:"jwks_url"`
	ManageURL              *string           `yaml:"manage_url"`
	RevocationRevokesGrant *bool             `yaml:"revocation_revokes_grant"`
	Tenant                 *string           `yaml:"tenant"`
	ClientID               *string           `yaml:"client_id"`
	ClientSecretRequired   *bool             `yaml:"client_secret_required"`
	TokenEndpointAuth      *string           `yaml:"token_endpoint_auth_method"`
	Scopes                 []string          `yaml:"scopes"`
	AuthParams             map[string]string `yaml:"auth_params"`
	IncrementalParam       *string           `yaml:"incremental_param"`
	RedirectURI            *string           `yaml:"redirect_uri"`
	Grant                  *string           `yaml:"grant"`
	GitHosts               []string          `yaml:"git_hosts"`
	GitUsername            *string           `yaml:"git_username"`
	Override               bool              `yaml:"override"`

	line  map[string]int // field -> line, for errors
	path  string
	start int
}

// endpointFields are the fields that decide where tokens and codes are sent.
// A user file may change them for a built-in preset only with `override: true`.
var endpointFields = []string{"issuer", "auth_url", "token_url", "device_auth_url",
	"revocation_url", "grant_revocation_url", "userinfo_url", "jwks_url", "tenant", "git_hosts"}

var knownFields = []string{"issuer", "auth_url", "token_url", "device_auth_url",
	"revocation_url", "grant_revocation_url", "userinfo_url", "jwks_url", "manage_url", "revocation_revokes_grant",
	"tenant", "client_id", "client_secret_required", "token_endpoint_auth_method", "scopes", "auth_params",
	"incremental_param", "redirect_uri", "grant", "git_hosts", "git_username", "override"}

// LoadCatalogue parses the built-in presets and then the user's file (either
// may be empty), merges them by name and validates the result. getenv supplies
// OAUTHCTL_<NAME>_CLIENT_ID. Every problem is a *ConfigError naming the file,
// the line and the field.
func LoadCatalogue(builtin, user ConfigSource, getenv func(string) string) (*Catalogue, error) {
	base, err := parseEntries(builtin)
	if err != nil {
		return nil, err
	}
	over, err := parseEntries(user)
	if err != nil {
		return nil, err
	}
	c := &Catalogue{providers: map[string]*Provider{}}
	for name, e := range base {
		p := &Provider{Name: name, Source: SourceBuiltin}
		e.applyTo(p)
		c.providers[name] = p
	}
	// In file order, so the first problem reported is the first in the file.
	names := slices.SortedFunc(maps.Keys(over), func(a, b string) int { return over[a].start - over[b].start })
	for _, name := range names {
		e := over[name]
		p, ok := c.providers[name]
		if !ok {
			p = &Provider{Name: name, Source: SourceUser}
			c.providers[name] = p
		} else {
			set := slices.DeleteFunc(slices.Clone(endpointFields), func(f string) bool { _, ok := e.line[f]; return !ok })
			slices.SortFunc(set, func(a, b string) int { return e.line[a] - e.line[b] })
			for _, f := range set {
				l := e.line[f]
				if !e.Override {
					return nil, &ConfigError{Path: e.path, Line: l, Field: f,
						Msg: fmt.Sprintf("changes where the built-in %q preset sends codes and tokens; add `override: true` to the entry if you mean it", name)}
				}
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %s overrides the built-in %s preset's %s", e.path, l, name, name, f))
			}
			p.Source = SourceOverride
			presetHosts := p.hosts()
			e.applyTo(p)
			if dropped := dropForeignEndpoints(p, e, presetHosts); len(dropped) > 0 {
				c.Warnings = append(c.Warnings, fmt.Sprintf("%s:%d: %s: the preset's %s dropped: they are on other hosts than the entry's endpoints",
					e.path, e.start, name, strings.Join(dropped, ", ")))
			}
			continue
		}
		e.applyTo(p)
	}
	envOwner := map[string]string{}
	for _, name := range c.Names() {
		p := c.providers[name]
		e := over[name]
		if e == nil {
			e = base[name]
		}
		// Two names that map to one OAUTHCTL_<NAME>_* variable would share
		// a client ID and secret.
		if other, dup := envOwner[EnvName(name)]; dup {
			blame, with := name, other
			if over[name] == nil { // point at the user's entry, not the preset
				blame, with = other, name
			}
			be := over[blame]
			if be == nil {
				be = base[blame]
			}
			return nil, &ConfigError{Path: be.path, Line: be.start, Msg: fmt.Sprintf(
				"provider %q shares the environment variables %s and %s with provider %q; rename one",
				blame, ClientIDEnv(blame), ClientSecretEnv(blame), with)}
		}
		envOwner[EnvName(name)] = name
		if err := finish(p, e, getenv); err != nil {
			return nil, err
		}
	}
	// One git host, one provider: git-credential must not guess whose
	// token a host gets.
	gitOwner := map[string]string{}
	for _, name := range c.Names() {
		for _, h := range c.providers[name].GitHosts {
			if other, dup := gitOwner[h]; dup {
				e := over[name]
				if e == nil {
					e = base[name]
				}
				l := e.start
				if fl, ok := e.line["git_hosts"]; ok {
					l = fl
				}
				return nil, &ConfigError{Path: e.path, Line: l, Field: "git_hosts",
					Msg: fmt.Sprintf("git host %s is already served by provider %q; a host can belong to one provider only", h, other)}
			}
			gitOwner[h] = name
		}
	}
	return c, nil
}

// urlFields are a provider's URL fields by their YAML names.
func (p *Provider) urlFields() []struct {
	name string
	val  *string
} {
	return []struct {
		name string
		val  *string
	}{
		{"issuer", &p.Issuer}, {"auth_url", &p.AuthURL}, {"token_url", &p.TokenURL},
		{"device_auth_url", &p.DeviceAuthURL}, {"revocation_url", &p.RevocationURL},
		{"grant_revocation_url", &p.GrantRevocationURL}, {"userinfo_url", &p.UserinfoURL},
		{"jwks_url", &p.JWKSURL}, {"manage_url", &p.ManageURL},
	}
}

// hosts returns the hosts of the provider's URLs.
func (p *Provider) hosts() map[string]bool {
	hosts := map[string]bool{}
	for _, f := range p.urlFields() {
		if *f.val != "" {
			hosts[urlHost(*f.val)] = true
		}
	}
	return hosts
}

// dropForeignEndpoints handles a user entry that moves a built-in preset to
// another server (GitHub Enterprise, a test server): when none of the URLs
// the entry sets is on a host of the preset, the preset URLs the entry does
// not set are cleared, so the tokens, codes and client secret of the new
// server never go to the original provider's device, revocation or userinfo
// endpoints. An entry that adjusts URLs on the preset's own hosts keeps the
// rest. It returns the names of the cleared fields.
func dropForeignEndpoints(p *Provider, e *entry, presetHosts map[string]bool) []string {
	moved := false
	for _, f := range p.urlFields() {
		if _, set := e.line[f.name]; set && *f.val != "" {
			if presetHosts[urlHost(*f.val)] {
				return nil
			}
			moved = true
		}
	}
	if !moved {
		return nil // only non-URL fields (tenant, scopes, client_id) changed
	}
	var dropped []string
	for _, f := range p.urlFields() {
		if _, set := e.line[f.name]; set || *f.val == "" {
			continue
		}
		*f.val = ""
		dropped = append(dropped, f.name)
	}
	// The preset's git hosts would get the new server's tokens.
	if _, set := e.line["git_hosts"]; !set && len(p.GitHosts) > 0 {
		p.GitHosts = nil
		dropped = append(dropped, "git_hosts")
	}
	return dropped
}

// urlHost is the lower-cased host name of a configured URL, placeholders and
// all; "" if it does not parse.
func urlHost(raw string) string {
	raw = strings.NewReplacer("{tenant}", "t", "{tenantid}", "t", "{client_id}", "c").Replace(raw)
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return strings.ToLower(u.Hostname())
}

func (e *entry) applyTo(p *Provider) {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.Issuer, e.Issuer)
	set(&p.AuthURL, e.AuthURL)
	set(&p.TokenURL, e.TokenURL)
	set(&p.DeviceAuthURL, e.DeviceAuthURL)
	set(&p.RevocationURL, e.RevocationURL)
	set(&p.GrantRevocationURL, e.GrantRevocationURL)
	set(&p.UserinfoURL, e.UserinfoURL)
	set(&p.JWKSURL, e.JWKSURL)
	set(&p.ManageURL, e.ManageURL)
	set(&p.Tenant, e.Tenant)
	set(&p.ClientID, e.ClientID)
	set(&p.IncrementalParam, e.IncrementalParam)
	set(&p.RedirectURI, e.RedirectURI)
	set(&p.Grant, e.Grant)
	set(&p.TokenEndpointAuthMethod, e.TokenEndpointAuth)
	set(&p.GitUsername, e.GitUsername)
	if e.GitHosts != nil {
		p.GitHosts = slices.Clone(e.GitHosts)
	}
	if e.ClientSecretRequired != nil {
		p.ClientSecretRequired = *e.ClientSecretRequired
	}
	if e.RevocationRevokesGrant != nil {
		p.RevocationRevokesGrant = *e.RevocationRevokesGrant
	}
	if e.Scopes != nil {
		p.Scopes = slices.Clone(e.Scopes)
	}
	if e.AuthParams != nil {
		if p.AuthParams == nil {
			p.AuthParams = map[string]string{}
		}
		for k, v := range e.AuthParams {
			p.AuthParams[k] = v
		}
	}
}

// finish expands placeholders, fills the client ID from the environment and
// validates the merged entry.
func finish(p *Provider, e *entry, getenv func(string) string) error {
	fail := func(field, msg string) error {
		l := e.start
		if fl, ok := e.line[field]; ok {
			l = fl
		}
		return &ConfigError{Path: e.path, Line: l, Field: field, Msg: msg}
	}
	if p.Grant == "" {
		p.Grant = GrantAuthorizationCode
	}
	if p.Grant != GrantAuthorizationCode && p.Grant != GrantClientCredentials {
		return fail("grant", fmt.Sprintf("must be %s or %s", GrantAuthorizationCode, GrantClientCredentials))
	}
	if p.Scopes == nil {
		p.Scopes = []string{}
	}
	if p.Grant == GrantClientCredentials && p.TokenEndpointAuthMethod == string(ClientAuthNone) {
		return fail("token_endpoint_auth_method", "cannot be none for the client_credentials grant, which authenticates with a client secret")
	}
	if strings.Contains(p.AuthURL+p.TokenURL+p.DeviceAuthURL+p.JWKSURL, "{tenant}") && p.Tenant == "" {
		return fail("tenant", "is required: the endpoints contain {tenant}")
	}
	for _, u := range []*string{&p.AuthURL, &p.TokenURL, &p.DeviceAuthURL, &p.RevocationURL,
		&p.UserinfoURL, &p.JWKSURL, &p.Issuer} {
		*u = strings.ReplaceAll(*u, "{tenant}", url.PathEscape(p.Tenant))
	}
	// Entra's multi-tenant issuer template names the tenant of the ID token;
	// a tenant given by its ID makes it concrete. A tenant given by domain
	// (contoso.onmicrosoft.com) keeps the template: Entra's issuer always
	// carries the tenant ID, never the domain, and the tenant-specific
	// endpoints already pin the tenant.
	if isGUID(p.Tenant) {
		p.Issuer = strings.ReplaceAll(p.Issuer, "{tenantid}", strings.ToLower(p.Tenant))
	}
	for _, f := range []struct {
		name string
		val  string
	}{
		{"issuer", strings.ReplaceAll(p.Issuer, "{tenantid}", "tenant")},
		{"auth_url", p.AuthURL}, {"token_url", p.TokenURL}, {"device_auth_url", p.DeviceAuthURL},
		{"revocation_url", p.RevocationURL},
		{"grant_revocation_url", strings.ReplaceAll(p.GrantRevocationURL, "{client_id}", "id")},
		{"userinfo_url", p.UserinfoURL}, {"jwks_url", p.JWKSURL}, {"manage_url", p.ManageURL},
	} {
		if f.val == "" {
			continue
		}
		if err := CheckEndpointURL(f.val); err != nil {
			return fail(f.name, err.Error())
		}
	}
	if p.RedirectURI != "" {
		if err := checkRedirectURI(p.RedirectURI); err != nil {
			return fail("redirect_uri", err.Error())
		}
	}
	for i, h := range p.GitHosts {
		norm, err := CheckGitHost(h)
		if err != nil {
			return fail("git_hosts", fmt.Sprintf("%q %s", h, err.Error()))
		}
		p.GitHosts[i] = norm
	}
	if p.GitUsername != "" && !validGitUsername(p.GitUsername) {
		return fail("git_username", "must be a user name without spaces, control characters, '@' or ':'")
	}
	switch {
	case p.TokenURL == "" && p.Issuer == "":
		return fail("token_url", "is missing: give token_url (and auth_url), or an issuer to discover them from")
	case p.Grant == GrantAuthorizationCode && p.AuthURL == "" && p.Issuer == "":
		return fail("auth_url", "is missing: give auth_url, or an issuer to discover it from")
	}
	p.NeedsDiscovery = p.TokenURL == "" || (p.Grant == GrantAuthorizationCode && p.AuthURL == "")
	if p.NeedsDiscovery && strings.Contains(p.Issuer, "{tenantid}") {
		return fail("issuer", "a multi-tenant issuer template cannot be discovered; give the endpoints")
	}
	if id := getenv(ClientIDEnv(p.Name)); id != "" {
		p.ClientID, p.ClientIDSource = id, "env"
	} else if p.ClientID != "" {
		p.ClientIDSource = "config"
	}
	return nil
}

// CheckGitHost validates a git_hosts entry, HOST or HOST:PORT (no scheme,
// user, path or wildcard), and returns it in lower case, the form git-credential
// compares with the host git sends.
func CheckGitHost(h string) (string, error) {
	if h == "" || strings.ContainsAny(h, "/@?#* \t\n\r") || strings.Contains(h, "://") {
		return "", errors.New("must be a host name or HOST:PORT, without scheme, user or path")
	}
	u, err := url.Parse("https://" + h)
	if err != nil || u.Host != h || u.Hostname() == "" {
		return "", errors.New("must be a host name or HOST:PORT, without scheme, user or path")
	}
	if port := u.Port(); port != "" {
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return "", errors.New("has an invalid port")
		}
	} else if strings.HasSuffix(h, ":") {
		return "", errors.New("has an empty port")
	}
	return strings.ToLower(h), nil
}

func validGitUsername(s string) bool {
	for _, r := range s {
		if r <= ' ' || r == 0x7f || r == '@' || r == ':' {
			return false
		}
	}
	return len(s) <= 100
}

// isGUID reports whether s has the 8-4-4-4-12 hex form of an Entra tenant ID.
func isGUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i, r := range s {
		switch i {
		case 8, 13, 18, 23:
			if r != '-' {
				return false
			}
		default:
			if !(r >= '0' && r <= '9' || r >= 'a' && r <= 'f' || r >= 'A' && r <= 'F') {
				return false
			}
		}
	}
	return true
}

// CheckEndpointURL accepts https URLs, and plain http only for loopback hosts
// (127.0.0.0/8, [::1], localhost): a token endpoint reached over plain http
// anywhere else would expose codes and tokens (RFC 6749 §3.1, §3.2).
func CheckEndpointURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("is not a valid URL")
	}
	switch {
	case u.Host == "" || u.Opaque != "":
		return fmt.Errorf("must be an absolute https URL")
	case u.User != nil:
		return fmt.Errorf("must not carry user info")
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && IsLoopbackHost(u.Hostname()):
		return nil
	case u.Scheme == "http":
		return fmt.Errorf("must use https (plain http is allowed only for loopback hosts)")
	default:
		return fmt.Errorf("must use https, not %q", u.Scheme)
	}
}

// IsLoopbackHost is loopback.IsHost: host (no port) is localhost or a
// loopback IP literal. The rule lives in internal/loopback so that
// keyring/vault, which may not import auth, applies the same one.
func IsLoopbackHost(host string) bool { return loopback.IsHost(host) }

func checkRedirectURI(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme != "http" || !IsLoopbackHost(u.Hostname()) {
		return fmt.Errorf("must be an http loopback URI such as http://127.0.0.1:8085/callback")
	}
	if u.Port() == "" {
		return fmt.Errorf("must name a port, e.g. http://127.0.0.1:8085/callback")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return fmt.Errorf("must not have a query or fragment")
	}
	return nil
}

// parseEntries decodes one providers.yaml document strictly: unknown keys,
// a client_secret key and wrong types are errors with file:line.
func parseEntries(src ConfigSource) (map[string]*entry, error) {
	out := map[string]*entry{}
	if len(strings.TrimSpace(string(src.Data))) == 0 {
		return out, nil
	}
	var doc yaml.Node
	if err := yaml.Unmarshal(src.Data, &doc); err != nil {
		return nil, yamlError(src.Path, src.Data, err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return out, nil
	}
	root := doc.Content[0]
	if root.Kind != yaml.MappingNode {
		return nil, &ConfigError{Path: src.Path, Line: root.Line, Msg: "the file must be a mapping with a top-level `providers:` key"}
	}
	var providers *yaml.Node
	for i := 0; i+1 < len(root.Content); i += 2 {
		k, v := root.Content[i], root.Content[i+1]
		if k.Value == "store" {
			if err := checkStoreKey(src, k, v); err != nil {
				return nil, err
			}
			continue
		}
		if k.Value != "providers" {
			return nil, &ConfigError{Path: src.Path, Line: k.Line, Field: k.Value, Msg: "unknown top-level key (want `providers:`)"}
		}
		providers = v
	}
	if providers == nil || providers.Kind == yaml.ScalarNode && providers.Tag == "!!null" {
		return out, nil
	}
	if providers.Kind != yaml.MappingNode {
		return nil, &ConfigError{Path: src.Path, Line: providers.Line, Field: "providers", Msg: "must be a map from provider name to entry"}
	}
	for i := 0; i+1 < len(providers.Content); i += 2 {
		k, v := providers.Content[i], providers.Content[i+1]
		name := k.Value
		if !validName(name) {
			return nil, &ConfigError{Path: src.Path, Line: k.Line, Msg: fmt.Sprintf("provider name %q: use letters, digits, '-', '_' and '.', starting with a letter", name)}
		}
		if _, dup := out[name]; dup {
			return nil, &ConfigError{Path: src.Path, Line: k.Line, Msg: fmt.Sprintf("provider %q is defined twice", name)}
		}
		e, err := decodeEntry(src.Path, name, v)
		if err != nil {
			return nil, err
		}
		e.start = k.Line
		out[name] = e
	}
	return out, nil
}

func decodeEntry(path, name string, n *yaml.Node) (*entry, error) {
	e := &entry{line: map[string]int{}, path: path}
	if n.Kind != yaml.MappingNode {
		return nil, &ConfigError{Path: path, Line: n.Line, Field: name, Msg: "provider entry must be a map of fields"}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		f := k.Value
		if f == "client_secret" {
			return nil, &ConfigError{Path: path, Line: k.Line, Field: f, Msg: fmt.Sprintf(
				"client secrets do not belong in providers.yaml: set %s or run `oauthctl client set %s`", ClientSecretEnv(name), name)}
		}
		if !slices.Contains(knownFields, f) {
			return nil, &ConfigError{Path: path, Line: k.Line, Field: f, Msg: "unknown field (known: " + strings.Join(knownFields, ", ") + ")"}
		}
		if _, dup := e.line[f]; dup {
			return nil, &ConfigError{Path: path, Line: k.Line, Field: f, Msg: "is set twice"}
		}
		e.line[f] = k.Line
		var err error
		switch f {
		case "scopes":
			var s []string
			if v.Decode(&s) != nil {
				err = errors.New("must be a list of strings, e.g. [openid, email]")
			}
			if s == nil {
				s = []string{}
			}
			e.Scopes = s
		case "git_hosts":
			var h []string
			if v.Decode(&h) != nil {
				err = errors.New("must be a list of hosts, e.g. [git.example.com, git.example.com:8443]")
			}
			if h == nil {
				h = []string{}
			}
			e.GitHosts = h
		case "auth_params":
			var m map[string]string
			if v.Decode(&m) != nil {
				err = errors.New("must be a map from parameter name to string value")
			}
			for _, key := range slices.Sorted(maps.Keys(m)) {
				if reservedParam(key) {
					return nil, &ConfigError{Path: path, Line: v.Line, Field: "auth_params." + key, Msg: "is set by oauthctl itself and cannot be configured"}
				}
			}
			e.AuthParams = m
		case "client_secret_required", "revocation_revokes_grant", "override":
			var b bool
			if v.Decode(&b) != nil {
				err = errors.New("must be true or false")
			}
			switch f {
			case "client_secret_required":
				e.ClientSecretRequired = &b
			case "revocation_revokes_grant":
				e.RevocationRevokesGrant = &b
			default:
				e.Override = b
			}
		default:
			var s string
			if v.Kind != yaml.ScalarNode {
				err = fmt.Errorf("must be a string")
			} else {
				err = v.Decode(&s)
			}
			if err == nil && f == "token_endpoint_auth_method" {
				_, err = ParseClientAuth(s)
			}
			e.setString(f, s)
		}
		if err != nil {
			return nil, &ConfigError{Path: path, Line: v.Line, Field: f, Msg: cleanYAMLMsg(err)}
		}
	}
	return e, nil
}

func (e *entry) setString(f, s string) {
	p := &s
	switch f {
	case "issuer":
		e.Issuer = p
	case "auth_url":
		e.AuthURL = p
	case "token_url":
		e.TokenURL = p
	case "device_auth_url":
		e.DeviceAuthURL = p
	case "revocation_url":
		e.RevocationURL = p
	case "grant_revocation_url":
		e.GrantRevocationURL = p
	case "userinfo_url":
		e.UserinfoURL = p
	case "jwks_url":
		e.JWKSURL = p
	case "manage_url":
		e.ManageURL = p
	case "tenant":
		e.Tenant = p
	case "client_id":
		e.ClientID = p
	case "incremental_param":
		e.IncrementalParam = p
	case "redirect_uri":
		e.RedirectURI = p
	case "grant":
		e.Grant = p
	case "token_endpoint_auth_method":
		e.TokenEndpointAuth = p
	case "git_username":
		e.GitUsername = p
	}
}

// reservedParam names authorization-request parameters that oauthctl sets and
// checks itself; letting configuration set them would defeat the checks.
func reservedParam(k string) bool {
	switch k {
	case "client_id", "redirect_uri", "response_type", "state", "nonce", "code_challenge",
		"code_challenge_method", "code_verifier", "scope", "client_secret",
		// response_mode=form_post would break the GET-only callback; a request
		// object (JAR) would replace the checked parameters wholesale.
		"response_mode", "request", "request_uri":
		return true
	}
	return false
}

// ValidProviderName reports whether s may name a provider in providers.yaml:
// letters, digits, '-', '_' and '.', starting with a letter, at most 64.
func ValidProviderName(s string) bool { return validName(s) }

func validName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for i, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z':
		case i > 0 && (r >= '0' && r <= '9' || r == '-' || r == '_' || r == '.'):
		default:
			return false
		}
	}
	return true
}

// yamlError turns a yaml syntax error ("yaml: line 3: ...") into a
// ConfigError. yaml.v3 reports the line where the enclosing construct
// started (often line 1 for a bad indentation on line 40), so the line is
// corrected to the first line at which the document, cut there, fails with
// the same problem.
func yamlError(path string, data []byte, err error) error {
	line, msg := splitYAMLErr(err)
	if l := problemLine(data, msg); l > 0 {
		line = l
	}
	return &ConfigError{Path: path, Line: line, Msg: "invalid YAML: " + msg}
}

// splitYAMLErr splits "yaml: line N: problem" into N and the problem.
func splitYAMLErr(err error) (int, string) {
	msg := err.Error()
	line := 0
	if rest, ok := strings.CutPrefix(msg, "yaml: line "); ok {
		if n, tail, ok := strings.Cut(rest, ":"); ok {
			if _, scanErr := fmt.Sscanf(n, "%d", &line); scanErr == nil {
				msg = strings.TrimSpace(tail)
			}
		}
	}
	return line, strings.TrimPrefix(msg, "yaml: ")
}

// problemLine finds the first line k such that the first k lines of data fail
// to parse with problem msg; 0 if there is none (or the file is too big to
// search, which a providers.yaml hardly ever is).
func problemLine(data []byte, msg string) int {
	lines := strings.SplitAfter(string(data), "\n")
	if len(lines) > 1000 || len(data) > 64<<10 { // bounds the quadratic search
		return 0
	}
	var prefix strings.Builder
	for k, l := range lines {
		prefix.WriteString(l)
		var n yaml.Node
		if err := yaml.Unmarshal([]byte(prefix.String()), &n); err != nil {
			if _, m := splitYAMLErr(err); m == msg {
				return k + 1
			}
		}
	}
	return 0
}

func cleanYAMLMsg(err error) string {
	msg := err.Error()
	msg = strings.TrimPrefix(msg, "yaml: unmarshal errors:\n")
	msg = strings.TrimSpace(msg)
	if _, rest, ok := strings.Cut(msg, ": "); ok && strings.HasPrefix(msg, "line ") {
		msg = rest
	}
	if strings.Contains(msg, "cannot unmarshal") {
		return "has the wrong type: " + msg
	}
	return msg
}

// Store settings: the top-level `store:` key of providers.yaml selects where
// oauthctl keeps its state (cmd reads it; see StoreSetting).
var storeValues = []string{"keychain", "vault"}

// StoreSetting finds a top-level `store: VALUE` line in a providers.yaml
// without parsing YAML (every `oauthctl token` needs it, and the hot path
// parses no YAML): a line that starts with "store:", an optional trailing
// comment and quotes. It returns VALUE and the line number, or "" and 0.
// The full parse accepts a `store` key only where this scan finds the same
// value, so the two never disagree.
func StoreSetting(data []byte) (string, int) { return userconfig.StoreSetting(data) }

// checkStoreKey validates the top-level `store:` key: one of storeValues,
// written where StoreSetting reads it.
func checkStoreKey(src ConfigSource, k, v *yaml.Node) error {
	if v.Kind != yaml.ScalarNode || !slices.Contains(storeValues, v.Value) {
		return &ConfigError{Path: src.Path, Line: k.Line, Field: "store", Msg: "must be " + strings.Join(storeValues, " or ")}
	}
	if got, line := StoreSetting(src.Data); got != v.Value || line != k.Line {
		return &ConfigError{Path: src.Path, Line: k.Line, Field: "store", Msg: "write it as `store: " + v.Value + "` at the start of a line of its own"}
	}
	return nil
}
