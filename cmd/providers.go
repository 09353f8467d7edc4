package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// ProvidersOptions are the inputs of `oauthctl providers`.
type ProvidersOptions struct {
	IO        *iostreams.IOStreams
	Catalogue func() (*auth.Catalogue, error)
	Store     func() (keyring.Store, error)
	// StoreKind names where stored client secrets are (Factory.StoreKind);
	// nil: the keychain.
	StoreKind func() (string, error)
	Getenv    func(string) string

	JSON bool
	// Secrets also reports whether a client secret is stored in the
	// keychain (reading the keychain).
	Secrets bool
}

// providersLong is the long help of `oauthctl providers`; it documents the
// --json fields (TestProvidersGolden checks that it names each).
const providersLong = `List the providers oauthctl knows: the built-in presets and the entries of
your providers.yaml ($OAUTHCTL_CONFIG, else $XDG_CONFIG_HOME/oauthctl/providers.yaml).
"oauthctl providers add" adds one by its issuer URL, "oauthctl providers show
PROVIDER" shows every detail of one.

The table shows where each entry comes from, its issuer (or authorization
host), whether a client ID is configured and where it comes from (env:
OAUTHCTL_<NAME>_CLIENT_ID; config: providers.yaml; stored: "oauthctl client
set"), where the client secret comes from (env: OAUTHCTL_<NAME>_CLIENT_SECRET;
keychain, or vault with the Vault store: "oauthctl client set"; "keychain (for
other client ID)": stored for another client ID than the one in use, so not
sent; needed: the provider requires one and none is set), and whether the provider offers the device
flow ("discovery": known once its discovery document is read at login). On a
terminal the table is shortened to fit 80 columns. The keychain is read only
with --secrets, to confirm the stored secrets are there.

--json prints {"providers": [...]}, one object per provider with the fields
name, source (built-in, user, built-in+user), issuer, auth_url, token_url,
device_auth_url, revocation_url, grant_revocation_url, userinfo_url, jwks_url,
manage_url, tenant, client_id, client_id_source (env, config, stored),
client_secret_source (env, keychain or vault, "keychain (for other client
ID)" or "vault (...)", needed), client_secret_stored ("oauthctl client set" stored one),
client_secret_other_client_id (the client ID a stored secret belongs to, when
that is not the one in use), client_secret_required,
token_endpoint_auth_method (null: chosen from discovery or by probing), scopes, auth_params, incremental_param,
redirect_uri, grant, device_flow (true, false, or null until discovery),
oidc, needs_discovery, revocation_revokes_grant, git_hosts (the git hosts
"oauthctl git-credential" serves with it) and git_username; null for a value
that is not set.`

// NewCmdProviders builds `oauthctl providers` with its add, remove and show
// subcommands.
func NewCmdProviders(f *Factory, runF func(*ProvidersOptions) error) *cobra.Command {
	opts := &ProvidersOptions{IO: f.IO, Catalogue: f.Catalogue, Store: f.Store, StoreKind: f.StoreKind, Getenv: f.Getenv}
	c := &cobra.Command{
		Use:   "providers",
		Short: "List the known providers, built-in and from your providers.yaml",
		Long:  providersLong,
		Example: `  oauthctl providers
  oauthctl providers --json | jq '.providers[] | select(.client_id != null) | .name'
  oauthctl providers show google
  oauthctl providers add corp --issuer https://sso.corp.example`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error {
			if runF != nil {
				return runF(opts)
			}
			return providersRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print every field of every provider as JSON")
	c.Flags().BoolVar(&opts.Secrets, "secrets", false, "read the keychain to confirm each stored client secret is there")
	c.AddCommand(NewCmdProvidersAdd(f, nil), NewCmdProvidersRemove(f, nil), NewCmdProvidersShow(f, nil))
	return c
}

// providerJSON is one provider as `providers --json` and `providers show
// --json` print it: every field always present, null when not set.
type providerJSON struct {
	Name                   string            `json:"name"`
	Source                 string            `json:"source"`
	Issuer                 *string           `json:"issuer"`
	AuthURL                *string           `json:"auth_url"`
	TokenURL               *string           `json:"token_url"`
	DeviceAuthURL          *string           `json:"device_auth_url"`
	RevocationURL          *string           `json:"revocation_url"`
	GrantRevocationURL     *string           `json:"grant_revocation_url"`
	UserinfoURL            *string           `json:"userinfo_url"`
	JWKSURL                *string           `json:"jwks_url"`
	ManageURL              *string           `json:"manage_url"`
	Tenant                 *string           `json:"tenant"`
	ClientID               *string           `json:"client_id"`
	ClientIDSource         *string           `json:"client_id_source"`
	ClientSecretSource     *string           `json:"client_secret_source"`
	ClientSecretStored     bool              `json:"client_secret_stored"`
	ClientSecretOtherID    *string           `json:"client_secret_other_client_id"`
	ClientSecretRequired   bool              `json:"client_secret_required"`
	TokenEndpointAuth      *string           `json:"token_endpoint_auth_method"`
	Scopes                 []string          `json:"scopes"`
	AuthParams             map[string]string `json:"auth_params"`
	IncrementalParam       *string           `json:"incremental_param"`
	RedirectURI            *string           `json:"redirect_uri"`
	Grant                  string            `json:"grant"`
	DeviceFlow             *bool             `json:"device_flow"`
	OIDC                   bool              `json:"oidc"`
	NeedsDiscovery         bool              `json:"needs_discovery"`
	RevocationRevokesGrant bool              `json:"revocation_revokes_grant"`
	GitHosts               []string          `json:"git_hosts"`
	GitUsername            *string           `json:"git_username"`
}

// nullable is s, or nil (JSON null) when s is empty.
func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func newProviderJSON(p *auth.Provider, secret string) providerJSON {
	if secret == "-" {
		secret = ""
	}
	v := providerJSON{
		Name: p.Name, Source: p.Source, Issuer: nullable(p.Issuer), AuthURL: nullable(p.AuthURL),
		TokenURL: nullable(p.TokenURL), DeviceAuthURL: nullable(p.DeviceAuthURL), RevocationURL: nullable(p.RevocationURL),
		GrantRevocationURL: nullable(p.GrantRevocationURL), UserinfoURL: nullable(p.UserinfoURL), JWKSURL: nullable(p.JWKSURL),
		ManageURL: nullable(p.ManageURL), Tenant: nullable(p.Tenant), ClientID: nullable(p.ClientID),
		ClientIDSource: nullable(p.ClientIDSource), ClientSecretSource: nullable(secret),
		ClientSecretStored: p.ClientSecretStored, ClientSecretOtherID: nullable(p.ClientSecretOtherClientID),
		ClientSecretRequired: p.ClientSecretRequired, TokenEndpointAuth: nullable(p.TokenEndpointAuthMethod), Scopes: p.Scopes, AuthParams: p.AuthParams,
		IncrementalParam: nullable(p.IncrementalParam), RedirectURI: nullable(p.RedirectURI), Grant: p.Grant,
		DeviceFlow: deviceFlow(p), OIDC: p.IsOIDC(), NeedsDiscovery: p.NeedsDiscovery,
		RevocationRevokesGrant: p.RevocationRevokesGrant, GitHosts: p.GitHosts, GitUsername: nullable(p.GitUsername),
	}
	if len(v.GitHosts) == 0 {
		v.GitHosts = nil
	}
	if len(v.AuthParams) == 0 {
		v.AuthParams = nil
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	return v
}

// deviceFlow is whether p offers the device flow, or nil for an entry whose
// endpoints come from discovery (only an issuer given): that is known only
// once its discovery document is read, at login.
func deviceFlow(p *auth.Provider) *bool {
	if p.NeedsDiscovery && !p.HasDevice() {
		return nil
	}
	b := p.HasDevice()
	return &b
}

// providerLine is one provider's line of the table.
type providerLine struct {
	name, source, where, clientID, secret, device string
}

func providersRun(ctx context.Context, opts *ProvidersOptions) error {
	cat, err := opts.Catalogue()
	if err != nil {
		return err
	}
	for _, w := range cat.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
	}
	sec := &secretChecker{opts: opts}
	var list []providerJSON
	var rows []providerLine
	for _, p := range cat.All() {
		warnOtherClientSecret(opts, p)
		secret := sec.source(ctx, p)
		list = append(list, newProviderJSON(p, secret))
		where := p.Issuer
		if where == "" {
			if u, err := url.Parse(p.AuthURL); err == nil {
				where = u.Host
			}
		}
		clientID := "no"
		if p.ClientID != "" {
			clientID = "yes (" + p.ClientIDSource + ")"
		}
		device := "discovery"
		if d := deviceFlow(p); d != nil {
			device = yesNo(*d)
		}
		rows = append(rows, providerLine{p.Name, p.Source, where, clientID, secret, device})
	}
	if sec.err != nil {
		fmt.Fprintf(opts.IO.ErrOut, "warning: could not read the keychain, so stored client secrets are not confirmed: %v\n", sec.err)
	}
	if opts.JSON {
		if list == nil {
			list = []providerJSON{}
		}
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Providers []providerJSON `json:"providers"`
		}{list})
	}
	if opts.IO.OutTTY {
		printProvidersCompact(opts.IO.Out, rows, 80)
		fmt.Fprintln(opts.IO.ErrOut, "Details: oauthctl providers show PROVIDER, or oauthctl providers --json")
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, strings.Join(providersHeader, "\t"))
	for _, r := range rows {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.name, r.source, r.where, r.clientID, r.secret, r.device)
	}
	return tw.Flush()
}

// providersHeader is the header of the piped table, which scripts read:
// keep it stable.
var providersHeader = []string{"NAME", "SOURCE", "ISSUER / AUTH HOST", "CLIENT ID", "CLIENT SECRET", "DEVICE FLOW"}

// providersCompactHeader is the terminal table's header: the piped one's
// words, with "CLIENT" and "FLOW" left out to fit 80 columns
// (TestProvidersHeaders).
var providersCompactHeader = []string{"NAME", "SOURCE", "ISSUER / AUTH HOST", "CLIENT ID", "SECRET", "DEVICE"}

// printProvidersCompact prints the table for a person at a terminal of the
// given width: short values (no "https://", "config" for "yes (config)"),
// and the issuer column shortened in the middle to make the line fit. The
// full values are in `providers show` and --json.
func printProvidersCompact(w io.Writer, rows []providerLine, width int) {
	short := func(r providerLine) []string {
		where := strings.TrimSuffix(strings.TrimPrefix(r.where, "https://"), "/")
		id := r.clientID // "no"
		if r.clientID != "no" {
			id = strings.TrimSuffix(strings.TrimPrefix(r.clientID, "yes ("), ")")
		}
		secret := r.secret
		switch {
		case strings.HasSuffix(secret, " (for other client ID)"):
			secret = "other ID"
		case strings.HasSuffix(secret, " (missing)"):
			secret = "missing"
		case strings.HasSuffix(secret, " (unreadable)"):
			secret = "unreadable"
		}
		return []string{r.name, r.source, where, id, secret, r.device}
	}
	table := [][]string{providersCompactHeader}
	for _, r := range rows {
		table = append(table, short(r))
	}
	widths := make([]int, len(table[0]))
	for _, row := range table {
		for i, c := range row {
			widths[i] = max(widths[i], utf8.RuneCountInString(c))
		}
	}
	const gap, whereCol, nameCol = 2, 2, 0
	total := func() int {
		t := gap * (len(widths) - 1)
		for _, w := range widths {
			t += w
		}
		return t
	}
	// Shorten a long name to 16 first, then the issuer, then the name more.
	if over := total() - width; over > 0 && widths[nameCol] > 16 {
		widths[nameCol] = max(16, widths[nameCol]-over)
	}
	if over := total() - width; over > 0 {
		widths[whereCol] = max(len(providersCompactHeader[whereCol]), widths[whereCol]-over)
	}
	if over := total() - width; over > 0 {
		widths[nameCol] = max(len("NAME"), widths[nameCol]-over)
	}
	for _, row := range table {
		var b strings.Builder
		for i, c := range row {
			c = ellipsize(c, widths[i])
			b.WriteString(c)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c)+gap))
			}
		}
		fmt.Fprintln(w, b.String())
	}
}

// ellipsize shortens s to n runes, keeping its start and its end with "…"
// between (the end of a URL path tells entries apart as often as the host).
func ellipsize(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	if n < 2 {
		return string(r[:n])
	}
	head := (n - 1) * 2 / 3
	tail := n - 1 - head
	return string(r[:head]) + "…" + string(r[len(r)-tail:])
}

// secretChecker answers secretSource for every provider of one listing,
// opening the keychain at most once and remembering why it could not.
type secretChecker struct {
	opts   *ProvidersOptions
	store  keyring.Store
	opened bool
	err    error
}

// source says where the provider's client secret comes from: "env"
// (OAUTHCTL_<NAME>_CLIENT_SECRET), "keychain" (stored with `client set`, as
// clients.json records), "needed" (required but nowhere), or "-". Only with
// --secrets does it read the keychain, to confirm a stored secret is really
// there ("keychain (missing)" when it is not, "keychain (unreadable)" when
// the keychain cannot be read). A keychain that cannot be read at all says
// nothing about providers that have no stored secret: they are reported as
// without --secrets, and the listing warns once.
//
// A secret stored for another client ID than the effective one (the
// environment or providers.yaml overrides the stored client ID) is not used:
// "keychain (for other client ID)".
func (c *secretChecker) source(ctx context.Context, p *auth.Provider) string {
	opts := c.opts
	stored := c.storeName()
	if opts.Getenv(auth.ClientSecretEnv(p.Name)) != "" {
		return "env"
	}
	if p.ClientSecretOtherClientID != "" {
		return stored + " (for other client ID)"
	}
	if opts.Secrets && opts.Store != nil && c.err == nil {
		if !c.opened {
			c.opened = true
			c.store, c.err = opts.Store()
		}
		if c.err == nil {
			_, err := c.store.ClientSecret(ctx, p.Name)
			switch {
			case err == nil:
				return stored
			case errors.Is(err, keyring.ErrNotFound):
				if p.ClientSecretStored {
					return stored + " (missing)"
				}
			default:
				c.err = err
			}
		}
	}
	if p.ClientSecretStored {
		if opts.Secrets && c.err != nil {
			return stored + " (unreadable)"
		}
		return stored
	}
	if p.ClientSecretRequired {
		return "needed"
	}
	return "-"
}

// storeName is where `client set` stored the secret: "keychain", or "vault"
// with the Vault store.
func (c *secretChecker) storeName() string {
	if c.opts.StoreKind != nil {
		if k, err := c.opts.StoreKind(); err == nil && k == StoreVault {
			return StoreVault
		}
	}
	return StoreKeychain
}

// warnOtherClientSecret warns on stderr when p's stored client secret is not
// used because it belongs to another client ID than p's.
func warnOtherClientSecret(opts *ProvidersOptions, p *auth.Provider) {
	if p.ClientSecretOtherClientID == "" || opts.Getenv(auth.ClientSecretEnv(p.Name)) != "" {
		return
	}
	from := "providers.yaml"
	if p.ClientIDSource == "env" {
		from = auth.ClientIDEnv(p.Name)
	}
	fmt.Fprintf(opts.IO.ErrOut, "warning: the %s client secret in the keychain was stored for client ID %s, not %s (from %s), and is not used; run: oauthctl client set %s\n",
		p.Name, auth.Sanitize(p.ClientSecretOtherClientID, 80), auth.Sanitize(p.ClientID, 80), from, p.Name)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
