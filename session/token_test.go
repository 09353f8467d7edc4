package session

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// tokenEnv is a Service over a real index file, an in-memory store and the
// built-in catalogue, for Token's tests (no network: every stored token
// is fresh).
type tokenEnv struct {
	s     *Service
	store *keyring.Memory
	paths keyring.Paths
	now   time.Time
}

func newTokenEnv(t *testing.T) *tokenEnv {
	t.Helper()
	builtin, err := os.ReadFile("../providers.yaml")
	if err != nil {
		t.Fatal(err)
	}
	getenv := func(string) string { return "" }
	cat, err := auth.LoadCatalogue(auth.ConfigSource{Path: "providers.yaml (built-in)", Data: builtin}, auth.ConfigSource{}, getenv)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	e := &tokenEnv{store: keyring.NewMemory(), now: time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC),
		paths: keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}}
	e.s = &Service{
		Getenv:    getenv,
		Now:       func() time.Time { return e.now },
		Store:     func() (keyring.Store, error) { return e.store, nil },
		Paths:     func() (keyring.Paths, error) { return e.paths, nil },
		Catalogue: func() (*auth.Catalogue, error) { return cat, nil },
	}
	return e
}

// seed stores rec for acct and puts acct in the index.
func (e *tokenEnv) seed(t *testing.T, acct keyring.Account, rec *keyring.Record) {
	t.Helper()
	ix, err := keyring.LoadIndex(e.paths.Index)
	if err != nil {
		t.Fatal(err)
	}
	ix.Put(acct)
	if err := ix.Save(e.paths.Index); err != nil {
		t.Fatal(err)
	}
	rec.Binding = keyring.BindingOf(&acct)
	if err := e.store.Save(t.Context(), acct.Key(), rec); err != nil {
		t.Fatal(err)
	}
}

// fakeIDToken is an unsigned JWT with the given exp (Token reads, never
// verifies, a stored ID token's exp).
func fakeIDToken(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	b, _ := json.Marshal(idClaims(exp))
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(b) + ".sig"
}

// TestToken covers the one entry point of token, exec, git-credential and
// kube-credential: which account it resolves, which token it picks with
// which expiry, and which errors (with their hints) and warnings it gives.
func TestToken(t *testing.T) {
	t.Parallel()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	acct := func(name string) keyring.Account {
		a := fakeAccount("https://t.example/token")
		a.Provider, a.Account = "google", name
		return a
	}
	idExp := now.Add(50 * time.Minute)
	full := &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", IDToken: fakeIDToken(idExp), TokenType: "Bearer",
		Expiry: now.Add(time.Hour)}
	noID := &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", TokenType: "Bearer", Expiry: now.Add(time.Hour)}
	rejected := acct("work")
	rejected.LoginRequired = true
	type stored struct {
		acct keyring.Account
		rec  *keyring.Record
	}
	tests := []struct {
		name   string
		stored []stored
		req    TokenRequest
		// want: the account resolved and the token handed out with its
		// expiry; or the error text, hint and warning kinds.
		wantAccount string
		wantToken   string
		wantExpiry  time.Time
		wantErr     string
		wantHint    string
		wantIs      error
		wantNoID    bool
		wantWarn    []WarningKind
	}{
		{name: "access token of the only account, no provider named", stored: []stored{{acct("me"), full}},
			req: TokenRequest{Acquire: AcquireOptions{MinTTL: time.Minute}}, wantAccount: "google:me", wantToken: "fake-at", wantExpiry: now.Add(time.Hour)},
		{name: "access token of the provider's default account", stored: []stored{{acct("me"), full}, {acct("work"), noID}},
			req:         TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute}},
			wantAccount: "google:me", wantToken: "fake-at", wantExpiry: now.Add(time.Hour)},
		{name: "the account named", stored: []stored{{acct("me"), noID}, {acct("work"), full}},
			req:         TokenRequest{Provider: "google", Account: "work", Acquire: AcquireOptions{MinTTL: time.Minute, IDToken: true}},
			wantAccount: "google:work", wantToken: full.IDToken, wantExpiry: idExp},
		{name: "the ID token with its exp claim", stored: []stored{{acct("me"), full}},
			req:         TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute, IDToken: true}},
			wantAccount: "google:me", wantToken: full.IDToken, wantExpiry: idExp},
		{name: "no ID token stored", stored: []stored{{acct("me"), noID}},
			req:     TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute, IDToken: true}},
			wantErr: "sign-in required: no ID token is stored for google:me (the provider is not OpenID Connect, or the login did not ask for the openid scope)",
			wantIs:  auth.ErrReauthRequired, wantNoID: true},
		{name: "no ID token stored, with the warnings of the token served", stored: []stored{{rejected, noID}},
			req:     TokenRequest{Provider: "google", Account: "work", Acquire: AcquireOptions{MinTTL: time.Minute, IDToken: true}},
			wantErr: "sign-in required: no ID token is stored for google:work (the provider is not OpenID Connect, or the login did not ask for the openid scope)",
			wantIs:  auth.ErrReauthRequired, wantNoID: true, wantWarn: []WarningKind{WarnRefreshRejected}},
		{name: "the served token's warnings", stored: []stored{{rejected, noID}},
			req:         TokenRequest{Provider: "google", Account: "work", Acquire: AcquireOptions{MinTTL: time.Minute}},
			wantAccount: "google:work", wantToken: "fake-at", wantExpiry: now.Add(time.Hour), wantWarn: []WarningKind{WarnRefreshRejected}},
		{name: "nothing stored for the provider", stored: []stored{{acct("me"), full}},
			req:     TokenRequest{Provider: "github", Acquire: AcquireOptions{MinTTL: time.Minute}},
			wantErr: "no stored credentials: not logged in to github", wantHint: "run: oauthctl login github", wantIs: keyring.ErrNotFound},
		{name: "nothing stored at all",
			req:     TokenRequest{Acquire: AcquireOptions{MinTTL: time.Minute}},
			wantErr: "no stored credentials: no account is logged in", wantHint: "run: oauthctl login PROVIDER (see: oauthctl providers)", wantIs: keyring.ErrNotFound},
		{name: "malformed stored token", stored: []stored{{acct("me"), &keyring.Record{AccessToken: "fake-at\r\nX: 1", Expiry: now.Add(time.Hour)}}},
			req:      TokenRequest{Provider: "google", Acquire: AcquireOptions{MinTTL: time.Minute}},
			wantErr:  "sign-in required: the stored tokens of google:me are malformed (characters outside visible ASCII); they were not used",
			wantHint: "run: oauthctl login google --account me", wantIs: auth.ErrReauthRequired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTokenEnv(t)
			for _, s := range tt.stored {
				e.seed(t, s.acct, s.rec.Clone())
			}
			res, warnings, err := e.s.Token(t.Context(), tt.req)
			var kinds []WarningKind
			for _, w := range warnings {
				kinds = append(kinds, w.Kind)
			}
			if diff := cmp.Diff(tt.wantWarn, kinds); diff != "" {
				t.Errorf("warnings (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				if err == nil {
					t.Fatalf("Token = %+v, want the error %q", res, tt.wantErr)
				}
				if res != nil {
					t.Errorf("Token returned a result with the error %v", err)
				}
				if got := err.Error(); got != tt.wantErr {
					t.Errorf("error %q, want %q", got, tt.wantErr)
				}
				var he *HintError
				gotHint := ""
				if errors.As(err, &he) {
					gotHint = he.Hint
				}
				if gotHint != tt.wantHint {
					t.Errorf("hint %q, want %q", gotHint, tt.wantHint)
				}
				if !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v does not match %v", err, tt.wantIs)
				}
				var ne *NoIDTokenError
				if got := errors.As(err, &ne); got != tt.wantNoID {
					t.Errorf("errors.As(err, *NoIDTokenError) = %t, want %t", got, tt.wantNoID)
				}
				return
			}
			if err != nil {
				t.Fatalf("Token: %v", err)
			}
			if got := res.Account.Key().String(); got != tt.wantAccount {
				t.Errorf("account %s, want %s", got, tt.wantAccount)
			}
			if res.Token != tt.wantToken || !res.Expiry.Equal(tt.wantExpiry) {
				t.Errorf("token %q expiring %v, want %q expiring %v", res.Token, res.Expiry, tt.wantToken, tt.wantExpiry)
			}
			if res.Record == nil || res.Record.AccessToken != "fake-at" {
				t.Errorf("record %+v, want the stored one", res.Record)
			}
		})
	}
}
