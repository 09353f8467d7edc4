package cmd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/vault"
	"github.com/oauthctl/oauthctl/session"
)

// Limits on what `client set` accepts.
const (
	maxClientIDLen     = 512
	maxClientSecretLen = 1024
	// maxClientInput bounds the bytes read from stdin: two short lines.
	maxClientInput = 8 << 10
)

// ClientOptions are the inputs of `oauthctl client set|unset`.
type ClientOptions struct {
	IO        *iostreams.IOStreams
	Getenv    func(string) string
	Catalogue func() (*auth.Catalogue, error)
	// Session carries the use cases: storing and removing the client
	// (SetClient, UnsetClient).
	Session *session.Service
	// ReadHidden reads one line from the terminal without echoing it (the
	// secret prompt). Tests replace it.
	ReadHidden func(ctx context.Context) (string, error)

	Provider string
	Unset    bool
}

// NewCmdClient builds `oauthctl client` with its set and unset subcommands.
func NewCmdClient(f *Factory, runF func(*ClientOptions) error) *cobra.Command {
	c := &cobra.Command{
		Use:   "client COMMAND",
		Short: "Store or remove a provider's OAuth client ID and secret",
		Long: `Manage the OAuth client oauthctl signs in with, per provider.

"client set" stores the client secret in the OS keychain and the client ID (not
a secret) in clients.json next to the account index. The client ID and secret
are read from stdin, never from the command line, where other users could see
them in the process list.

Precedence, highest first: the environment (OAUTHCTL_<NAME>_CLIENT_ID and
OAUTHCTL_<NAME>_CLIENT_SECRET), client_id in providers.yaml, then what
"client set" stored. "oauthctl providers" shows where each comes from.`,
		Example: `  oauthctl client set google
  oauthctl client unset google`,
		Args: noArgs,
		RunE: func(c *cobra.Command, args []string) error { return c.Help() },
	}
	c.AddCommand(newCmdClientSet(f, runF), newCmdClientUnset(f, runF))
	return c
}

func newClientOptions(f *Factory) *ClientOptions {
	opts := &ClientOptions{IO: f.IO, Getenv: f.Getenv, Catalogue: f.Catalogue, Session: f.Session()}
	opts.ReadHidden = func(ctx context.Context) (string, error) { return readHiddenLine(ctx, opts.IO.In) }
	return opts
}

func newCmdClientSet(f *Factory, runF func(*ClientOptions) error) *cobra.Command {
	opts := newClientOptions(f)
	c := &cobra.Command{
		Use:   "set PROVIDER",
		Short: "Store a provider's client ID and secret (read from stdin)",
		Long: `Read a provider's OAuth client ID and client secret from stdin and store them:
the secret in the OS keychain, the client ID in clients.json (with the Vault
store, OAUTHCTL_STORE=vault, both in Vault).

Stdin holds two lines: the client ID, then the client secret. A public client
(no secret) gives only the first line. An empty first line keeps the client ID
configured elsewhere (environment or providers.yaml) and stores only the secret.
On a terminal, oauthctl prompts for both on stderr and does not echo the secret.

Running "client set" again replaces what was stored.`,
		Example: `  oauthctl client set google                   # prompts
  printf '%s\n%s\n' "$ID" "$SECRET" | oauthctl client set github
  pass show oauth/gitlab | oauthctl client set gitlab`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			if runF != nil {
				return runF(opts)
			}
			return clientSetRun(c.Context(), opts)
		},
	}
	return c
}

func newCmdClientUnset(f *Factory, runF func(*ClientOptions) error) *cobra.Command {
	opts := newClientOptions(f)
	opts.Unset = true
	c := &cobra.Command{
		Use:   "unset PROVIDER",
		Short: "Remove the client ID and secret stored with \"client set\"",
		Long: `Remove a provider's client secret from the OS keychain and its client ID from
clients.json. Client IDs and secrets from the environment or providers.yaml
are not affected. Stored accounts stay; a login or refresh that needs the
secret fails until one is configured again.`,
		Example:           `  oauthctl client unset google`,
		Args:              rangeArgs(1, 1),
		ValidArgsFunction: completeProviderArg(f, false),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Provider = args[0]
			if runF != nil {
				return runF(opts)
			}
			return clientUnsetRun(c.Context(), opts)
		},
	}
	return c
}

// clientSetRun stores a client registration. Its steps:
//  1. check the provider exists;
//  2. read the client ID and secret (prompts on a terminal, else two lines
//     of stdin) and validate them;
//  3. store them (session.Service.SetClient, which says in which order and
//     why);
//  4. say on stderr what was stored and what takes precedence over it.
func clientSetRun(ctx context.Context, opts *ClientOptions) error {
	p, err := lookupProvider(opts.Catalogue, opts.Provider)
	if err != nil {
		return err
	}
	var id, secret string
	if opts.IO.InTTY {
		id, secret, err = promptClient(ctx, opts, p)
	} else {
		id, secret, err = parseClientInput(opts.IO.In)
	}
	if err != nil {
		return err
	}
	if id == "" && p.ClientIDSource != "env" && p.ClientIDSource != "config" {
		return usageErrorf("no client ID given and none is configured for %s: give it on the first line", p.Name)
	}
	res, err := opts.Session.SetClient(ctx, p, id, secret)
	if err != nil {
		return err
	}

	w := opts.IO.ErrOut
	idPlace, secretPlace := clientPlaces(res.State)
	switch {
	case id != "" && secret != "":
		fmt.Fprintln(w, opts.IO.ErrColorScheme().Success(fmt.Sprintf("Stored the %s client ID in %s and its secret in %s.", p.Name, idPlace, secretPlace)))
	case id != "":
		fmt.Fprintln(w, opts.IO.ErrColorScheme().Success(fmt.Sprintf("Stored the %s client ID in %s (a public client: no secret).", p.Name, idPlace)))
	default:
		fmt.Fprintln(w, opts.IO.ErrColorScheme().Success(fmt.Sprintf("Stored the %s client secret in %s.", p.Name, secretPlace)))
	}
	switch p.ClientIDSource {
	case "env":
		if id != "" && id != p.ClientID {
			fmt.Fprintf(w, "note: %s is set and takes precedence over the stored client ID; the stored secret is used only with the stored client ID\n", auth.ClientIDEnv(p.Name))
		}
	case "config":
		if id != "" && id != p.ClientID {
			fmt.Fprintf(w, "note: client_id in providers.yaml takes precedence over the stored client ID; the stored secret is used only with the stored client ID\n")
		}
	}
	if opts.Getenv(auth.ClientSecretEnv(p.Name)) != "" {
		fmt.Fprintf(w, "note: %s is set and takes precedence over the stored secret\n", auth.ClientSecretEnv(p.Name))
	}
	for _, a := range res.OtherClientAccounts {
		fmt.Fprintf(w, "note: the %s account %s was signed in with another client; run: oauthctl login %s --account %s\n",
			p.Name, a, p.Name, a)
	}
	return nil
}

// clientUnsetRun removes the stored secret and client ID
// (session.Service.UnsetClient).
func clientUnsetRun(ctx context.Context, opts *ClientOptions) error {
	name := opts.Provider
	if err := opts.Session.UnsetClient(ctx, name); err != nil {
		return err
	}
	fmt.Fprintln(opts.IO.ErrOut, opts.IO.ErrColorScheme().Success(fmt.Sprintf("Removed the stored %s client ID and secret.", name)))
	if opts.Getenv(auth.ClientIDEnv(name)) != "" || opts.Getenv(auth.ClientSecretEnv(name)) != "" {
		fmt.Fprintf(opts.IO.ErrOut, "note: %s or %s is still set in the environment\n", auth.ClientIDEnv(name), auth.ClientSecretEnv(name))
	}
	return nil
}

// parseClientInput reads the client ID and secret from piped stdin: the ID
// on the first line, the secret on the second (optional: a public client).
// Blank trailing lines and CRLF line ends are accepted.
func parseClientInput(in io.Reader) (id, secret string, err error) {
	data, err := io.ReadAll(io.LimitReader(in, maxClientInput+1))
	if err != nil {
		return "", "", fmt.Errorf("reading stdin: %w", err)
	}
	if len(data) > maxClientInput {
		return "", "", usageErrorf("stdin is longer than %d bytes: expected two lines, the client ID and the client secret", maxClientInput)
	}
	lines := strings.Split(strings.ReplaceAll(string(data), "\r\n", "\n"), "\n")
	for len(lines) > 0 && strings.TrimSpace(lines[len(lines)-1]) == "" {
		lines = lines[:len(lines)-1]
	}
	switch len(lines) {
	case 0:
		return "", "", usageErrorf("stdin is empty: expected the client ID on the first line and the client secret on the second")
	case 1, 2:
	default:
		return "", "", usageErrorf("stdin has %d lines: expected two, the client ID and the client secret", len(lines))
	}
	id = strings.TrimSpace(lines[0])
	if len(lines) == 2 {
		secret = strings.TrimSpace(lines[1])
	}
	if id == "" && secret == "" {
		return "", "", usageErrorf("stdin has neither a client ID nor a client secret")
	}
	if err := validateClientID(id); err != nil {
		return "", "", err
	}
	if err := validateClientSecret(secret); err != nil {
		return "", "", err
	}
	return id, secret, nil
}

// promptClient asks for the client ID and secret on the terminal, prompts on
// stderr, the secret without echo.
func promptClient(ctx context.Context, opts *ClientOptions, p *auth.Provider) (id, secret string, err error) {
	w := opts.IO.ErrOut
	prompt := fmt.Sprintf("Client ID for %s: ", p.Name)
	if p.ClientIDSource == "env" || p.ClientIDSource == "config" {
		prompt = fmt.Sprintf("Client ID for %s (empty keeps %s from %s): ", p.Name, auth.Sanitize(p.ClientID, 80), p.ClientIDSource)
	}
	fmt.Fprint(w, prompt)
	id, err = readLine(opts.IO.In)
	if err != nil {
		return "", "", err
	}
	id = strings.TrimSpace(id)
	if err := validateClientID(id); err != nil {
		return "", "", err
	}
	fmt.Fprint(w, "Client secret (not shown; empty for a public client): ")
	secret, err = opts.ReadHidden(ctx)
	fmt.Fprintln(w)
	if err != nil {
		return "", "", err
	}
	secret = strings.TrimSpace(secret)
	if id == "" && secret == "" {
		return "", "", usageErrorf("neither a client ID nor a client secret was entered")
	}
	return id, secret, validateClientSecret(secret)
}

// readLine reads one line byte by byte, so that nothing after it is
// consumed from the terminal.
func readLine(in io.Reader) (string, error) {
	var b bytes.Buffer
	one := make([]byte, 1)
	for b.Len() <= maxClientInput {
		n, err := in.Read(one)
		if n == 1 {
			if one[0] == '\n' {
				return strings.TrimSuffix(b.String(), "\r"), nil
			}
			b.WriteByte(one[0])
		}
		if errors.Is(err, io.EOF) {
			if b.Len() == 0 {
				return "", usageErrorf("no input: expected the client ID")
			}
			return b.String(), nil
		}
		if err != nil {
			return "", fmt.Errorf("reading the terminal: %w", err)
		}
	}
	return "", usageErrorf("input line is longer than %d bytes", maxClientInput)
}

func validateClientID(id string) error {
	if len(id) > maxClientIDLen {
		return usageErrorf("the client ID is longer than %d bytes", maxClientIDLen)
	}
	for _, r := range id {
		if unicode.IsSpace(r) || !unicode.IsPrint(r) {
			return usageErrorf("the client ID contains a space or control character (is the first line the client ID?)")
		}
	}
	return nil
}

func validateClientSecret(s string) error {
	if len(s) > maxClientSecretLen {
		return usageErrorf("the client secret is longer than %d bytes", maxClientSecretLen)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return usageErrorf("the client secret contains a control character")
		}
	}
	return nil
}

// applyStoredClients adds the client registrations of `client set` to the
// catalogue (the lowest-precedence source of client IDs, see
// auth.Catalogue.ApplyStoredClients). The Factory's catalogue calls it.
func applyStoredClients(ctx context.Context, state func() (keyring.StateStore, error), cat *auth.Catalogue) error {
	st, err := state()
	if err != nil {
		return err
	}
	c, err := st.LoadClients(ctx)
	if err != nil {
		return err
	}
	if len(c.Providers) == 0 {
		return nil
	}
	stored := make(map[string]auth.StoredClient, len(c.Providers))
	for name, r := range c.Providers {
		stored[name] = auth.StoredClient{ClientID: r.ClientID, SecretStored: r.SecretStored, SecretClientID: r.SecretOwner()}
	}
	cat.ApplyStoredClients(stored)
	return nil
}

// readHiddenLine reads one line from a terminal with echo turned off. If ctx
// ends first (Ctrl-C), the terminal is restored before returning, so the
// shell is not left without echo.
func readHiddenLine(ctx context.Context, in io.Reader) (string, error) {
	fd, ok := in.(interface{ Fd() uintptr })
	if !ok {
		return "", usageErrorf("cannot hide input here; pipe the client ID and secret on stdin instead")
	}
	restore, err := echoOff(fd.Fd())
	if err != nil {
		return "", withHint(usageErrorf("cannot turn off echo on this terminal: %v", err),
			"pipe the credentials instead: printf '%%s\\n%%s\\n' \"$ID\" \"$SECRET\" | oauthctl client set PROVIDER")
	}
	type result struct {
		line string
		err  error
	}
	done := make(chan result, 1)
	go func() {
		line, err := bufio.NewReader(in).ReadString('\n')
		if errors.Is(err, io.EOF) && line != "" {
			err = nil
		}
		done <- result{strings.TrimRight(line, "\r\n"), err}
	}()
	select {
	case r := <-done:
		restore()
		if r.err != nil {
			return "", fmt.Errorf("reading the client secret: %w", r.err)
		}
		return r.line, nil
	case <-ctx.Done():
		restore()
		return "", ctx.Err()
	}
}

// clientPlaces names, for messages, where `client set` stored the client ID
// and the secret: the registrations file and the keychain, or Vault.
func clientPlaces(state keyring.StateStore) (id, secret string) {
	switch st := state.(type) {
	case keyring.FileState:
		return st.Paths.ClientsPath(), "the keychain"
	case *vault.Vault:
		return st.Location(), "Vault"
	}
	return "the state store", "the secret store"
}
