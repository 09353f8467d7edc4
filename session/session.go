// Package session holds oauthctl's use cases: acquire a token (the hot path,
// the refresh lock, refresh or mint, persist), plan and complete a login, log
// out, and list, check and switch accounts. It composes auth (the protocol)
// and keyring (where state lives) and is called by every front-end in cmd
// (token, exec, whoami, status --check, git-credential...).
//
// It returns data, typed errors and typed warnings, never text for a
// terminal: cmd decides what to print and which exit code an error means.
// Its dependencies are injected through Service; it has no global state.
package session

import (
	"context"
	"net/http"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// Service carries the dependencies of the use cases. cmd's Factory builds
// it; tests build it by hand. Expensive pieces are constructors called only
// when needed, so that the hot path of Acquire builds neither the catalogue
// (no YAML parse) nor an HTTP client.
type Service struct {
	// Getenv reads the environment (client IDs and secrets).
	Getenv func(string) string
	// Now is the clock for our own expiry logic.
	Now func() time.Time
	// HTTPClient returns the one client used for every provider call.
	HTTPClient func() *http.Client
	// Store returns the credential store.
	Store func() (keyring.Store, error)
	// Catalogue returns the merged built-in and user providers.
	Catalogue func() (*auth.Catalogue, error)
	// Paths returns where the index and lock files live.
	Paths func() (keyring.Paths, error)
	// Cache returns the kernel keyring copy of the access tokens
	// (keyring.KernelCache); nil, or a nil or disabled cache, means none.
	// Only a store that no other machine writes may have one: a token
	// replaced behind the cache's back would still be served.
	Cache func() *keyring.KernelCache
	// State returns where the account index and the client registrations
	// live: the local files under Paths (FileState) when nil, or Vault.
	State func() (keyring.StateStore, error)
	// ConfigPath returns the user's providers.yaml path, for messages.
	ConfigPath func() string
}

// Warnings are hot.Warning: the hot path (session/hot) gives some of them
// too, and cmd prints both kinds alike.
type (
	// WarningKind classifies a Warning (hot.WarningKind).
	WarningKind = hot.WarningKind
	// Warning is a one-line human message for stderr (hot.Warning).
	Warning = hot.Warning
)

// The warning kinds (see hot.WarningKind).
const (
	WarnOther           = hot.WarnOther
	WarnRefreshRejected = hot.WarnRefreshRejected
	WarnRefreshExpiring = hot.WarnRefreshExpiring
	WarnNotRefreshed    = hot.WarnNotRefreshed
	WarnShortLived      = hot.WarnShortLived
	WarnIDTokenRejected = hot.WarnIDTokenRejected
	WarnIDTokenKept     = hot.WarnIDTokenKept
	WarnIndex           = hot.WarnIndex
	WarnConfig          = hot.WarnConfig
	WarnIdentity        = hot.WarnIdentity
	WarnNotRevoked      = hot.WarnNotRevoked
	NoteRefreshNotKept  = hot.NoteRefreshNotKept
)

// state returns the StateStore: s.State, else the files under s.Paths.
func (s *Service) state() (keyring.StateStore, error) {
	if s.State != nil {
		return s.State()
	}
	p, err := s.Paths()
	if err != nil {
		return nil, err
	}
	return keyring.FileState{Paths: p}, nil
}

// openIndex reads the account index.
func (s *Service) openIndex(ctx context.Context) (*keyring.Index, error) {
	st, err := s.state()
	if err != nil {
		return nil, err
	}
	return st.LoadIndex(ctx)
}
