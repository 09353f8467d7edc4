package session

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/testvault"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/vault"
)

// clientsYAML has acme, whose client ID can only be stored, and conf, whose
// client ID providers.yaml gives.
const clientsYAML = `providers:
  acme:
    issuer: https://acme.example
    auth_url: https://acme.example/auth
    token_url: https://acme.example/token
  conf:
    issuer: https://conf.example
    auth_url: https://conf.example/auth
    token_url: https://conf.example/token
    client_id: conf-id
`

// owners says which client ID each fake secret of these tests was issued
// for, so that a test can tell a secret paired with the wrong client.
var owners = map[string]string{
	"fake-secret-old":    "id-old",
	"fake-secret-new":    "id-new",
	"fake-secret-1":      "id-1",
	"fake-secret-2":      "id-1",
	"fake-secret-conf":   "conf-id",
	"fake-secret-orphan": "id-lost",
}

var errInjected = errors.New("injected write failure")

// faultMode is how faults makes a write fail.
type faultMode int

const (
	// failed: the write does not happen and reports an error; the
	// process goes on (and may roll back).
	failed faultMode = iota
	// landed: the write happens but reports an error (a timeout after
	// the server applied it).
	landed
	// crashed: the process dies before the write: it and every later
	// write, a rollback included, never happen.
	crashed
)

func (m faultMode) String() string {
	return [...]string{"fails", "lands but fails", "crash at"}[m]
}

// faults counts the writes of client secrets and registrations through
// faultStore and faultState, and makes write number failAt (1-based; 0:
// none) fail as mode says.
type faults struct {
	mu     sync.Mutex
	failAt int
	mode   faultMode
	n      int
	log    []string
}

func (f *faults) do(what string, write func() error) error {
	f.mu.Lock()
	f.n++
	n := f.n
	f.log = append(f.log, what)
	f.mu.Unlock()
	switch {
	case f.failAt == 0 || n < f.failAt || n > f.failAt && f.mode != crashed:
		return write()
	case f.mode == landed:
		if err := write(); err != nil {
			return err
		}
	}
	return errInjected
}

type faultStore struct {
	keyring.Store
	f *faults
}

func (s faultStore) SetClientSecret(ctx context.Context, provider, secret string) error {
	return s.f.do("set secret", func() error { return s.Store.SetClientSecret(ctx, provider, secret) })
}

func (s faultStore) DeleteClientSecret(ctx context.Context, provider string) error {
	return s.f.do("delete secret", func() error { return s.Store.DeleteClientSecret(ctx, provider) })
}

type faultState struct {
	keyring.StateStore
	f *faults
}

func (s faultState) UpdateClients(ctx context.Context, fn func(*keyring.Clients) error) error {
	return s.f.do("registration", func() error { return s.StateStore.UpdateClients(ctx, fn) })
}

// clientBackend is a secret store and a state store as one machine sees
// them: the keychain's stand-in (keyring.Memory) with the files, or Vault.
type clientBackend struct {
	name string
	open func(t *testing.T) (keyring.Store, keyring.StateStore)
}

var clientBackends = []clientBackend{
	{name: "memory and files", open: func(t *testing.T) (keyring.Store, keyring.StateStore) {
		dir := t.TempDir()
		return keyring.NewMemory(), keyring.FileState{Paths: keyring.Paths{Index: dir + "/accounts.json", LockDir: dir + "/locks"}}
	}},
	{name: "vault", open: func(t *testing.T) (keyring.Store, keyring.StateStore) {
		srv := testvault.Require(t)
		v, err := vault.New(vault.Config{Addr: srv.Addr, Token: srv.Token, Mount: srv.Mount, Prefix: testvault.Prefix(t)})
		if err != nil {
			t.Fatal(err)
		}
		return v, v
	}},
}

// clientWorld is one machine's client state under test.
type clientWorld struct {
	t     *testing.T
	store keyring.Store
	state keyring.StateStore
	now   time.Time
}

func newClientWorld(t *testing.T, b clientBackend) *clientWorld {
	st, state := b.open(t)
	return &clientWorld{t: t, store: st, state: state, now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
}

// service returns a Service on w's stores, with writes going through f
// (nil: none fail).
func (w *clientWorld) service(f *faults) *Service {
	st, state := w.store, w.state
	if f != nil {
		st, state = faultStore{st, f}, faultState{state, f}
	}
	return &Service{
		Getenv:    func(string) string { return "" },
		Now:       func() time.Time { return w.now },
		Store:     func() (keyring.Store, error) { return st, nil },
		State:     func() (keyring.StateStore, error) { return state, nil },
		Catalogue: func() (*auth.Catalogue, error) { return w.catalogue(false) },
	}
}

// catalogue returns the test providers, with the stored registrations
// applied (as cmd's Factory does) when stored is set.
func (w *clientWorld) catalogue(stored bool) (*auth.Catalogue, error) {
	cat, err := auth.LoadCatalogue(auth.ConfigSource{Path: "builtin.yaml", Data: []byte(clientsYAML)}, auth.ConfigSource{}, func(string) string { return "" })
	if err != nil || !stored {
		return cat, err
	}
	c, err := w.state.LoadClients(context.Background())
	if err != nil {
		return nil, err
	}
	m := map[string]auth.StoredClient{}
	for name, r := range c.Providers {
		m[name] = auth.StoredClient{ClientID: r.ClientID, SecretStored: r.SecretStored, SecretClientID: r.SecretOwner()}
	}
	cat.ApplyStoredClients(m)
	return cat, nil
}

func (w *clientWorld) provider(name string, stored bool) *auth.Provider {
	w.t.Helper()
	cat, err := w.catalogue(stored)
	if err != nil {
		w.t.Fatal(err)
	}
	p, err := cat.Get(name)
	if err != nil {
		w.t.Fatal(err)
	}
	return p
}

// seed stores a registration (nil: none) and a secret ("": none) directly.
func (w *clientWorld) seed(provider string, reg *keyring.ClientRegistration, secret string) {
	w.t.Helper()
	ctx := context.Background()
	if reg != nil {
		if err := w.state.UpdateClients(ctx, func(c *keyring.Clients) error { c.Providers[provider] = *reg; return nil }); err != nil {
			w.t.Fatal(err)
		}
	}
	if secret != "" {
		if err := w.store.SetClientSecret(ctx, provider, secret); err != nil {
			w.t.Fatal(err)
		}
	}
}

// clientState is what is stored for one provider.
type clientState struct {
	Registered bool
	Reg        keyring.ClientRegistration
	Secret     string
}

func (w *clientWorld) get(provider string) clientState {
	w.t.Helper()
	ctx := context.Background()
	c, err := w.state.LoadClients(ctx)
	if err != nil {
		w.t.Fatal(err)
	}
	var s clientState
	s.Reg, s.Registered = c.Providers[provider]
	s.Reg.UpdatedAt = s.Reg.UpdatedAt.UTC()
	s.Secret, err = w.store.ClientSecret(ctx, provider)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		w.t.Fatal(err)
	}
	return s
}

// checkPairing fails when what is stored for provider could make oauthctl
// send a client secret with a client ID it was not issued for: a stored
// secret must be named by the registration, for its owner, and the secret
// login and refresh would read (ResolveClientSecret on the provider as the
// catalogue then resolves it; Acquire reads the keychain in fewer cases)
// must be the effective client ID's.
func (w *clientWorld) checkPairing(provider string) {
	w.t.Helper()
	s := w.get(provider)
	if s.Secret != "" && (!s.Registered || !s.Reg.SecretStored || s.Reg.SecretOwner() != owners[s.Secret]) {
		w.t.Errorf("the stored secret of %s (for %s) is not the one its registration names: %+v", provider, owners[s.Secret], s)
	}
	p := w.provider(provider, true)
	secret, _, err := ResolveClientSecret(context.Background(), func(string) string { return "" },
		func() (keyring.Store, error) { return w.store, nil }, p)
	if err != nil {
		w.t.Fatal(err)
	}
	if secret != "" && owners[secret] != p.ClientID {
		w.t.Errorf("login would send the secret of %s with client ID %q", owners[secret], p.ClientID)
	}
}

// TestSetClientOrder runs `client set`'s storage steps with each write in
// turn failing (the process goes on and rolls back), landing but reporting
// a failure, or never happening because the process died there, from the
// states a provider can be in, on the keychain's stand-in with files and
// on a real Vault. Whatever is left never pairs a secret with another
// client's ID; a plain failure leaves things as they were; and SetClient
// run again ends in the wanted state. Without faults the writes happen in
// the order SetClient's doc comment gives.
func TestSetClientOrder(t *testing.T) {
	t.Parallel()
	at := time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name     string
		provider string
		reg      *keyring.ClientRegistration // before
		secret   string                      // before
		id, set  string                      // SetClient's arguments
		writes   []string
		want     keyring.ClientRegistration // UpdatedAt is the clock's
	}{
		{name: "nothing stored", provider: "acme", id: "id-new", set: "fake-secret-new",
			writes: []string{"delete secret", "registration", "set secret"},
			want:   keyring.ClientRegistration{ClientID: "id-new", SecretStored: true}},
		{name: "another client's secret stored", provider: "acme",
			reg: &keyring.ClientRegistration{ClientID: "id-old", SecretStored: true, UpdatedAt: at}, secret: "fake-secret-old",
			id: "id-new", set: "fake-secret-new",
			writes: []string{"delete secret", "registration", "set secret"},
			want:   keyring.ClientRegistration{ClientID: "id-new", SecretStored: true}},
		{name: "the same client's secret replaced in place", provider: "acme",
			reg: &keyring.ClientRegistration{ClientID: "id-1", SecretStored: true, UpdatedAt: at}, secret: "fake-secret-1",
			id: "id-1", set: "fake-secret-2",
			writes: []string{"registration", "set secret"},
			want:   keyring.ClientRegistration{ClientID: "id-1", SecretStored: true}},
		{name: "a public client replaces a secret", provider: "acme",
			reg: &keyring.ClientRegistration{ClientID: "id-old", SecretStored: true, UpdatedAt: at}, secret: "fake-secret-old",
			id:     "id-new",
			writes: []string{"delete secret", "registration"},
			want:   keyring.ClientRegistration{ClientID: "id-new"}},
		{name: "a secret no registration names (an older oauthctl's failed set)", provider: "acme", secret: "fake-secret-orphan",
			id: "id-new", set: "fake-secret-new",
			writes: []string{"delete secret", "registration", "set secret"},
			want:   keyring.ClientRegistration{ClientID: "id-new", SecretStored: true}},
		{name: "a secret for the client ID in providers.yaml", provider: "conf",
			reg: &keyring.ClientRegistration{ClientID: "id-old", SecretStored: true, UpdatedAt: at}, secret: "fake-secret-old",
			set:    "fake-secret-conf",
			writes: []string{"delete secret", "registration", "set secret"},
			want:   keyring.ClientRegistration{SecretStored: true, SecretClientID: "conf-id"}},
	}
	for _, b := range clientBackends {
		for _, tt := range tests {
			for failAt := 0; failAt <= len(tt.writes); failAt++ {
				for _, mode := range []faultMode{failed, landed, crashed} {
					if failAt == 0 && mode != failed {
						continue
					}
					name := fmt.Sprintf("%s/%s/write %d %v", b.name, tt.name, failAt, mode)
					if failAt == 0 {
						name = fmt.Sprintf("%s/%s/no failure", b.name, tt.name)
					}
					t.Run(name, func(t *testing.T) {
						t.Parallel()
						ctx := t.Context()
						w := newClientWorld(t, b)
						w.seed(tt.provider, tt.reg, tt.secret)
						before := w.get(tt.provider)
						want := tt.want
						want.UpdatedAt = w.now

						f := &faults{failAt: failAt, mode: mode}
						res, err := w.service(f).SetClient(ctx, w.provider(tt.provider, true), tt.id, tt.set)
						if failAt == 0 {
							if err != nil {
								t.Fatal(err)
							}
							if diff := cmp.Diff(tt.writes, f.log); diff != "" {
								t.Errorf("writes (-want +got):\n%s", diff)
							}
							if got := w.get(tt.provider); !got.Registered || got.Reg != want || got.Secret != tt.set {
								t.Errorf("stored %+v, want %+v and secret %q", got, want, tt.set)
							}
							if res.State == nil {
								t.Error("no State in the result")
							}
						} else if !errors.Is(err, errInjected) {
							t.Fatalf("SetClient: %v, want the injected failure", err)
						}
						if got := w.get(tt.provider); got != before {
							// The orphan secret is a state an older oauthctl
							// left; every state this one leaves pairs.
							w.checkPairing(tt.provider)
						}
						if failAt > 0 && mode == failed {
							// Rolled back, but a secret that no registration
							// names is not put back once deleted.
							wantBack := before
							if !before.Registered && failAt > 1 {
								wantBack.Secret = ""
							}
							if got := w.get(tt.provider); got != wantBack {
								t.Errorf("after the failure: %+v, want %+v", got, wantBack)
							}
						}

						// The next `client set` completes the change.
						w.now = w.now.Add(time.Minute)
						want.UpdatedAt = w.now
						if _, err := w.service(nil).SetClient(ctx, w.provider(tt.provider, true), tt.id, tt.set); err != nil {
							t.Fatalf("SetClient again: %v", err)
						}
						if got := w.get(tt.provider); !got.Registered || got.Reg != want || got.Secret != tt.set {
							t.Errorf("after SetClient again: %+v, want %+v and secret %q", got, want, tt.set)
						}
						w.checkPairing(tt.provider)
					})
				}
			}
		}
	}
}

// TestUnsetClientOrder: `client unset` stopped by a failed or crashed write
// leaves no secret without its registration, and run again removes both.
func TestUnsetClientOrder(t *testing.T) {
	t.Parallel()
	reg := &keyring.ClientRegistration{ClientID: "id-old", SecretStored: true, UpdatedAt: time.Date(2025, 5, 5, 0, 0, 0, 0, time.UTC)}
	for _, b := range clientBackends {
		for failAt := 0; failAt <= 2; failAt++ {
			t.Run(fmt.Sprintf("%s/write %d fails (0: none)", b.name, failAt), func(t *testing.T) {
				t.Parallel()
				ctx := t.Context()
				w := newClientWorld(t, b)
				w.seed("acme", reg, "fake-secret-old")
				f := &faults{failAt: failAt, mode: crashed}
				err := w.service(f).UnsetClient(ctx, "acme")
				if failAt == 0 && err != nil || failAt > 0 && !errors.Is(err, errInjected) {
					t.Fatalf("UnsetClient: %v", err)
				}
				if want := []string{"delete secret", "registration"}; failAt == 0 && !slices.Equal(f.log, want) {
					t.Errorf("writes %q, want %q", f.log, want)
				}
				w.checkPairing("acme")
				if err := w.service(nil).UnsetClient(ctx, "acme"); err != nil {
					t.Fatalf("UnsetClient again: %v", err)
				}
				if got := w.get("acme"); got != (clientState{}) {
					t.Errorf("after UnsetClient again: %+v", got)
				}
			})
		}
	}
}
