package cmd

import (
	"context"
	"errors"
	"fmt"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/internal/safefile"
	"github.com/oauthctl/oauthctl/internal/suggest"
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
		errors.Is(err, keyring.ErrConfig), errors.Is(err, safefile.ErrUnsafe):
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
func errorText(err error) string { return errorTextFor(err, "") }

// errorTextFor is errorText for an error of the named command ("login",
// "client set"), which an unavailable keychain's message names: the user
// learns what could not be done, not which keychain call failed first.
func errorTextFor(err error, command string) string {
	if es, ok := err.(*ExitStatusError); ok && es.Err == nil {
		return "" // `exec`: the command's status, the command spoke for itself
	}
	msg := err.Error()
	var ce *cancelledError
	switch {
	case errors.As(err, &ce):
		msg = ce.Error()
	case errors.Is(err, context.Canceled):
		msg = "interrupted"
	}
	var ue *keyring.UnavailableError
	if errors.As(err, &ue) {
		return front.KeychainText(msg, ue, command)
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
		out += auth.Sanitize(suggest.Hint(up.Suggestions[0]), maxShownMessage) + "\n"
	}
	return out
}

// cancelledError is a choice the person declined (Esc in a picker): exit 130
// like Ctrl-C, since nothing was done, but said as what happened.
type cancelledError struct{ msg string }

func (e *cancelledError) Error() string { return e.msg }

// Is makes it an interruption for the exit code.
func (e *cancelledError) Is(target error) bool { return target == context.Canceled }
