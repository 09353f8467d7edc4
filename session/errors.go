package session

import (
	"fmt"

	"github.com/oauthctl/oauthctl/auth"
)

// UsageError is a bad command line or argument (exit 2).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// HintError adds one hint line, printed under the error (e.g.
// "run: oauthctl login google").
type HintError struct {
	Err  error
	Hint string
}

func (e *HintError) Error() string { return e.Err.Error() }

// Unwrap returns the wrapped error.
func (e *HintError) Unwrap() error { return e.Err }

// WithHint wraps err with a hint line.
func WithHint(err error, format string, args ...any) error {
	return &HintError{Err: err, Hint: fmt.Sprintf(format, args...)}
}

// ReauthError is a sign-in-required error (exit 4) whose text is a whole
// sentence that does not start with "sign-in required: ".
type ReauthError struct{ Msg string }

func (e *ReauthError) Error() string { return e.Msg }

// Unwrap returns auth.ErrReauthRequired.
func (e *ReauthError) Unwrap() error { return auth.ErrReauthRequired }
