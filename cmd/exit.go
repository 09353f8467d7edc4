package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/safefile"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// Exit codes, documented in README.md; scripts branch on them.
const (
	ExitOK          = 0
	ExitError       = 1   // unexpected failure
	ExitUsage       = 2   // usage or configuration error
	ExitLogin       = 3   // login failed: denied, timed out, state/issuer mismatch, bad ID token
	ExitSignIn      = 4   // sign-in required: nothing stored, or the refresh token was rejected
	ExitUnavailable = 5   // provider or network unavailable
	ExitStorage     = 6   // secure storage unavailable
	ExitInterrupted = 130 // interrupted (Ctrl-C, SIGTERM)
)

// UsageError is a bad command line: unknown flag, wrong arguments (exit 2).
// session returns it too (an invalid account name), hence the alias.
type UsageError = session.UsageError

func usageErrorf(format string, args ...any) error {
	return &UsageError{Msg: fmt.Sprintf(format, args...)}
}

// HintError adds one hint line, printed under the error (e.g.
// "run: oauthctl login google"); session builds most of them.
type HintError = session.HintError

func withHint(err error, format string, args ...any) error {
	return session.WithHint(err, format, args...)
}

// ExitCode maps an error to the process exit code. It is the only place that
// does; lower layers return sentinel or typed errors that it classifies.
func ExitCode(err error) int {
	var ue *UsageError
	var es *ExitStatusError
	switch {
	case err == nil:
		return ExitOK
	case errors.As(err, &es):
		return es.Code
	case errors.Is(err, context.Canceled):
		return ExitInterrupted
	case errors.As(err, &ue), errors.Is(err, auth.ErrConfig), errors.Is(err, keyring.ErrAmbiguous),
		errors.Is(err, safefile.ErrUnsafe):
		return ExitUsage
	case errors.Is(err, keyring.ErrUnavailable):
		return ExitStorage
	case errors.Is(err, auth.ErrLoginFailed), errors.Is(err, auth.ErrTimeout),
		errors.Is(err, auth.ErrStateMismatch), errors.Is(err, auth.ErrIssuerMismatch):
		return ExitLogin
	case errors.Is(err, auth.ErrReauthRequired), errors.Is(err, keyring.ErrNotFound),
		errors.Is(err, keyring.ErrCorrupt):
		return ExitSignIn
	case errors.Is(err, auth.ErrUnavailable), errors.Is(err, keyring.ErrLockTimeout),
		errors.Is(err, context.DeadlineExceeded):
		return ExitUnavailable
	}
	return ExitError
}

// errorText renders err for stderr: "oauthctl: <message>" and at most one
// hint line. The message is kept to one line.
func errorText(err error) string {
	if es, ok := err.(*ExitStatusError); ok && es.Err == nil {
		return "" // `exec`: the command's status, the command spoke for itself
	}
	msg := err.Error()
	if errors.Is(err, context.Canceled) {
		msg = "interrupted"
	}
	// One line, and whatever provider text the message quotes goes through
	// the one sanitizer once more (docs/security.md §4.3).
	msg = auth.Sanitize(msg, maxShownMessage)
	out := "oauthctl: " + msg + "\n"
	var he *HintError
	var up *auth.UnknownProviderError
	switch {
	case errors.As(err, &he) && he.Hint != "":
		out += auth.Sanitize(he.Hint, maxShownMessage) + "\n"
	case errors.As(err, &up) && len(up.Suggestions) > 0:
		out += fmt.Sprintf("did you mean %q?\n", up.Suggestions[0])
	}
	return out
}
