package cmd

import (
	"context"
	"errors"
	"io/fs"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/internal/safefile"
	"github.com/oauthctl/oauthctl/internal/userconfig"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// HTTPTimeout bounds every HTTP call to a provider.
const HTTPTimeout = 30 * time.Second

// Factory carries every dependency a command needs. Main wires the real ones
// once; tests build the struct by hand with fakes. Expensive pieces (the
// catalogue, the keychain) are built lazily so that `oauthctl token` on its
// cached path pays for none of them.
type Factory struct {
	IO      *iostreams.IOStreams
	Getenv  func(string) string
	Now     func() time.Time
	Version string

	// HTTPClient returns the one client used for every provider call.
	HTTPClient func() *http.Client
	// Browser opens the system browser (or $BROWSER).
	Browser browser.Opener
	// Store returns the credential store: the OS keychain, or Vault
	// (OAUTHCTL_STORE=vault; see storeKind).
	Store func() (keyring.Store, error)
	// StoreKind is StoreKeychain or StoreVault, as the environment and
	// providers.yaml choose (storeKind); the Store above is that one.
	StoreKind func() (string, error)
	// State returns where the account index and the client registrations
	// live: local files (nil means those under Paths) or the same Vault.
	State func() (keyring.StateStore, error)
	// Catalogue returns the merged built-in and user providers.
	Catalogue func() (*auth.Catalogue, error)
	// UserConfig returns the user's providers.yaml (readUserConfig), read
	// once per process: the store choice and the catalogue both need it on
	// a `token` miss. The editing commands (`providers add/remove`) read
	// the file afresh before they rewrite it.
	UserConfig func() (auth.ConfigSource, error)
	// Paths returns where the index and lock files live.
	Paths func() (keyring.Paths, error)
	// KernelCache returns the kernel-keyring copy of the access tokens
	// that `token` answers from (keyring.KernelCache); nil means none.
	KernelCache func() *keyring.KernelCache
	// BuiltinProviders is the embedded providers.yaml (for `providers add`
	// to validate an edited file exactly as the loader will).
	BuiltinProviders []byte
}

// state returns f's StateStore: f.State, else the files under f.Paths.
func (f *Factory) state() (keyring.StateStore, error) {
	return stateOf(f.State, f.Paths)
}

// stateOf returns state(), or the files under paths when state is nil (the
// keychain configuration; tests that set only Paths).
func stateOf(state func() (keyring.StateStore, error), paths func() (keyring.Paths, error)) (keyring.StateStore, error) {
	if state != nil {
		return state()
	}
	p, err := paths()
	if err != nil {
		return nil, err
	}
	return keyring.FileState{Paths: p}, nil
}

// Session returns the use cases wired to f's dependencies: the only place
// that builds a session.Service outside tests (TestSessionWiresEveryDependency),
// so that no command runs with a dependency left out. It builds nothing:
// the store, catalogue and HTTP client stay lazy, so `token` on its cached
// path still pays for none of them.
func (f *Factory) Session() *session.Service {
	return &session.Service{
		Getenv:     f.Getenv,
		Now:        f.Now,
		HTTPClient: f.HTTPClient,
		Store:      f.Store,
		Catalogue:  f.Catalogue,
		Paths:      f.Paths,
		Cache:      f.KernelCache,
		State:      f.State,
		ConfigPath: func() string { return UserConfigPath(f.Getenv) },
	}
}

// DefaultMinTTL is the default of --min-ttl (session.DefaultMinTTL).
const DefaultMinTTL = session.DefaultMinTTL

// ClientCredentialsAccount is the account name of a client_credentials
// provider's token (session.ClientCredentialsAccount).
const ClientCredentialsAccount = session.ClientCredentialsAccount

// NewFactory wires the production dependencies. ctx bounds the reads that
// lazy constructors make (the client registrations, from Vault).
func NewFactory(ctx context.Context, io *iostreams.IOStreams, builtin []byte, version string) *Factory {
	return newFactory(ctx, io, builtin, version, os.Getenv, readUserConfig)
}

// newFactory is NewFactory with the environment and the providers.yaml
// reader given (tests count the reads).
func newFactory(ctx context.Context, io *iostreams.IOStreams, builtin []byte, version string,
	getenv func(string) string, readConfig func(getenv func(string) string) (auth.ConfigSource, error)) *Factory {
	f := &Factory{
		IO:      io,
		Getenv:  getenv,
		Now:     time.Now,
		Version: version,

		BuiltinProviders: builtin,
	}
	f.HTTPClient = sync.OnceValue(NewHTTPClient)
	f.Paths = sync.OnceValues(func() (keyring.Paths, error) { return keyring.DefaultPaths(getenv) })
	f.UserConfig = sync.OnceValues(func() (auth.ConfigSource, error) { return readConfig(getenv) })
	f.Store, f.State, f.StoreKind = newStores(getenv, f.UserConfig, f.Paths)
	// The kernel cache copies tokens of the local keychain store only: a
	// store shared with other machines could replace a token behind it
	// (with Vault, a logout on another machine must end the session here).
	f.KernelCache = sync.OnceValue(func() *keyring.KernelCache {
		if k, err := f.StoreKind(); err != nil || k != StoreKeychain {
			return nil
		}
		p, err := f.Paths()
		if err != nil {
			return nil
		}
		return keyring.NewKernelCache(p.Index, "keychain", getenv, time.Now)
	})
	f.Catalogue = sync.OnceValues(func() (*auth.Catalogue, error) {
		user, err := f.UserConfig()
		if err != nil {
			return nil, err
		}
		cat, err := auth.LoadCatalogue(auth.ConfigSource{Path: "providers.yaml (built-in)", Data: builtin}, user, getenv)
		if err != nil {
			return nil, err
		}
		// Client IDs saved with `oauthctl client set`, the lowest-precedence source.
		if err := applyStoredClients(ctx, f.state, cat); err != nil {
			return nil, err
		}
		return cat, nil
	})
	f.Browser = browser.New(io.ErrOut, getenv)
	return f
}

// NewHTTPClient returns the client for provider calls: a 30 s bound on every
// request, proxies from the environment (never for loopback), and redirects
// not followed, because a 307/308 would re-POST a code, refresh token or
// client secret to wherever the redirect points (docs/security.md §4.6).
func NewHTTPClient() *http.Client {
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: HTTPTimeout,
		IdleConnTimeout:       30 * time.Second,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          4,
	}
	return &http.Client{
		Timeout:   HTTPTimeout,
		Transport: tr,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// UserConfigPath is the user's providers.yaml: $OAUTHCTL_CONFIG, else
// $XDG_CONFIG_HOME/oauthctl/providers.yaml, else ~/.config/oauthctl/providers.yaml.
func UserConfigPath(getenv func(string) string) string { return userconfig.Path(getenv) }

// readUserConfig reads the user's providers.yaml. A missing default file is
// fine; a missing file named by OAUTHCTL_CONFIG is an error. The file is
// opened once and judged by its open descriptor (safefile.ReadFile): a
// link, a file that others can write, or one that another user owns is
// refused, because it decides where codes and tokens are sent
// (docs/security.md §3.2).
func readUserConfig(getenv func(string) string) (auth.ConfigSource, error) {
	path := UserConfigPath(getenv)
	src := auth.ConfigSource{Path: path}
	data, err := safefile.ReadFile(path, 1<<20)
	var unsafe *safefile.UnsafeError
	var tooLarge *safefile.TooLargeError
	switch {
	case errors.Is(err, fs.ErrNotExist) && getenv("OAUTHCTL_CONFIG") == "":
		return src, nil
	case errors.As(err, &unsafe):
		msg := unsafe.Reason
		if unsafe.Fix != "" {
			msg += "; " + unsafe.Fix
		}
		return src, &auth.ConfigError{Path: path, Msg: msg}
	case errors.As(err, &tooLarge):
		return src, &auth.ConfigError{Path: path, Msg: "is larger than 1 MiB"}
	case err != nil:
		return src, &auth.ConfigError{Path: path, Msg: "cannot read: " + pathErrMsg(err)}
	}
	src.Data = data
	return src, nil
}

func pathErrMsg(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// lookupProvider loads the catalogue and returns a copy of the named
// provider, or an error that lists the known names.
func lookupProvider(catalogue func() (*auth.Catalogue, error), name string) (*auth.Provider, error) {
	cat, err := catalogue()
	if err != nil {
		return nil, err
	}
	return cat.Get(name)
}

// openIndex reads the account index from state (nil: the files under
// paths).
func openIndex(ctx context.Context, state func() (keyring.StateStore, error), paths func() (keyring.Paths, error)) (*keyring.Index, error) {
	st, err := stateOf(state, paths)
	if err != nil {
		return nil, err
	}
	return st.LoadIndex(ctx)
}

// frontDeps are the dependencies of the cobra-free hot path (cmd/front) in
// this process: the kernel cache only, since session.Acquire reads the store
// on a miss anyway.
func (f *Factory) frontDeps() front.Deps {
	var cache *keyring.KernelCache
	if f.KernelCache != nil {
		cache = f.KernelCache()
	}
	return front.Deps{Getenv: f.Getenv, Now: f.Now, Paths: f.Paths, Cache: cache}
}
