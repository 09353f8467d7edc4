package front

import (
	"context"
	"errors"
	"strings"

	"github.com/oauthctl/oauthctl/internal/sanitize"
	"github.com/oauthctl/oauthctl/keyring"
)

// The exit codes of the errors Serve returns (cmd's table; TestErrorTextAgrees).
const (
	exitError       = 1
	exitKeychain    = 6
	exitInterrupted = 130
)

// ErrorText is how oauthctl reports an error Serve returned, and its exit
// code: the bytes and code the full program gives for the same error
// (cmd's errorTextFor and ExitCode, TestErrorTextAgrees), so that the front
// binary can report it itself rather than hand over to the full program,
// which would only meet it again.
func ErrorText(err error) (string, int) {
	var ue *keyring.UnavailableError
	switch {
	case errors.Is(err, context.Canceled):
		return "oauthctl: interrupted\n", exitInterrupted
	case errors.As(err, &ue):
		return KeychainText(err.Error(), ue, "token"), exitKeychain
	}
	return "oauthctl: " + sanitize.Line(err.Error(), MaxShownMessage) + "\n", exitError
}

// KeychainText is the error report for an unavailable keychain (or Vault)
// whose error message is msg, during command: one line that says what could
// not be done, and one hint line (KeychainMessage).
func KeychainText(msg string, ue *keyring.UnavailableError, command string) string {
	// What the wrappers say was being done ("storing the new tokens of
	// google:alice"), without the keychain call's own name.
	prefix := ""
	if i := strings.Index(msg, ue.Error()); i > 0 {
		prefix = strings.TrimSuffix(msg[:i], ": ")
	}
	msg, hint := KeychainMessage(ue, command, prefix)
	out := "oauthctl: " + sanitize.Line(msg, MaxShownMessage) + "\n"
	if hint != "" {
		out += hint + "\n"
	}
	return out
}

// KeychainMessage is the one line that says what could not be done because
// the keychain is unavailable, and the one hint line with the command that
// fixes it (runnable as shown: no shell variables the user has not set).
// The line names what the user asked for: the command, or what the error's
// wrappers say was being done (prefix) — except during a login, which reads
// the keychain before the browser opens (a client secret, or none for a
// public client) only to find out early that it can store the tokens.
func KeychainMessage(ue *keyring.UnavailableError, command, prefix string) (msg, hint string) {
	what := ""
	switch {
	case command == "login" && (prefix == "" || strings.Contains(prefix, "client secret")):
		what = "cannot sign in: the keychain, which keeps the tokens"
	case prefix != "":
		what = prefix
	case command == "token", command == "exec", command == "whoami", command == "git-credential", command == "kube-credential":
		what = "cannot get a token"
	case command == "logout":
		what = "cannot log out"
	case command == "client set":
		what = "cannot store the client secret"
	case command == "client unset":
		what = "cannot remove the client secret"
	case command == "status":
		what = "cannot check the accounts"
	}
	reason := "the keychain is unavailable: " + ue.Msg
	switch {
	case strings.HasPrefix(ue.Msg, "the keychain "):
		reason = ue.Msg // "the keychain is locked"
	case ue.Backend != "":
		// Vault's messages name Vault and the path ("cannot reach Vault
		// at ...", "permission denied: the Vault token's policy lacks ...").
		reason = ue.Msg
		if strings.HasSuffix(what, "the keychain, which keeps the tokens") {
			what = "cannot sign in"
		}
	}
	switch {
	case what == "":
		msg = reason
	case strings.HasSuffix(what, "the keychain, which keeps the tokens"):
		if rest, ok := strings.CutPrefix(ue.Msg, "the keychain "); ok {
			msg = what + ", " + rest // "..., is locked"
		} else {
			msg = what + ", is unavailable: " + ue.Msg
		}
	default:
		msg = what + ": " + reason
	}
	const unlock = "gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)"
	switch {
	case ue.Msg == "no D-Bus session bus":
		hint = "run: dbus-run-session -- bash, and in it: " + unlock
	case ue.Msg == "cannot connect to the D-Bus session bus":
		hint = "DBUS_SESSION_BUS_ADDRESS points to no running bus; start a new one with: dbus-run-session -- bash"
	case ue.Msg == "no Secret Service on the session bus":
		hint = "install gnome-keyring (Debian: apt install gnome-keyring), then run: " + unlock
	case ue.Msg == "the keychain is locked":
		hint = "unlock it in your desktop's prompt or run: " + unlock
	case strings.HasPrefix(ue.Msg, "the keychain did not answer"):
		hint = "a keychain prompt may be waiting on your desktop: unlock it and try again"
	default:
		hint = ue.Hint
	}
	return msg, hint
}
