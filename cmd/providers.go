package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"text/tabwriter"

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
	Getenv    func(string) string

	JSON bool
	// Secrets also reports whether a client secret is stored in the
	// keychain (reading the keychain).
	Secrets bool
}

// NewCmdProviders builds `oauthctl providers`.
func NewCmdProviders(f *Factory, runF func(*ProvidersOptions) error) *cobra.Command {
	opts := &ProvidersOptions{IO: f.IO, Catalogue: f.Catalogue, Store: f.Store, Getenv: f.Getenv}
	c := &cobra.Command{
		Use:   "providers",
		Short: "List the known providers, built-in and from your providers.yaml",
		Long: `List the providers oauthctl knows: the built-in presets and the entries of
your providers.yaml ($OAUTHCTL_CONFIG, else $XDG_CONFIG_HOME/oauthctl/providers.yaml).

The table shows where each entry comes from, its issuer (or authorization host),
whether a client ID is configured and where it comes from (env:
OAUTHCTL_<NAME>_CLIENT_ID; config: providers.yaml; stored: "oauthctl client
set"), where the client secret comes from (env: OAUTHCTL_<NAME>_CLIENT_SECRET;
keychain: "oauthctl client set"; "keychain (for other client ID)": a stored
secret that belongs to another client ID than the one in use, so it is not
sent; needed: the provider requires one and none is set), and whether the
provider offers the device flow ("discovery": an entry with only an issuer,
known once its discovery document is read at login; null in --json). The
keychain is not read unless --secrets asks to confirm the stored secrets.
--json prints every field, endpoints included.`,
		Example: `  oauthctl providers
  oauthctl providers --json | jq '.[] | select(.name=="google")'`,
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
	return c
}

// providerView is one provider as `providers --json` prints it.
type providerView struct {
	*auth.Provider
	ClientSecret string `json:"client_secret_source"`
	// DeviceFlow is null for an entry whose endpoints come from discovery
	// (only an issuer given): whether the provider offers the device flow
	// is known only once its discovery document is read, at login.
	DeviceFlow *bool `json:"device_flow"`
	OIDC       bool  `json:"oidc"`
}

// deviceFlow is providerView.DeviceFlow for p.
func deviceFlow(p *auth.Provider) *bool {
	if p.NeedsDiscovery && !p.HasDevice() {
		return nil
	}
	b := p.HasDevice()
	return &b
}

func providersRun(ctx context.Context, opts *ProvidersOptions) error {
	cat, err := opts.Catalogue()
	if err != nil {
		return err
	}
	for _, w := range cat.Warnings {
		fmt.Fprintln(opts.IO.ErrOut, "warning: "+w)
	}
	var views []providerView
	for _, p := range cat.All() {
		warnOtherClientSecret(opts, p)
		views = append(views, providerView{Provider: p, ClientSecret: secretSource(ctx, opts, p),
			DeviceFlow: deviceFlow(p), OIDC: p.IsOIDC()})
	}
	if opts.JSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		return enc.Encode(views)
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tSOURCE\tISSUER / AUTH HOST\tCLIENT ID\tCLIENT SECRET\tDEVICE FLOW")
	for _, v := range views {
		where := v.Issuer
		if where == "" {
			if u, err := url.Parse(v.AuthURL); err == nil {
				where = u.Host
			}
		}
		clientID := "no"
		if v.ClientID != "" {
			clientID = "yes (" + v.ClientIDSource + ")"
		}
		device := "discovery"
		if v.DeviceFlow != nil {
			device = yesNo(*v.DeviceFlow)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", v.Name, v.Source, where, clientID, v.ClientSecret, device)
	}
	return tw.Flush()
}

// secretSource says where the provider's client secret comes from: "env"
// (OAUTHCTL_<NAME>_CLIENT_SECRET), "keychain" (stored with `client set`, as
// clients.json records), "needed" (required but nowhere), or "-". Only with
// --secrets does it read the keychain, to confirm a stored secret is really
// there ("keychain (missing)" when it is not, "keychain (unreadable)" when
// the keychain cannot be read).
//
// A secret stored for another client ID than the effective one (the
// environment or providers.yaml overrides the stored client ID) is not used:
// "keychain (for other client ID)".
func secretSource(ctx context.Context, opts *ProvidersOptions, p *auth.Provider) string {
	if opts.Getenv(auth.ClientSecretEnv(p.Name)) != "" {
		return "env"
	}
	if p.ClientSecretOtherClientID != "" {
		return "keychain (for other client ID)"
	}
	if opts.Secrets && opts.Store != nil {
		found := false
		st, err := opts.Store()
		if err == nil {
			_, err = st.ClientSecret(ctx, p.Name)
			found = err == nil
		}
		switch {
		case found:
			return "keychain"
		case err != nil && !errors.Is(err, keyring.ErrNotFound):
			return "keychain (unreadable)"
		case p.ClientSecretStored:
			return "keychain (missing)"
		}
	} else if p.ClientSecretStored {
		return "keychain"
	}
	if p.ClientSecretRequired {
		return "needed"
	}
	return "-"
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
