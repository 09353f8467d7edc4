package cmd

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

func TestNewCmdClient(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     *ClientOptions
		wantCode int
	}{
		{name: "set", args: []string{"set", "google"}, want: &ClientOptions{Provider: "google"}},
		{name: "unset", args: []string{"unset", "github"}, want: &ClientOptions{Provider: "github", Unset: true}},
		{name: "set without provider", args: []string{"set"}, wantCode: ExitUsage},
		{name: "secret on the command line is refused", args: []string{"set", "google", "fake-secret"}, wantCode: ExitUsage},
		{name: "no secret flag", args: []string{"set", "google", "--secret", "x"}, wantCode: ExitUsage},
		{name: "unknown subcommand", args: []string{"show", "google"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *ClientOptions
			c := NewCmdClient(&Factory{IO: ios}, func(o *ClientOptions) error { got = o; return nil })
			if code := acParse(c, tt.args); code != tt.wantCode {
				t.Fatalf("exit %d, want %d", code, tt.wantCode)
			}
			if tt.want == nil {
				return
			}
			got.IO, got.Getenv, got.Catalogue, got.ReadHidden, got.Session = nil, nil, nil, nil, nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// providerRow returns the `providers` table row of name, split in columns
// (a column may hold "yes (stored)").
func providerRow(t *testing.T, e *acEnv, name string) string {
	t.Helper()
	r := e.run("providers")
	if r.code != 0 {
		t.Fatalf("providers: exit %d: %s", r.code, r.errOut)
	}
	for _, l := range strings.Split(r.out, "\n") {
		if strings.HasPrefix(l, name+" ") {
			return strings.Join(strings.Fields(l), " ")
		}
	}
	t.Fatalf("no row for %s in:\n%s", name, r.out)
	return ""
}

// TestClientSetUnset is the round trip: `client set` stores the secret in
// the keychain and the client ID in clients.json, the catalogue and
// `providers` then report them as stored, the environment still wins, and
// `client unset` removes both.
func TestClientSetUnset(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	ctx := context.Background()
	if got := providerRow(t, e, "google"); !strings.Contains(got, "accounts.google.com no needed") {
		t.Errorf("before: %q", got)
	}

	r := e.runIn("fake-id.apps.example\nfake-google-secret\n", "client", "set", "google")
	want := acResult{errOut: "Stored the google client ID in " + e.paths.ClientsPath() + " and its secret in the keychain.\n"}
	if diff := cmp.Diff(want, r, cmp.AllowUnexported(acResult{})); diff != "" {
		t.Fatalf("client set (-want +got):\n%s", diff)
	}
	if s, err := e.store.ClientSecret(ctx, "google"); err != nil || s != "fake-google-secret" {
		t.Errorf("keychain secret = %q, %v", s, err)
	}
	cat, err := e.catalogue()
	if err != nil {
		t.Fatal(err)
	}
	p, _ := cat.Get("google")
	if p.ClientID != "fake-id.apps.example" || p.ClientIDSource != "stored" || !p.ClientSecretStored {
		t.Errorf("catalogue: id %q source %q secret stored %v", p.ClientID, p.ClientIDSource, p.ClientSecretStored)
	}
	if got := providerRow(t, e, "google"); !strings.Contains(got, "accounts.google.com yes (stored) keychain") {
		t.Errorf("after set: %q", got)
	}
	if r := e.run("providers", "--secrets"); !strings.Contains(strings.Join(strings.Fields(r.out), " "), "yes (stored) keychain") {
		t.Errorf("providers --secrets:\n%s", r.out)
	}
	if r := e.run("providers", "--json"); !strings.Contains(r.out, `"client_id_source": "stored"`) || !strings.Contains(r.out, `"client_secret_source": "keychain"`) ||
		strings.Contains(r.out, "fake-google-secret") {
		t.Errorf("providers --json lacks the sources or shows the secret:\n%s", r.out)
	}

	// The environment takes precedence.
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_ID", "env-id")
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_SECRET", "fake-env-secret")
	if got := providerRow(t, e, "google"); !strings.Contains(got, "yes (env) env") {
		t.Errorf("with env: %q", got)
	}
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_ID", "")
	e.setenv("OAUTHCTL_GOOGLE_CLIENT_SECRET", "")

	// The secret is gone from the keychain behind oauthctl's back.
	_ = e.store.DeleteClientSecret(ctx, "google")
	if r := e.run("providers", "--secrets"); !strings.Contains(strings.Join(strings.Fields(r.out), " "), "yes (stored) keychain (missing)") {
		t.Errorf("providers --secrets with the secret gone:\n%s", r.out)
	}
	_ = e.store.SetClientSecret(ctx, "google", "fake-google-secret")

	r = e.run("client", "unset", "google")
	if diff := cmp.Diff(acResult{errOut: "Removed the stored google client ID and secret.\n"}, r, cmp.AllowUnexported(acResult{})); diff != "" {
		t.Errorf("client unset (-want +got):\n%s", diff)
	}
	if _, err := e.store.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("secret after unset: %v", err)
	}
	clients, err := keyring.LoadClients(e.paths.ClientsPath())
	if err != nil || len(clients.Providers) != 0 {
		t.Errorf("clients.json after unset: %+v, %v", clients, err)
	}
	if got := providerRow(t, e, "google"); !strings.Contains(got, "accounts.google.com no needed") {
		t.Errorf("after unset: %q", got)
	}
}

// TestClientSetInput covers stdin: the two-line format, a public client, a
// secret for a configured client ID, precedence notes, and every parsing
// error (exit 2, never echoing the secret).
func TestClientSetInput(t *testing.T) {
	t.Parallel()
	acme := "providers:\n  acme:\n    issuer: https://acme.example\n    auth_url: https://acme.example/a\n    token_url: https://acme.example/t\n    client_id: config-id\n"
	tests := []struct {
		name       string
		provider   string
		stdin      string
		env        map[string]string
		account    bool // an account signed in with acme's config-id
		code       int
		errOut     string // exact, {clients} replaced; or a prefix with errPrefix
		errPrefix  bool
		wantID     string
		wantSecret string
	}{
		{name: "two lines", provider: "google", stdin: "id-1\nfake-s1\n", wantID: "id-1", wantSecret: "fake-s1",
			errOut: "Stored the google client ID in {clients} and its secret in the keychain.\n"},
		{name: "CRLF, spaces, no final newline", provider: "google", stdin: "  id-1 \r\n fake-s1\r\n\r\n", wantID: "id-1", wantSecret: "fake-s1",
			errOut: "Stored the google client ID in {clients} and its secret in the keychain.\n"},
		{name: "public client: one line", provider: "microsoft", stdin: "id-2\n", wantID: "id-2",
			errOut: "Stored the microsoft client ID in {clients} (a public client: no secret).\n"},
		{name: "secret only, client ID from providers.yaml", provider: "acme", stdin: "\nfake-s3\n", wantSecret: "fake-s3",
			errOut: "Stored the acme client secret in the keychain.\n"},
		{name: "another client ID than providers.yaml's", provider: "acme", stdin: "other-id\nfake-s4\n", account: true, wantID: "other-id", wantSecret: "fake-s4",
			errOut: "Stored the acme client ID in {clients} and its secret in the keychain.\n" +
				"note: client_id in providers.yaml takes precedence over the stored client ID; the stored secret is used only with the stored client ID\n"},
		{name: "environment takes precedence", provider: "google", stdin: "id-5\nfake-s5\n", wantID: "id-5", wantSecret: "fake-s5",
			env: map[string]string{"OAUTHCTL_GOOGLE_CLIENT_ID": "env-id", "OAUTHCTL_GOOGLE_CLIENT_SECRET": "fake-env"},
			errOut: "Stored the google client ID in {clients} and its secret in the keychain.\n" +
				"note: OAUTHCTL_GOOGLE_CLIENT_ID is set and takes precedence over the stored client ID; the stored secret is used only with the stored client ID\n" +
				"note: OAUTHCTL_GOOGLE_CLIENT_SECRET is set and takes precedence over the stored secret\n"},
		{name: "accounts of another client are pointed at login", provider: "google", stdin: "id-6\nfake-s6\n", account: true, wantID: "id-6", wantSecret: "fake-s6",
			errOut: "Stored the google client ID in {clients} and its secret in the keychain.\n" +
				"note: the google account alice was signed in with another client; run: oauthctl login google --account alice\n"},
		{name: "empty stdin", provider: "google", stdin: "", code: ExitUsage,
			errOut: "oauthctl: stdin is empty: expected the client ID on the first line and the client secret on the second\n"},
		{name: "blank lines only", provider: "google", stdin: "\n \n", code: ExitUsage,
			errOut: "oauthctl: stdin is empty: expected the client ID on the first line and the client secret on the second\n"},
		{name: "three lines", provider: "google", stdin: "id\nfake-s\nmore\n", code: ExitUsage,
			errOut: "oauthctl: stdin has 3 lines: expected two, the client ID and the client secret\n"},
		{name: "no client ID anywhere", provider: "google", stdin: "\nfake-s\n", code: ExitUsage,
			errOut: "oauthctl: no client ID given and none is configured for google: give it on the first line\n"},
		{name: "space in the client ID", provider: "google", stdin: "my id\nfake-s\n", code: ExitUsage,
			errOut: "oauthctl: the client ID contains a space or control character (is the first line the client ID?)\n"},
		{name: "secret first by mistake is still only a bad ID", provider: "google", stdin: "id\tfake-s\n", code: ExitUsage,
			errOut: "oauthctl: the client ID contains a space or control character (is the first line the client ID?)\n"},
		{name: "control character in the secret", provider: "google", stdin: "id\nfake\x1b-s\n", code: ExitUsage,
			errOut: "oauthctl: the client secret contains a control character\n"},
		{name: "secret too long", provider: "google", stdin: "id\n" + strings.Repeat("s", 1025) + "\n", code: ExitUsage,
			errOut: "oauthctl: the client secret is longer than 1024 bytes\n"},
		{name: "input too long", provider: "google", stdin: strings.Repeat("x", 9000), code: ExitUsage,
			errOut: "oauthctl: stdin is longer than 8192 bytes: expected two lines, the client ID and the client secret\n"},
		{name: "unknown provider", provider: "nope", stdin: "id\nfake-s\n", code: ExitUsage, errPrefix: true,
			errOut: "oauthctl: unknown provider \"nope\" (known: "},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, acme)
			for k, v := range tt.env {
				e.setenv(k, v)
			}
			if tt.account {
				a := acAccount(tt.provider, "https://acme.example", "alice")
				a.ClientID = "config-id"
				e.seed(a, nil)
			}
			r := e.runIn(tt.stdin, "client", "set", tt.provider)
			wantErr := strings.ReplaceAll(tt.errOut, "{clients}", e.paths.ClientsPath())
			if r.code != tt.code || r.out != "" {
				t.Errorf("exit %d stdout %q, want %d and nothing", r.code, r.out, tt.code)
			}
			if tt.errPrefix && !strings.HasPrefix(r.errOut, wantErr) || !tt.errPrefix && r.errOut != wantErr {
				t.Errorf("stderr:\n%s\nwant:\n%s", r.errOut, wantErr)
			}
			if strings.Contains(r.errOut, "fake-s") {
				t.Errorf("stderr shows the secret")
			}
			secret, _ := e.store.ClientSecret(context.Background(), tt.provider)
			clients, err := keyring.LoadClients(e.paths.ClientsPath())
			if err != nil {
				t.Fatal(err)
			}
			reg, registered := clients.Providers[tt.provider]
			if tt.code != 0 {
				if secret != "" || registered {
					t.Errorf("a failed set stored something: secret %t registration %+v", secret != "", reg)
				}
				return
			}
			if secret != tt.wantSecret || reg.ClientID != tt.wantID || reg.SecretStored != (tt.wantSecret != "") || !reg.UpdatedAt.Equal(acNow) {
				t.Errorf("stored secret %q registration %+v; want %q and ID %q", secret, reg, tt.wantSecret, tt.wantID)
			}
		})
	}
}

// TestClientSetPublicReplacesSecret: setting a public client deletes a
// secret stored before.
func TestClientSetPublicReplacesSecret(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	if r := e.runIn("id\nfake-old\n", "client", "set", "gitlab"); r.code != 0 {
		t.Fatal(r.errOut)
	}
	if r := e.runIn("id\n", "client", "set", "gitlab"); r.code != 0 {
		t.Fatal(r.errOut)
	}
	if _, err := e.store.ClientSecret(context.Background(), "gitlab"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the old secret remains: %v", err)
	}
}

// secretFailStore is a store whose client secret writes fail.
type secretFailStore struct{ keyring.Store }

func (secretFailStore) SetClientSecret(context.Context, string, string) error {
	return &keyring.UnavailableError{Op: "write", Msg: "the keychain is locked"}
}

// TestClientSetKeychainFails: a keychain that cannot store the secret is
// exit 6, and clients.json is left alone.
func TestClientSetKeychainFails(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	f, out, errOut := e.factory("id\nfake-s\n")
	f.Store = func() (keyring.Store, error) { return secretFailStore{e.store}, nil }
	code := Run(t.Context(), f, []string{"client", "set", "google"})
	if code != ExitStorage || out.String() != "" ||
		errOut.String() != "oauthctl: storing the client secret: the keychain is locked\nunlock it in your desktop's prompt or run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n" {
		t.Errorf("exit %d stdout %q stderr %q", code, out, errOut)
	}
	if _, err := keyring.LoadClients(e.paths.ClientsPath()); err != nil {
		t.Fatal(err)
	}
	if c, _ := keyring.LoadClients(e.paths.ClientsPath()); len(c.Providers) != 0 {
		t.Errorf("clients.json was written: %+v", c)
	}
}

// registrationFailState is the files' state store whose client
// registration writes fail (a full disk, a Vault policy without write).
type registrationFailState struct{ keyring.StateStore }

func (registrationFailState) UpdateClients(context.Context, func(*keyring.Clients) error) error {
	return errors.New("no space left on device")
}

// TestClientSetRegistrationFails: when the client ID cannot be recorded,
// the new secret is not left in the keychain, where nothing names its
// client ID (it used to be: the secret was written first), and what was
// stored before is put back.
func TestClientSetRegistrationFails(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	if r := e.runIn("id-old\nfake-old\n", "client", "set", "google"); r.code != 0 {
		t.Fatal(r.errOut)
	}
	for _, tt := range []struct{ provider, secret string }{{"github", ""}, {"google", "fake-old"}} {
		f, out, errOut := e.factory("id-new\nfake-new\n")
		f.State = func() (keyring.StateStore, error) {
			return registrationFailState{keyring.FileState{Paths: e.paths}}, nil
		}
		code := Run(t.Context(), f, []string{"client", "set", tt.provider})
		if code != ExitError || out.String() != "" || errOut.String() != "oauthctl: saving the client ID: no space left on device\n" {
			t.Errorf("%s: exit %d stdout %q stderr %q", tt.provider, code, out, errOut)
		}
		if s, _ := e.store.ClientSecret(t.Context(), tt.provider); s != tt.secret {
			t.Errorf("%s: the keychain holds %q, want %q", tt.provider, s, tt.secret)
		}
	}
	if c, _ := keyring.LoadClients(e.paths.ClientsPath()); c.Providers["google"].ClientID != "id-old" || len(c.Providers) != 1 {
		t.Errorf("registrations %+v, want google's old one only", c.Providers)
	}
}

// TestClientSetPrompt: on a terminal, the prompts go to stderr, the client
// ID is read as a line and the secret through the hidden reader.
func TestClientSetPrompt(t *testing.T) {
	t.Parallel()
	e := newAcEnv(t, "")
	f, out, errOut := e.factory("tty-id\nnot-read-here\n")
	f.IO.InTTY = true
	opts := newClientOptions(f)
	opts.Provider = "github"
	hidden := 0
	opts.ReadHidden = func(context.Context) (string, error) { hidden++; return "fake-typed-secret", nil }
	if err := clientSetRun(t.Context(), opts); err != nil {
		t.Fatal(err)
	}
	wantErr := "Client ID for github: Client secret (not shown; empty for a public client): \n" +
		"Stored the github client ID in " + e.paths.ClientsPath() + " and its secret in the keychain.\n"
	if diff := cmp.Diff(wantErr, errOut.String()); diff != "" || out.String() != "" {
		t.Errorf("stderr (-want +got):\n%s\nstdout %q", diff, out)
	}
	if s, _ := e.store.ClientSecret(t.Context(), "github"); s != "fake-typed-secret" || hidden != 1 {
		t.Errorf("secret %q read %d times", s, hidden)
	}
	if c, _ := keyring.LoadClients(e.paths.ClientsPath()); c.Providers["github"].ClientID != "tty-id" {
		t.Errorf("registration %+v", c.Providers["github"])
	}
}

// TestReadHiddenLineNotTerminal: the hidden reader refuses input that is
// not a terminal instead of echoing a secret.
func TestReadHiddenLineNotTerminal(t *testing.T) {
	t.Parallel()
	_, err := readHiddenLine(t.Context(), strings.NewReader("fake-s\n"))
	if ExitCode(err) != ExitUsage || !strings.Contains(err.Error(), "pipe the client ID and secret on stdin") {
		t.Errorf("error = %v", err)
	}
}
