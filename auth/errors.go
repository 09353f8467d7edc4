package auth

import (
	"errors"
	"fmt"
	"strings"

	"github.com/oauthctl/oauthctl/internal/sanitize"
)

// Sentinel errors that the cmd package maps to exit codes.
var (
	// ErrLoginFailed marks a login that ended without tokens: denied,
	// malformed response, state or issuer mismatch, bad ID token (exit 3).
	ErrLoginFailed = errors.New("login failed")
	// ErrTimeout is a login that saw no callback before its deadline (exit 3).
	ErrTimeout = errors.New("timed out waiting for the sign-in")
	// ErrStateMismatch is a callback whose state is missing or wrong.
	ErrStateMismatch = errors.New("unknown or stale sign-in request")
	// ErrIssuerMismatch is an authorization response or ID token from another
	// issuer than the one the login was started with (RFC 9207 mix-up defense).
	ErrIssuerMismatch = errors.New("issuer mismatch (possible mix-up attack)")
	// ErrReauthRequired means the stored grant can no longer be used and the
	// user must log in again (exit 4).
	ErrReauthRequired = errors.New("sign-in required")
	// ErrUnavailable marks a provider or network failure (exit 5).
	ErrUnavailable = errors.New("provider unavailable")
	// ErrConfig marks a usage or configuration problem (exit 2).
	ErrConfig = errors.New("configuration error")
)

// ConfigError is a problem in a providers.yaml file, with its position.
type ConfigError struct {
	Path  string
	Line  int
	Field string
	Msg   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	b.WriteString(e.Path)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// UnknownProviderError is a provider name that the catalogue does not hold.
type UnknownProviderError struct {
	Name  string
	Known []string
	// Suggestions are the known names Name is probably a typo of, closest
	// first (for a "did you mean" hint).
	Suggestions []string
}

func (e *UnknownProviderError) Error() string {
	return fmt.Sprintf("unknown provider %q (known: %s)", e.Name, strings.Join(e.Known, ", "))
}

// Is makes every UnknownProviderError match ErrConfig.
func (e *UnknownProviderError) Is(target error) bool { return target == ErrConfig }

// ProviderError is an OAuth error response (RFC 6749 §5.2, §4.1.2.1) from the
// provider. Code is the `error` value, the only part code may branch on;
// Description is sanitized and truncated, and safe to show.
type ProviderError struct {
	Code        string
	Description string
	// Status is the HTTP status of a token-endpoint response (0 for an
	// authorization response delivered to the callback).
	Status int
}

func (e *ProviderError) Error() string {
	msg := "provider returned " + e.Code
	if e.Code == "" {
		msg = fmt.Sprintf("provider answered HTTP %d without an OAuth error code", e.Status)
	}
	if e.Description != "" {
		msg += ": " + e.Description
	}
	return msg
}

// Sanitize is the one sanitizer for provider-supplied text shown to a
// person: the login summary, status, whoami, errors (docs/security.md §4.3).
// It makes the text safe for a terminal: C0 and C1 controls (ESC, CSI, CR,
// LF, NUL, DEL), format characters (bidi overrides and isolates, zero-width
// characters), line and paragraph separators and invalid UTF-8 become
// spaces, runs of space collapse, and the result is cut to max runes with an
// ellipsis. Letters of any script are kept.
func Sanitize(s string, max int) string {
	return sanitize.Line(s, max)
}
