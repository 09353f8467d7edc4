package cmd

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestExitCode maps every kind of error the layers below return to the
// documented exit codes, bare and wrapped the way commands wrap them.
func TestExitCode(t *testing.T) {
	pe := &auth.ProviderError{Code: "invalid_grant", Description: "expired", Status: 400}
	tests := []struct {
		name string
		err  error
		want int
	}{
		{"nil", nil, ExitOK},
		{"plain error", errors.New("boom"), ExitError},
		{"bare provider error", &auth.ProviderError{Code: "weird"}, ExitError},

		{"usage error", &UsageError{Msg: "bad flag"}, ExitUsage},
		{"config error", &auth.ConfigError{Path: "p.yaml", Line: 3, Field: "issuer", Msg: "bad"}, ExitUsage},
		{"unknown provider", &auth.UnknownProviderError{Name: "x", Known: []string{"google"}}, ExitUsage},
		{"ErrConfig", auth.ErrConfig, ExitUsage},
		{"client rejected (invalid_client)", &auth.ClientAuthError{ProviderError: &auth.ProviderError{Code: "invalid_client"}}, ExitUsage},
		{"ambiguous account", fmt.Errorf("%w: name a provider", keyring.ErrAmbiguous), ExitUsage},
		{"relative OAUTHCTL_LOCK_DIR", &keyring.ConfigError{Msg: `OAUTHCTL_LOCK_DIR must be an absolute path, not "x"`}, ExitUsage},

		{"login failed", auth.ErrLoginFailed, ExitLogin},
		{"login timeout", auth.ErrTimeout, ExitLogin},
		{"state mismatch", auth.ErrStateMismatch, ExitLogin},
		{"issuer mismatch", auth.ErrIssuerMismatch, ExitLogin},
		{"bad ID token", &auth.IDTokenError{Reason: "expired", Clock: true}, ExitLogin},
		{"code rejected", &auth.CodeRejectedError{ProviderError: pe}, ExitLogin},
		{"access denied", &auth.AuthorizationError{ProviderError: &auth.ProviderError{Code: "access_denied"}}, ExitLogin},

		{"reauth required", auth.ErrReauthRequired, ExitSignIn},
		{"refresh token rejected", &auth.GrantRejectedError{ProviderError: pe}, ExitSignIn},
		{"nothing stored", keyring.ErrNotFound, ExitSignIn},
		{"stored credentials corrupt", fmt.Errorf("%w: google:a: digest mismatch", keyring.ErrCorrupt), ExitSignIn},

		{"provider unavailable", auth.ErrUnavailable, ExitUnavailable},
		{"provider 503", &auth.UnavailableError{Msg: "503", Status: 503}, ExitUnavailable},
		{"authorization server_error", &auth.AuthorizationError{ProviderError: &auth.ProviderError{Code: "server_error"}}, ExitUnavailable},
		{"refresh lock timeout", fmt.Errorf("%w after 60s", keyring.ErrLockTimeout), ExitUnavailable},
		{"deadline", context.DeadlineExceeded, ExitUnavailable},
		{"HTTP timeout", &auth.UnavailableError{Msg: "timeout", Err: context.DeadlineExceeded}, ExitUnavailable},

		{"keychain unavailable", &keyring.UnavailableError{Op: "read", Msg: "no Secret Service on the session bus"}, ExitStorage},
		{"ErrUnavailable of the keyring", keyring.ErrUnavailable, ExitStorage},

		{"interrupted", context.Canceled, ExitInterrupted},
		{"cancelled choice", &cancelledError{msg: "cancelled"}, ExitInterrupted},
		{"interrupted during HTTP", &auth.UnavailableError{Msg: "x", Err: context.Canceled}, ExitInterrupted},

		{"exec status", &ExitStatusError{Code: 42}, 42},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := ExitCode(tt.err); got != tt.want {
				t.Errorf("ExitCode(%v) = %d, want %d", tt.err, got, tt.want)
			}
			if tt.err == nil {
				return
			}
			wrapped := fmt.Errorf("doing something: %w", withHint(tt.err, "run: oauthctl login google"))
			if _, ok := tt.err.(*ExitStatusError); ok {
				wrapped = tt.err
			}
			if got := ExitCode(wrapped); got != tt.want {
				t.Errorf("ExitCode(wrapped %v) = %d, want %d", tt.err, got, tt.want)
			}
		})
	}
}

// TestErrorText: one line "oauthctl: ..." and at most one hint line.
func TestErrorText(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want string
	}{
		{"plain", errors.New("boom"), "oauthctl: boom\n"},
		{"with hint", withHint(keyring.ErrNotFound, "run: oauthctl login %s", "google"), "oauthctl: no stored credentials\nrun: oauthctl login google\n"},
		{"wrapped hint", fmt.Errorf("reading: %w", withHint(errors.New("x"), "try y")), "oauthctl: reading: x\ntry y\n"},
		{"multi-line message", errors.New("line one\nline two\n\n  three"), "oauthctl: line one line two three\n"},
		{"interrupted", fmt.Errorf("waiting: %w", context.Canceled), "oauthctl: interrupted\n"},
		{"cancelled choice", fmt.Errorf("choosing: %w", &cancelledError{msg: "cancelled: no provider chosen, nothing was done"}),
			"oauthctl: cancelled: no provider chosen, nothing was done\n"},
		{"exec status only", &ExitStatusError{Code: 3}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := errorText(tt.err); got != tt.want {
				t.Errorf("errorText = %q, want %q", got, tt.want)
			}
		})
	}
}

// TestRunUsageErrors: command-line mistakes print one line on stderr,
// nothing on stdout, and exit 2.
func TestRunUsageErrors(t *testing.T) {
	tests := []struct {
		args []string
		want string
	}{
		{[]string{"nosuch"}, "oauthctl: unknown command \"nosuch\" for \"oauthctl\" (see: oauthctl --help)\n"},
		{[]string{"--bogus"}, "oauthctl: unknown flag: --bogus (see: oauthctl --help)\n"},
		{[]string{"providers", "extra"}, "oauthctl: unknown command \"extra\" for \"oauthctl providers\" (see: oauthctl providers --help)\n"},
		{[]string{"providers", "ad", "x"}, "oauthctl: unknown command \"ad\" for \"oauthctl providers\"\ndid you mean \"add\"?\n"},
		{[]string{"client", "set"}, "oauthctl: client set takes 1 argument, PROVIDER (usage: oauthctl client set PROVIDER [flags])\n"},
		{[]string{"client", "unset", "a", "b"}, "oauthctl: client unset takes 1 argument, PROVIDER (usage: oauthctl client unset PROVIDER [flags])\n"},
		{[]string{"login", "a", "b"}, "oauthctl: login takes at most 1 argument, [PROVIDER] (usage: oauthctl login [PROVIDER] [flags])\n"},
		{[]string{"logout"}, "oauthctl: logout takes 1 argument, PROVIDER (usage: oauthctl logout PROVIDER [flags])\n"},
		{[]string{"token", "a", "b"}, "oauthctl: token takes at most 1 argument, [PROVIDER] (usage: oauthctl token [PROVIDER] [flags])\n"},
		{[]string{"status", "a", "b"}, "oauthctl: status takes at most 1 argument, [PROVIDER] (usage: oauthctl status [PROVIDER] [flags])\n"},
		{[]string{"whoami", "a", "b"}, "oauthctl: whoami takes at most 1 argument, [PROVIDER] (usage: oauthctl whoami [PROVIDER] [flags])\n"},
		{[]string{"switch", "a"}, "oauthctl: switch takes 2 arguments, PROVIDER ACCOUNT (usage: oauthctl switch PROVIDER ACCOUNT [flags])\n"},
		{[]string{"exec", "a", "b", "--", "true"}, "oauthctl: exec takes one PROVIDER before -- (usage: oauthctl exec [PROVIDER] [flags] -- COMMAND [ARG...])\n"},
		{[]string{"exec", "a", "--"}, "oauthctl: no command given: oauthctl exec PROVIDER -- COMMAND [ARG...]\n"},
		{[]string{"tokn"}, "oauthctl: unknown command \"tokn\" for \"oauthctl\"\ndid you mean \"token\"?\n"},
		{[]string{"client", "sett", "x"}, "oauthctl: unknown command \"sett\" for \"oauthctl client\"\ndid you mean \"set\"?\n"},
		{[]string{"help", "tokn"}, "oauthctl: no help for \"tokn\": no such command or topic\ndid you mean \"token\"?\n"},
		{[]string{"help", "enviroment"}, "oauthctl: no help for \"enviroment\": no such command or topic\ndid you mean \"environment\"?\n"},
		{[]string{"help", "client", "sett"}, "oauthctl: no help for \"client sett\": no such command or topic\ndid you mean \"set\"?\n"},
		{[]string{"help", "kubernetes"}, "oauthctl: no help for \"kubernetes\": no such command or topic (see: oauthctl help)\n"},
		{[]string{"completion", "tcsh"}, "oauthctl: completion: unknown shell \"tcsh\" (supported: bash, fish, powershell, zsh)\n"},
		{[]string{"token", "--json", "--header"}, "oauthctl: --json and --header cannot be used together\n"},
		{[]string{"token", "--header", "--id-token", "--json"}, "oauthctl: --header, --id-token and --json cannot be used together\n"},
		{[]string{"token", "--id-token", "--header=true"}, "oauthctl: --id-token and --header cannot be used together\n"},
		{[]string{"exec", "a"}, "oauthctl: no command given: oauthctl exec PROVIDER -- COMMAND [ARG...]\n"},
		{[]string{"providers", "--json=maybe"}, "oauthctl: --json=\"maybe\": use --json, --json=true or --json=false (see: oauthctl providers --help)\n"},
		{[]string{"token", "--min-ttl", "5"}, "oauthctl: --min-ttl \"5\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl token --help)\n"},
		{[]string{"login", "x", "--timeout=soon"}, "oauthctl: --timeout \"soon\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl login --help)\n"},
		// The value as given, quoted (a stray space or a control shows),
		// and a well-formed duration out of range said to be too large.
		{[]string{"token", "x", "--min-ttl", " 5s"}, "oauthctl: --min-ttl \" 5s\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl token --help)\n"},
		{[]string{"token", "x", "--min-ttl", "5s\t"}, "oauthctl: --min-ttl \"5s\\t\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl token --help)\n"},
		{[]string{"token", "x", "--min-ttl", "5s\x1b[2J\u202e"}, "oauthctl: --min-ttl \"5s\\x1b[2J\\u202e\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl token --help)\n"},
		{[]string{"token", "x", "--min-ttl", strings.Repeat("9", 50)}, "oauthctl: --min-ttl \"" + strings.Repeat("9", 40) + "…\" is not a duration: give a number and a unit, e.g. 30s, 5m or 1h (see: oauthctl token --help)\n"},
		{[]string{"token", "x", "--min-ttl", "99999999h"}, "oauthctl: --min-ttl \"99999999h\" is too large: at most 2562047h (see: oauthctl token --help)\n"},
		{[]string{"token", "x", "--min-ttl=2562048h"}, "oauthctl: --min-ttl \"2562048h\" is too large: at most 2562047h (see: oauthctl token --help)\n"},
		{[]string{"login", "x", "--timeout", "1.5h99999999999999999999ns"}, "oauthctl: --timeout \"1.5h99999999999999999999ns\" is too large: at most 2562047h (see: oauthctl login --help)\n"},
		{[]string{"login", "x", "--timeout=-99999999h"}, "oauthctl: --timeout \"-99999999h\" is too large a negative duration (the limit is -2562047h) (see: oauthctl login --help)\n"},
		{[]string{"token", "--acount", "x"}, "oauthctl: unknown flag: --acount\ndid you mean \"--account\"?\n"},
		{[]string{"token", "google", "--acount=x"}, "oauthctl: unknown flag: --acount\ndid you mean \"--account\"?\n"},
		{[]string{"login", "google", "--tmeout", "5m"}, "oauthctl: unknown flag: --tmeout\ndid you mean \"--timeout\"?\n"},
		{[]string{"providers", "--jsn"}, "oauthctl: unknown flag: --jsn\ndid you mean \"--json\"?\n"},
		{[]string{"token", "--zzzzzz"}, "oauthctl: unknown flag: --zzzzzz (see: oauthctl token --help)\n"},
		{[]string{"token", "-Z"}, "oauthctl: unknown shorthand flag: 'Z' in -Z (see: oauthctl token --help)\n"},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.args), func(t *testing.T) {
			io, _, out, errOut := iostreams.Test()
			f := &Factory{IO: io, Getenv: func(string) string { return "" }}
			code := Run(t.Context(), f, tt.args)
			if code != ExitUsage {
				t.Errorf("exit code = %d, want %d", code, ExitUsage)
			}
			if out.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", out)
			}
			if errOut.String() != tt.want {
				t.Errorf("stderr:\n got %q\nwant %q", errOut, tt.want)
			}
		})
	}
}

// TestRunInterrupted: a cancelled root context is exit 130 with one line.
func TestRunInterrupted(t *testing.T) {
	io, _, out, errOut := iostreams.Test()
	f := &Factory{IO: io, Getenv: func(string) string { return "" },
		Catalogue: func() (*auth.Catalogue, error) { return nil, fmt.Errorf("loading: %w", context.Canceled) }}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	code := Run(ctx, f, []string{"providers"})
	if code != ExitInterrupted || out.Len() != 0 || errOut.String() != "oauthctl: interrupted\n" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 130, nothing, \"oauthctl: interrupted\\n\"", code, out, errOut)
	}
}

// TestRunVersion: --version prints the version on stdout and exits 0.
func TestRunVersion(t *testing.T) {
	io, _, out, errOut := iostreams.Test()
	f := &Factory{IO: io, Getenv: func(string) string { return "" }, Version: "1.2.3"}
	if code := Run(t.Context(), f, []string{"--version"}); code != ExitOK {
		t.Fatalf("exit code %d, stderr %q", code, errOut)
	}
	if out.String() != "oauthctl 1.2.3\n" || errOut.Len() != 0 {
		t.Errorf("stdout %q, stderr %q; want \"oauthctl 1.2.3\\n\" and nothing", out, errOut)
	}
}

// TestKeychainMessage: an unavailable keychain is one line naming what the
// user asked for (never the keychain call that failed first, never
// "reading the client secret" in a login) and one hint line with a command
// that runs as shown (no shell variables).
func TestKeychainMessage(t *testing.T) {
	t.Parallel()
	noBus := &keyring.UnavailableError{Op: "read", Msg: "no D-Bus session bus", Hint: "old hint"}
	locked := &keyring.UnavailableError{Op: "write", Msg: "the keychain is locked"}
	tests := []struct {
		name, command string
		err           error
		want          string
	}{
		{"login reading a secret first", "login", fmt.Errorf("reading the corp client secret: %w", noBus),
			"oauthctl: cannot sign in: the keychain, which keeps the tokens, is unavailable: no D-Bus session bus\nrun: dbus-run-session -- bash, and in it: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n"},
		{"login storing", "login", fmt.Errorf("saving the tokens of corp:alice: %w", locked),
			"oauthctl: saving the tokens of corp:alice: the keychain is locked\nunlock it in your desktop's prompt or run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n"},
		{"token", "token", noBus, "oauthctl: cannot get a token: the keychain is unavailable: no D-Bus session bus\nrun: dbus-run-session -- bash, and in it: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n"},
		{"client unset", "client unset", locked, "oauthctl: cannot remove the client secret: the keychain is locked\nunlock it in your desktop's prompt or run: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n"},
		{"unknown reason keeps its hint", "", noBus2, "oauthctl: the keychain is unavailable: it broke\ntry again\n"},
	}
	for _, tt := range tests {
		got := errorTextFor(tt.err, tt.command)
		if got != tt.want {
			t.Errorf("%s:\n got %q\nwant %q", tt.name, got, tt.want)
		}
		if strings.Contains(got, "$") || strings.Count(got, "\n") > 2 || strings.Contains(got, "read:") || strings.Contains(got, "write:") {
			t.Errorf("%s: %q has a shell variable, more than two lines, or the call's name", tt.name, got)
		}
	}
}

var noBus2 = &keyring.UnavailableError{Op: "delete", Msg: "it broke", Hint: "try again"}
