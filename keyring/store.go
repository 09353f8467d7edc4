// Package keyring keeps oauthctl's credentials: the Store interface with its
// OS-keychain and in-memory implementations, the non-secret account index,
// and the per-account refresh lock. Secrets live only in the OS keychain
// (or, with OAUTHCTL_STORE=vault, in Vault: package keyring/vault, kept
// apart so that keyring links no net/http); there is no plaintext fallback.
package keyring

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode"
)

// Errors that callers branch on with errors.Is.
var (
	// ErrNotFound means nothing is stored under the key (exit 4: log in).
	ErrNotFound = errors.New("no stored credentials")
	// ErrCorrupt means the stored item cannot be read back intact: bad JSON,
	// a digest mismatch, a missing chunk or an unknown version (exit 4; a new
	// login overwrites it).
	ErrCorrupt = errors.New("stored credentials unreadable")
	// ErrUnavailable means the secure storage cannot be used: no Secret
	// Service, locked keychain, a timeout or a failed write (exit 6).
	ErrUnavailable = errors.New("secure storage unavailable")
)

// Key names one stored account of one provider.
type Key struct {
	Provider string
	Account  string
}

func (k Key) String() string { return k.Provider + ":" + k.Account }

// Record is the secret part of a token set. It never goes to a file, a log
// or an error message.
type Record struct {
	AccessToken  string    `json:"access_token"`
	RefreshToken string    `json:"refresh_token,omitempty"`
	IDToken      string    `json:"id_token,omitempty"`
	TokenType    string    `json:"token_type,omitempty"`
	Expiry       time.Time `json:"expiry,omitzero"`
	// RefreshExpiry is when the refresh token runs out, from the provider's
	// refresh_token_expires_in (Google, GitHub); zero when unknown.
	RefreshExpiry time.Time `json:"refresh_expiry,omitzero"`
	Scopes        []string  `json:"scopes,omitempty"`
	// IssuedAt is when the access token was issued, on oauthctl's clock:
	// Expiry - IssuedAt is the lifetime the provider granted (expires_in),
	// from which the default --min-ttl margin adapts. Zero when unknown
	// (records written before it was kept).
	IssuedAt time.Time `json:"issued_at,omitzero"`
	// Binding is where these tokens may be sent, as the login that issued
	// them resolved it. It lives here, in the keychain, which other users
	// cannot write, as well as in the account index, which is a file: a
	// change to the index alone must never redirect a token or secret
	// (docs/security.md §3.6). Zero in records written before it existed.
	Binding Binding `json:"binding,omitzero"`
}

// Binding is the issuer, client and endpoints an account's tokens were
// issued for and may be sent to.
type Binding struct {
	Issuer             string `json:"issuer,omitempty"`
	TokenURL           string `json:"token_url,omitempty"`
	ClientID           string `json:"client_id,omitempty"`
	RevocationURL      string `json:"revocation_url,omitempty"`
	GrantRevocationURL string `json:"grant_revocation_url,omitempty"`
	UserinfoURL        string `json:"userinfo_url,omitempty"`
}

// BindingOf is the binding an index entry states.
func BindingOf(a *Account) Binding {
	return Binding{Issuer: a.Issuer, TokenURL: a.TokenURL, ClientID: a.ClientID,
		RevocationURL: a.RevocationURL, GrantRevocationURL: a.GrantRevocationURL, UserinfoURL: a.UserinfoURL}
}

// IsZero reports a record without a binding (written by an older oauthctl).
func (b Binding) IsZero() bool { return b == Binding{} }

// Diff lists the fields where b and other differ, "" when they agree.
func (b Binding) Diff(other Binding) []string {
	var out []string
	for _, f := range []struct{ name, a, b string }{
		{"issuer", b.Issuer, other.Issuer}, {"token endpoint", b.TokenURL, other.TokenURL},
		{"client ID", b.ClientID, other.ClientID}, {"revocation endpoint", b.RevocationURL, other.RevocationURL},
		{"grant revocation endpoint", b.GrantRevocationURL, other.GrantRevocationURL},
		{"userinfo endpoint", b.UserinfoURL, other.UserinfoURL},
	} {
		if f.a != f.b {
			out = append(out, f.name)
		}
	}
	return out
}

// Clone returns a deep copy.
func (r *Record) Clone() *Record {
	c := *r
	c.Scopes = slices.Clone(r.Scopes)
	return &c
}

// Store keeps token records and client secrets.
type Store interface {
	// Load returns the record under key, ErrNotFound, ErrCorrupt or an
	// ErrUnavailable error.
	Load(ctx context.Context, key Key) (*Record, error)
	// Save writes the record; it returns only once the write is durable in
	// the backend.
	Save(ctx context.Context, key Key, rec *Record) error
	// Delete removes the record; deleting a missing record is not an error.
	Delete(ctx context.Context, key Key) error

	// ClientSecret returns the stored client secret of a provider or ErrNotFound.
	ClientSecret(ctx context.Context, provider string) (string, error)
	// SetClientSecret stores a provider's client secret.
	SetClientSecret(ctx context.Context, provider, secret string) error
	// DeleteClientSecret removes it; a missing secret is not an error.
	DeleteClientSecret(ctx context.Context, provider string) error
}

// ValidateAccount checks an account name: 1-128 printable characters without
// '#' (which names chunk items) or ':' (the key separator).
func ValidateAccount(name string) error {
	if name == "" {
		return errors.New("account name is empty")
	}
	if len(name) > 128 {
		return errors.New("account name is longer than 128 bytes")
	}
	if strings.ContainsAny(name, "#:") {
		return fmt.Errorf("account name %q must not contain '#' or ':'", name)
	}
	for _, r := range name {
		if !unicode.IsPrint(r) || unicode.IsSpace(r) && r != ' ' {
			return fmt.Errorf("account name %q has a control character", name)
		}
	}
	return nil
}

// UnavailableError explains why the keychain cannot be used and how to fix it.
type UnavailableError struct {
	// Backend is the storage that failed: "" for the OS keychain,
	// BackendVault for Vault.
	Backend string
	Op      string // "read", "write", "delete"
	Msg     string // what went wrong, without secrets
	Hint    string // how to fix it
	Err     error
}

// BackendVault is UnavailableError.Backend for Vault.
const BackendVault = "Vault"

func (e *UnavailableError) Error() string {
	s := "secure storage unavailable: " + e.Op + ": " + e.Msg
	if e.Hint != "" {
		s += " (" + e.Hint + ")"
	}
	return s
}

// Unwrap returns the backend error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes every UnavailableError match ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
