package cmd

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/safefile"
	"github.com/oauthctl/oauthctl/keyring"
)

// defaultAddScopes are the scopes `providers add` writes when none are
// given: an ID token with the e-mail address, and a refresh token.
var defaultAddScopes = []string{"openid", "email", "offline_access"}

// ProvidersAddOptions are the inputs of `oauthctl providers add`.
type ProvidersAddOptions struct {
	IO         *iostreams.IOStreams
	Getenv     func(string) string
	Now        func() time.Time
	HTTPClient func() *http.Client
	Catalogue  func() (*auth.Catalogue, error)
	// Builtin is the embedded providers.yaml, for validating the result
	// exactly as the loader will.
	Builtin []byte
	// Paths locate the stored client registrations, applied to the
	// catalogue providersAdd returns.
	Paths func() (keyring.Paths, error)
	// State holds them instead when set (Vault).
	State func() (keyring.StateStore, error)
	// FromLogin: the flow runs inside `oauthctl login`, which signs in next.
	FromLogin bool

	Name                    string
	Issuer                  string
	ClientID                string
	Scopes                  []string
	TokenEndpointAuthMethod string
}

// NewCmdProvidersAdd builds `oauthctl providers add`.
func NewCmdProvidersAdd(f *Factory, runF func(*ProvidersAddOptions) error) *cobra.Command {
	opts := &ProvidersAddOptions{IO: f.IO, Getenv: f.Getenv, Now: f.Now, HTTPClient: f.HTTPClient,
		Catalogue: f.Catalogue, Builtin: f.BuiltinProviders, Paths: f.Paths, State: f.State}
	c := &cobra.Command{
		Use:   "add PROVIDER --issuer URL [flags]",
		Short: "Add an OpenID Connect provider to your providers.yaml by its issuer URL",
		Long: `Read the provider's discovery document ({issuer}/.well-known/openid-configuration),
show what it offers (endpoints, device flow, revocation, PKCE methods) and add
an entry named PROVIDER to your providers.yaml with the endpoints it found.
What the file holds already, comments included, is kept; the file is written
with mode 0600, atomically.

On a terminal, the issuer, client ID and scopes you did not give are asked
for. Without --scopes the entry asks for openid, email and offline_access.
The client secret never goes in providers.yaml: "oauthctl client set
PROVIDER" keeps it in the keychain.`,
		Example: `  oauthctl providers add corp --issuer https://sso.corp.example --client-id oauthctl
  oauthctl providers add keycloak --issuer https://id.example/realms/main --scopes openid,email,offline_access
  oauthctl providers add corp     # on a terminal: asks for the rest`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return providersAddRun(c.Context(), opts)
		},
	}
	c.Flags().StringVar(&opts.Issuer, "issuer", "", "the provider's issuer `URL` (https)")
	c.Flags().StringVar(&opts.ClientID, "client-id", "", "the OAuth client `ID` registered with the provider")
	c.Flags().StringSliceVar(&opts.Scopes, "scopes", nil, "the scopes to ask for, comma-separated (default openid,email,offline_access)")
	c.Flags().StringVar(&opts.TokenEndpointAuthMethod, "token-endpoint-auth-method", "",
		"how the client authenticates at the token endpoint (`METHOD`, e.g. client_secret_basic)")
	return c
}

// providersAddRun adds a provider entry. Steps:
//  1. refuse a name that is built in or already in the file;
//  2. on a terminal, ask for what is missing;
//  3. discover the provider's endpoints and show them;
//  4. append the entry to the file's text, validate the result with the
//     loader, and write it atomically with mode 0600.
func providersAddRun(ctx context.Context, opts *ProvidersAddOptions) error {
	_, err := providersAdd(ctx, opts)
	return err
}

// providersAdd is providersAddRun returning the catalogue with the new entry.
func providersAdd(ctx context.Context, opts *ProvidersAddOptions) (*auth.Catalogue, error) {
	path := UserConfigPath(opts.Getenv)
	cat, err := opts.Catalogue()
	if err != nil {
		return nil, err
	}
	var in *bufio.Reader
	if opts.IO.Interactive() {
		in = bufio.NewReader(opts.IO.In)
	}
	if opts.Name == "" && in != nil {
		if opts.Name, err = ask(in, opts.IO.ErrOut, "Name for the provider (letters, digits, - _ .)", ""); err != nil {
			return nil, err
		}
	}
	if opts.Name == "" {
		return nil, usageErrorf("providers add needs a PROVIDER name")
	}
	// Before any question or network round trip: the entry would be refused.
	if !auth.ValidProviderName(opts.Name) {
		return nil, usageErrorf("provider name %q: use letters, digits, '-', '_' and '.', starting with a letter", auth.Sanitize(opts.Name, 64))
	}
	if p, err := cat.Get(opts.Name); err == nil {
		if p.Source == auth.SourceBuiltin {
			return nil, withHint(usageErrorf("%s is a built-in provider", opts.Name),
				"to use it, give it your client: oauthctl client set %s", opts.Name)
		}
		return nil, withHint(usageErrorf("%s is already in %s", opts.Name, path),
			"to replace it, run: oauthctl providers remove %s", opts.Name)
	}
	cs := opts.IO.ErrColorScheme()
	if in != nil {
		if opts.Issuer == "" {
			if opts.Issuer, err = ask(in, opts.IO.ErrOut, "Issuer URL (https://...)", ""); err != nil {
				return nil, err
			}
		}
		if opts.ClientID == "" {
			if opts.ClientID, err = ask(in, opts.IO.ErrOut, "Client ID (empty: set it later with oauthctl client set)", ""); err != nil {
				return nil, err
			}
		}
		if opts.Scopes == nil {
			s, err := ask(in, opts.IO.ErrOut, "Scopes", strings.Join(defaultAddScopes, ","))
			if err != nil {
				return nil, err
			}
			opts.Scopes = strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
		}
	}
	if opts.Issuer == "" {
		return nil, usageErrorf("providers add needs --issuer URL (usage: oauthctl providers add PROVIDER --issuer URL [flags])")
	}
	if opts.Scopes == nil {
		opts.Scopes = defaultAddScopes
	}
	if err := auth.CheckEndpointURL(opts.Issuer); err != nil {
		return nil, usageErrorf("--issuer: %v", err)
	}

	fmt.Fprintf(opts.IO.ErrOut, "Reading %s/.well-known/openid-configuration...\n", strings.TrimSuffix(opts.Issuer, "/"))
	md, err := auth.Discover(ctx, opts.HTTPClient(), opts.Issuer)
	if err != nil {
		// Discover's errors start with "discovery: ".
		return nil, fmt.Errorf("cannot add %s: %w", opts.Name, err)
	}
	printDiscovery(opts.IO.ErrOut, cs, md)

	old, err := readUserConfig(opts.Getenv)
	if err != nil {
		return nil, err
	}
	comment := fmt.Sprintf("added by `oauthctl providers add` on %s from %s", opts.Now().UTC().Format("2006-01-02"),
		strings.TrimSuffix(opts.Issuer, "/")+"/.well-known/openid-configuration")
	entry := providerEntryNode(opts, md)
	data, err := appendProvider(old.Data, opts.Name, comment, entry)
	if err != nil {
		return nil, &auth.ConfigError{Path: path, Msg: err.Error()}
	}
	newCat, err := auth.LoadCatalogue(auth.ConfigSource{Path: "providers.yaml (built-in)", Data: opts.Builtin},
		auth.ConfigSource{Path: path, Data: data}, opts.Getenv)
	if err != nil {
		return nil, fmt.Errorf("the new entry is not valid: %w", err)
	}
	if _, err := newCat.Get(opts.Name); err != nil {
		return nil, fmt.Errorf("the new entry did not load: %w", err)
	}
	if err := safefile.WriteFile(path, data, true); err != nil {
		return nil, err
	}
	fmt.Fprintln(opts.IO.ErrOut, cs.Success(fmt.Sprintf("Added %s to %s", opts.Name, path)))
	if opts.Paths != nil || opts.State != nil {
		state := func() (keyring.StateStore, error) { return stateOf(opts.State, opts.Paths) }
		if err := applyStoredClients(ctx, state, newCat); err != nil {
			return nil, err
		}
	}
	switch {
	case opts.ClientID == "" && opts.Getenv(auth.ClientIDEnv(opts.Name)) == "":
		fmt.Fprintf(opts.IO.ErrOut, "Next: register a client with the provider, then run: oauthctl client set %s\n", opts.Name)
	case !opts.FromLogin:
		fmt.Fprintf(opts.IO.ErrOut, "Next: oauthctl login %s\n", opts.Name)
	}
	return newCat, nil
}

// ask prompts on w and reads one line from in; def is shown and returned
// for an empty answer.
func ask(in *bufio.Reader, w io.Writer, label, def string) (string, error) {
	if def != "" {
		fmt.Fprintf(w, "%s [%s]: ", label, def)
	} else {
		fmt.Fprintf(w, "%s: ", label)
	}
	line, err := in.ReadString('\n')
	if err != nil && !(errors.Is(err, io.EOF) && line != "") {
		fmt.Fprintln(w)
		return "", usageErrorf("no answer: stdin closed")
	}
	line = strings.TrimSpace(line)
	if line == "" {
		return def, nil
	}
	return line, nil
}

// printDiscovery shows what the discovery document offers.
func printDiscovery(w io.Writer, cs *iostreams.ColorScheme, md *auth.Metadata) {
	row := func(k, v string) { fmt.Fprintf(w, "  %-15s %s\n", k, v) }
	offered := func(u string) string {
		if u == "" {
			return "no"
		}
		return "yes, " + u
	}
	fmt.Fprintln(w, cs.Bold("Found:"))
	row("issuer", md.Issuer)
	row("authorization", orDash(md.AuthorizationEndpoint))
	row("token", orDash(md.TokenEndpoint))
	row("device flow", offered(md.DeviceEndpoint))
	row("revocation", offered(md.RevocationEndpoint))
	row("userinfo", orDash(md.UserinfoEndpoint))
	pkce := strings.Join(md.CodeChallengeMethods, ", ")
	switch {
	case pkce == "":
		pkce = "not advertised (oauthctl sends S256 anyway)"
	case !slices.Contains(md.CodeChallengeMethods, "S256"):
		pkce += " (no S256: oauthctl sends S256 anyway)"
	}
	row("PKCE methods", pkce)
	if len(md.TokenAuthMethods) > 0 {
		row("client auth", strings.Join(md.TokenAuthMethods, ", "))
	}
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// providerEntryNode is the YAML mapping of the new entry: the issuer, the
// endpoints discovery found (so that a login needs no discovery round trip,
// like the built-in presets) and what the user gave.
func providerEntryNode(opts *ProvidersAddOptions, md *auth.Metadata) *yaml.Node {
	m := &yaml.Node{Kind: yaml.MappingNode}
	str := func(k, v string) {
		if v != "" {
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: k},
				&yaml.Node{Kind: yaml.ScalarNode, Value: v})
		}
	}
	str("issuer", opts.Issuer)
	str("auth_url", md.AuthorizationEndpoint)
	str("token_url", md.TokenEndpoint)
	str("device_auth_url", md.DeviceEndpoint)
	str("revocation_url", md.RevocationEndpoint)
	str("userinfo_url", md.UserinfoEndpoint)
	str("jwks_url", md.JWKSURI)
	str("client_id", opts.ClientID)
	str("token_endpoint_auth_method", opts.TokenEndpointAuthMethod)
	seq := &yaml.Node{Kind: yaml.SequenceNode, Style: yaml.FlowStyle}
	for _, s := range opts.Scopes {
		seq.Content = append(seq.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: s})
	}
	m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Value: "scopes"}, seq)
	return m
}

// appendProvider returns data with a provider entry added under
// `providers:`. The file's own text is kept byte for byte (comments, blank
// lines, quoting): the YAML node tree is used to find where the mapping
// is and how it is indented, and the new entry, rendered by the YAML
// encoder, is appended as text at that indentation. (`providers:` is the
// file's only top-level key, so its entries run to the end of the file.)
// A `providers: {}` in flow style is rewritten as a block mapping.
func appendProvider(data []byte, name, comment string, entry *yaml.Node) ([]byte, error) {
	header := "# Your oauthctl providers; see: oauthctl help providers\nproviders:\n"
	indent, inner := 2, 2
	hasEntries := false
	var out []byte
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("cannot be parsed, fix it first: %v", err)
	}
	if doc.Kind == 0 || len(doc.Content) == 0 {
		// Empty or comments only: keep them and add the key.
		out = append(out, data...)
		if !strings.Contains(string(data), "providers:") {
			if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
				out = append(out, '\n')
			}
			if len(bytes.TrimSpace(data)) == 0 {
				out = append(out[:0], header...)
			} else {
				out = append(out, "providers:\n"...)
			}
		}
	} else {
		root := doc.Content[0]
		if root.Kind != yaml.MappingNode || len(root.Content) != 2 || root.Content[0].Value != "providers" {
			return nil, errors.New("must be a mapping with the single top-level key `providers:`; fix it first")
		}
		prov := root.Content[1]
		switch {
		case prov.Kind == yaml.MappingNode && prov.Style&yaml.FlowStyle != 0 && len(prov.Content) == 0:
			// providers: {} -> providers:
			lines := strings.SplitAfter(string(data), "\n")
			l := prov.Line - 1
			lines[l] = strings.Replace(lines[l], "{}", "", 1)
			out = []byte(strings.Join(lines, ""))
		case prov.Kind == yaml.MappingNode && prov.Style&yaml.FlowStyle == 0:
			for i := 0; i+1 < len(prov.Content); i += 2 {
				if prov.Content[i].Value == name {
					return nil, fmt.Errorf("already has an entry %s", name)
				}
			}
			if len(prov.Content) > 0 {
				hasEntries = true
				indent = prov.Content[0].Column - 1
				if v := prov.Content[1]; v.Kind == yaml.MappingNode && len(v.Content) > 0 && v.Style&yaml.FlowStyle == 0 {
					inner = max(1, v.Content[0].Column-prov.Content[0].Column)
				}
			}
			out = append(out, data...)
		case prov.Kind == yaml.ScalarNode && prov.Tag == "!!null":
			out = append(out, data...)
		default:
			return nil, errors.New("`providers:` must be a block mapping; fix it first")
		}
	}
	if len(out) > 0 && !bytes.HasSuffix(out, []byte("\n")) {
		out = append(out, '\n')
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(inner)
	key := &yaml.Node{Kind: yaml.ScalarNode, Value: name, HeadComment: comment}
	if err := enc.Encode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{key, entry}}); err != nil {
		return nil, err
	}
	enc.Close()
	if hasEntries && !bytes.HasSuffix(out, []byte("\n\n")) {
		out = append(out, '\n') // a blank line between entries
	}
	pad := strings.Repeat(" ", indent)
	for _, line := range strings.SplitAfter(buf.String(), "\n") {
		if line != "" {
			out = append(out, pad+line...)
		}
	}
	return out, nil
}

// removeProvider returns data without the named entry under `providers:`,
// and whether it was there. Like appendProvider it edits the text: the
// lines from the entry's head comment to its last line go, everything else
// stays as it was.
func removeProvider(data []byte, name string) ([]byte, bool, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, false, fmt.Errorf("cannot be parsed, fix it first: %v", err)
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode || len(doc.Content[0].Content) != 2 {
		return data, false, nil
	}
	prov := doc.Content[0].Content[1]
	if prov.Kind != yaml.MappingNode {
		return data, false, nil
	}
	for i := 0; i+1 < len(prov.Content); i += 2 {
		k, v := prov.Content[i], prov.Content[i+1]
		if k.Value != name {
			continue
		}
		if prov.Style&yaml.FlowStyle != 0 || k.Style&yaml.FlowStyle != 0 || v.Style&yaml.FlowStyle != 0 && v.Line == k.Line {
			// A one-line flow entry: re-encode the mapping without it.
			prov.Content = slices.Delete(prov.Content, i, i+2)
			var buf bytes.Buffer
			enc := yaml.NewEncoder(&buf)
			enc.SetIndent(2)
			if err := enc.Encode(&doc); err != nil {
				return nil, false, err
			}
			return buf.Bytes(), true, nil
		}
		lines := strings.SplitAfter(string(data), "\n")
		start := commentStart(lines, k.Line-1)
		var end int // exclusive, 0-based
		if i+2 < len(prov.Content) {
			end = commentStart(lines, prov.Content[i+2].Line-1)
		} else {
			end = min(lastLine(v), len(lines))
			// No blank line left dangling at the end of the entries.
			if start > 0 && strings.TrimSpace(lines[start-1]) == "" {
				start--
			}
		}
		out := strings.Join(lines[:start], "") + strings.Join(lines[end:], "")
		return []byte(out), true, nil
	}
	return data, false, nil
}

// commentStart is the first of the comment lines directly above line l
// (0-based), or l.
func commentStart(lines []string, l int) int {
	for l > 0 && strings.HasPrefix(strings.TrimSpace(lines[l-1]), "#") {
		l--
	}
	return l
}

// lastLine is the last line (1-based) a node's content reaches.
func lastLine(n *yaml.Node) int {
	l := n.Line
	for _, c := range n.Content {
		l = max(l, lastLine(c))
	}
	return l
}

// ProvidersRemoveOptions are the inputs of `oauthctl providers remove`.
type ProvidersRemoveOptions struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	Catalogue func() (*auth.Catalogue, error)
	Builtin   []byte
	// State holds what `client set` stored (nil: not checked).
	State func() (keyring.StateStore, error)

	Name string
}

// NewCmdProvidersRemove builds `oauthctl providers remove`.
func NewCmdProvidersRemove(f *Factory, runF func(*ProvidersRemoveOptions) error) *cobra.Command {
	opts := &ProvidersRemoveOptions{IO: f.IO, Getenv: f.Getenv, Catalogue: f.Catalogue, Builtin: f.BuiltinProviders, State: f.State}
	c := &cobra.Command{
		Use:   "remove PROVIDER",
		Short: "Remove a provider's entry from your providers.yaml",
		Long: `Remove PROVIDER's entry, with the comment above it, from your providers.yaml;
the rest of the file stays as it is. Accounts signed in with it stay stored
until "oauthctl logout PROVIDER". A built-in provider cannot be removed; if
your file overrides one, its entry there is removed and the preset remains.`,
		Example: `  oauthctl providers remove corp`,
		Args:    rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return providersRemoveRun(c.Context(), opts)
		},
	}
	return c
}

func providersRemoveRun(ctx context.Context, opts *ProvidersRemoveOptions) error {
	path := UserConfigPath(opts.Getenv)
	old, err := readUserConfig(opts.Getenv)
	if err != nil {
		return err
	}
	data, found, err := removeProvider(old.Data, opts.Name)
	if err != nil {
		return &auth.ConfigError{Path: path, Msg: err.Error()}
	}
	if !found {
		if cat, cerr := opts.Catalogue(); cerr == nil {
			if p, gerr := cat.Get(opts.Name); gerr == nil && p.Source == auth.SourceBuiltin {
				return usageErrorf("%s is a built-in provider and cannot be removed", opts.Name)
			} else if gerr != nil {
				return gerr
			}
		}
		return usageErrorf("%s has no entry in %s", opts.Name, path)
	}
	if _, err := auth.LoadCatalogue(auth.ConfigSource{Path: "providers.yaml (built-in)", Data: opts.Builtin},
		auth.ConfigSource{Path: path, Data: data}, opts.Getenv); err != nil {
		return fmt.Errorf("the file would not be valid without %s: %w", opts.Name, err)
	}
	if err := safefile.WriteFile(path, data, true); err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.ErrOut, opts.IO.ErrColorScheme().Success(fmt.Sprintf("Removed %s from %s", opts.Name, path)))
	// What `client set` stored is not in the file: say it stays, and how
	// to delete it (best effort: the entry is gone either way).
	if opts.State != nil {
		if st, err := opts.State(); err == nil {
			if c, err := st.LoadClients(ctx); err == nil {
				if _, ok := c.Providers[opts.Name]; ok {
					fmt.Fprintf(opts.IO.ErrOut, "What oauthctl client set stored for %s stays; to delete it: oauthctl client unset %s\n", opts.Name, opts.Name)
				}
			}
		}
	}
	return nil
}

// ProvidersShowOptions are the inputs of `oauthctl providers show`.
type ProvidersShowOptions struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	Catalogue func() (*auth.Catalogue, error)
	StoreKind func() (string, error)

	Name string
	JSON bool
}

// NewCmdProvidersShow builds `oauthctl providers show`.
func NewCmdProvidersShow(f *Factory, runF func(*ProvidersShowOptions) error) *cobra.Command {
	opts := &ProvidersShowOptions{IO: f.IO, Getenv: f.Getenv, Catalogue: f.Catalogue, StoreKind: f.StoreKind}
	c := &cobra.Command{
		Use:   "show PROVIDER",
		Short: "Show every detail of one provider",
		Long: `Show PROVIDER's configuration as oauthctl will use it: where it comes from,
every endpoint in full, the client ID and where it comes from, where the
client secret comes from, the scopes and extra parameters. --json prints
{"provider": {...}} with the fields "oauthctl help providers" lists.`,
		Example: `  oauthctl providers show google
  oauthctl providers show corp --json | jq -r .provider.token_url`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Name = args[0]
			if runF != nil {
				return runF(opts)
			}
			return providersShowRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the provider as JSON")
	return c
}

func providersShowRun(ctx context.Context, opts *ProvidersShowOptions) error {
	p, err := lookupProvider(opts.Catalogue, opts.Name)
	if err != nil {
		return err
	}
	lopts := &ProvidersOptions{IO: opts.IO, Getenv: opts.Getenv, StoreKind: opts.StoreKind}
	secret := (&secretChecker{opts: lopts}).source(ctx, p)
	v := newProviderJSON(p, secret)
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(struct {
			Provider providerJSON `json:"provider"`
		}{v})
	}
	cs := opts.IO.OutColorScheme()
	w := opts.IO.Out
	fmt.Fprintf(w, "%s (%s)\n", cs.Bold(p.Name), p.Source)
	row := func(k string, v *string) {
		if v != nil {
			fmt.Fprintf(w, "  %-22s %s\n", k, *v)
		}
	}
	str := func(s string) *string { return &s }
	row("issuer", v.Issuer)
	row("tenant", v.Tenant)
	row("authorization", v.AuthURL)
	row("token", v.TokenURL)
	row("device authorization", v.DeviceAuthURL)
	row("revocation", v.RevocationURL)
	row("grant revocation", v.GrantRevocationURL)
	row("userinfo", v.UserinfoURL)
	row("signing keys (JWKS)", v.JWKSURL)
	row("manage access at", v.ManageURL)
	if p.NeedsDiscovery {
		row("endpoints", str("from discovery at login"))
	}
	if p.ClientID != "" {
		row("client ID", str(p.ClientID+" ("+p.ClientIDSource+")"))
	} else {
		row("client ID", str("not set (run: oauthctl client set "+p.Name+")"))
	}
	switch secret {
	case "-":
		row("client secret", str("not needed"))
	case "needed":
		row("client secret", str("needed, not set (run: oauthctl client set "+p.Name+")"))
	default:
		row("client secret", str(secret))
	}
	scopes := strings.Join(p.Scopes, " ")
	if scopes == "" {
		scopes = "(none)"
	}
	row("scopes", &scopes)
	for _, k := range slices.Sorted(maps.Keys(p.AuthParams)) {
		row("auth parameter", str(k+"="+p.AuthParams[k]))
	}
	row("client authentication", v.TokenEndpointAuth)
	row("grant", &p.Grant)
	device := "from discovery at login"
	if v.DeviceFlow != nil {
		device = yesNo(*v.DeviceFlow)
	}
	row("device flow", &device)
	row("OpenID Connect", str(yesNo(v.OIDC)))
	if len(p.GitHosts) > 0 {
		row("git hosts", str(strings.Join(p.GitHosts, " ")))
	}
	return nil
}
