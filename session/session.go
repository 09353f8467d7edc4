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

// WarningKind classifies a Warning so that callers can act on it without
// matching its text.
type WarningKind int

const (
	// WarnOther is any other warning.
	WarnOther WarningKind = iota
	// WarnRefreshRejected: the provider rejected the refresh token; an
	// unexpired access token was handed out all the same.
	WarnRefreshRejected
	// WarnRefreshExpiring: the refresh token runs out soon.
	WarnRefreshExpiring
	// WarnNotRefreshed: no refresh (or mint) was possible, or it failed
	// with the provider unreachable; the current access token was handed
	// out.
	WarnNotRefreshed
	// WarnShortLived: the provider issued a token valid for less than the
	// requested minimum lifetime.
	WarnShortLived
	// WarnIDTokenRejected: the provider returned an ID token on refresh
	// that failed the checks; it was not stored.
	WarnIDTokenRejected
	// WarnIDTokenKept: the provider sent no new ID token on refresh; the
	// stored one was handed out.
	WarnIDTokenKept
	// WarnIndex: the tokens are stored (or deleted) but the account index
	// could not be updated.
	WarnIndex
	// WarnConfig: a remark about the provider configuration.
	WarnConfig
	// WarnIdentity: a remark about the identity a login found.
	WarnIdentity
	// WarnNotRevoked: a token that should have been revoked was not.
	WarnNotRevoked
	// NoteRefreshNotKept (a note, not a warning): a re-login dropped the
	// previous refresh token, which was for other scopes.
	NoteRefreshNotKept
)

// Note reports whether a warning of kind k is only informative ("note: "
// rather than "warning: ").
func (k WarningKind) Note() bool { return k == NoteRefreshNotKept }

// Warning is a one-line human message for stderr about an operation that
// succeeded. Msg is built from sanitized data and never holds a secret.
type Warning struct {
	Kind WarningKind
	Msg  string
}

// String returns the message.
func (w Warning) String() string { return w.Msg }

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
