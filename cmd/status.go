package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// StatusOptions are the inputs of `oauthctl status`.
type StatusOptions struct {
	IO *iostreams.IOStreams
	// Session carries the use cases (Factory.Session): the index, the
	// catalogue, the clock.
	Session *session.Service
	// Check verifies that an account can still produce an access token
	// (--check) and returns the warnings to print; production uses
	// session.Acquire, which may refresh.
	Check func(ctx context.Context, acct *keyring.Account) ([]session.Warning, error)

	Provider string
	JSON     bool
	Verify   bool // --check
}

// NewCmdStatus builds `oauthctl status`.
func NewCmdStatus(f *Factory, runF func(*StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IO, Session: f.Session()}
	opts.Check = func(ctx context.Context, acct *keyring.Account) ([]session.Warning, error) {
		_, warnings, err := opts.Session.Acquire(ctx, acct, session.AcquireOptions{MinTTL: DefaultMinTTL})
		return warnings, err
	}
	c := &cobra.Command{
		Use:   "status [PROVIDER]",
		Short: "Show the stored accounts and the state of their tokens",
		Long: `Show every stored account (or those of one provider): whether it is the
provider's default, how long its access token stays valid, whether it can be
refreshed, whether the provider asked for a new login, and its scopes. On a
terminal the accounts are grouped by provider, one line each; elsewhere (a
pipe, a file) the table keeps stable columns for scripts, and --json has
every field: provider, account, default, identity, subject, issuer, grant,
scopes, expires_at, expires_in_seconds, expired, refreshable,
refresh_expires_at, login_required, updated_at (and check with --check);
times are RFC 3339 UTC, and an unknown value is null.

status reads only the account index: it touches neither the keychain nor the
network. --check also makes sure each account can still produce an access
token, refreshing it if needed (as "oauthctl token" would), and prints one
line per account on stderr.

Exit status: 0; 4 when nothing is stored (for the provider; --json then
prints an empty list and exits 0), or with --check when an account needs a
new login (one the provider rejected counts even while its access token
lasts); with --check, 5 or 6 when the provider or the keychain could not be
reached.`,
		Example: `  oauthctl status
  oauthctl status google --check
  oauthctl status --json | jq -r '.accounts[] | select(.login_required) | .provider + " " + .account'`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			if runF != nil {
				return runF(opts)
			}
			return statusRun(c.Context(), opts)
		},
	}
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the accounts as one JSON object")
	c.Flags().BoolVar(&opts.Verify, "check", false, "also check that each account can still produce an access token (may refresh)")
	return c
}

// statusAccount is one account as `status --json` prints it. The field
// names are stable; times are RFC 3339 in UTC; a value oauthctl does not
// know (no expiry, no ID token's subject, an OAuth-only provider's issuer)
// is null, never "", as in `providers --json`.
type statusAccount struct {
	Provider         string       `json:"provider"`
	Account          string       `json:"account"`
	Default          bool         `json:"default"`
	Identity         *string      `json:"identity"`
	Subject          *string      `json:"subject"`
	Issuer           *string      `json:"issuer"`
	Grant            string       `json:"grant"`
	Scopes           []string     `json:"scopes"`
	ExpiresAt        *string      `json:"expires_at"`
	ExpiresInSeconds *int64       `json:"expires_in_seconds"`
	Expired          bool         `json:"expired"`
	Refreshable      bool         `json:"refreshable"`
	RefreshExpiresAt *string      `json:"refresh_expires_at"`
	LoginRequired    bool         `json:"login_required"`
	UpdatedAt        *string      `json:"updated_at"`
	Check            *statusCheck `json:"check,omitempty"`
}

// statusCheck is the --check result of one account.
type statusCheck struct {
	OK bool `json:"ok"`
	// ExitCode is what `oauthctl token` would exit with for the account.
	ExitCode int    `json:"exit_code"`
	Error    string `json:"error,omitempty"`
}

// statusRun prints the accounts. Its steps:
//  1. read the index and pick the provider's accounts (all without one);
//  2. with --check, acquire a token for each, a line per account on stderr,
//     then re-read the index, which a refresh may have changed;
//  3. print the table or the JSON object;
//  4. return the worst check result: exit 4 when an account needs a login.
func statusRun(ctx context.Context, opts *StatusOptions) error {
	ix, err := opts.Session.Index(ctx)
	if err != nil {
		return err
	}
	accts := session.ListAccounts(ix, opts.Provider)
	if len(accts) == 0 {
		return statusEmpty(opts)
	}

	var checks map[keyring.Key]*statusCheck
	var checkErr error
	if opts.Verify {
		checks, checkErr = statusVerify(ctx, opts, accts)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if ix2, err := opts.Session.Index(ctx); err == nil {
			ix = ix2
			if fresh := session.ListAccounts(ix, opts.Provider); len(fresh) > 0 {
				accts = fresh
			}
		}
	}

	now := opts.Session.Now()
	views := make([]statusAccount, 0, len(accts))
	for _, a := range accts {
		v := newStatusAccount(a, ix.Defaults[a.Provider] == a.Account, now)
		if v.Check = checks[a.Key()]; v.Check != nil && v.Check.ExitCode == ExitSignIn {
			v.LoginRequired = true
		}
		views = append(views, v)
	}
	if opts.JSON {
		if err := writeStatusJSON(opts, views); err != nil {
			return err
		}
	} else if opts.IO.OutTTY {
		writeStatusGrouped(opts, views)
	} else if err := writeStatusTable(opts, views); err != nil {
		return err
	}
	return checkErr
}

// statusEmpty reports that nothing is stored: exit 4 with the login hint,
// or a usage error for a provider name nobody knows. --json prints an empty
// list and succeeds: scripts parse it, and nothing stored is a valid state.
func statusEmpty(opts *StatusOptions) error {
	if opts.Provider != "" {
		cat, err := opts.Session.Catalogue()
		if err != nil {
			return err
		}
		if _, err := cat.Get(opts.Provider); err != nil {
			return err
		}
	}
	switch {
	case opts.JSON:
		return writeStatusJSON(opts, []statusAccount{})
	case opts.Provider == "":
		return withHint(fmt.Errorf("%w: no account is logged in", keyring.ErrNotFound),
			"run: oauthctl login PROVIDER (see: oauthctl providers)")
	}
	return withHint(fmt.Errorf("%w: not logged in to %s", keyring.ErrNotFound, opts.Provider),
		"run: oauthctl login %s", opts.Provider)
}

// statusVerify acquires a token for each account, one at a time (each may
// wait for its refresh lock), and prints one line per account on stderr.
// The returned error is the one that decides the exit code: an account that
// needs a login (exit 4) outranks an unreachable provider or keychain.
//
// An account the provider already rejected still hands out its unexpired
// access token (with a warning), but it needs a new login all the same: it
// is reported as "login required" (session.LoginRequired) and counts as
// exit 4, not as ok.
func statusVerify(ctx context.Context, opts *StatusOptions, accts []keyring.Account) (map[keyring.Key]*statusCheck, error) {
	svc := opts.Session
	out := map[keyring.Key]*statusCheck{}
	var worst error
	failed, relogin := 0, 0
	for i := range accts {
		a := &accts[i]
		warnings, err := opts.Check(ctx, a)
		if ctx.Err() != nil {
			return out, ctx.Err()
		}
		label := auth.Sanitize(a.Provider+" "+a.Account, 200)
		if err == nil {
			err = svc.LoginRequired(ctx, a, warnings)
		}
		if err == nil {
			out[a.Key()] = &statusCheck{OK: true}
			fmt.Fprintf(opts.IO.ErrOut, "%s: ok\n", label)
			for _, w := range warnings {
				fmt.Fprintf(opts.IO.ErrOut, "%s: warning: %s\n", label, auth.Sanitize(w.Msg, maxShownMessage))
			}
			continue
		}
		failed++
		var lr *session.LoginRequiredError
		if errors.As(err, &lr) {
			relogin++
		}
		code := ExitCode(err)
		msg := oneLine(err)
		out[a.Key()] = &statusCheck{OK: false, ExitCode: code, Error: msg}
		fmt.Fprintf(opts.IO.ErrOut, "%s: %s\n", label, auth.Sanitize(msg, maxShownMessage))
		if worst == nil || code == ExitSignIn && ExitCode(worst) != ExitSignIn {
			worst = err
		}
	}
	if worst == nil {
		return out, nil
	}
	problem := "cannot produce an access token"
	switch relogin {
	case 0:
	case failed:
		problem = "need a new login"
	default:
		problem = "cannot produce an access token or need a new login"
	}
	what := fmt.Sprintf("%d of %d accounts %s", failed, len(accts), problem)
	if failed == 1 && len(accts) == 1 {
		what = "the account cannot produce an access token"
		if relogin == 1 {
			what = "the account needs a new login"
		}
	}
	return out, &statusCheckError{msg: what, err: worst}
}

// statusCheckError is the summary error of `status --check`; it carries the
// exit code of the worst account.
type statusCheckError struct {
	msg string
	err error
}

func (e *statusCheckError) Error() string { return e.msg }

// Unwrap returns the worst account's error, which decides the exit code.
func (e *statusCheckError) Unwrap() error { return e.err }

// oneLine renders err and its hint (if any) on one line, for a per-account
// result.
func oneLine(err error) string {
	msg := strings.Join(strings.Fields(err.Error()), " ")
	var he *HintError
	if errors.As(err, &he) && he.Hint != "" {
		msg += " (" + he.Hint + ")"
	}
	return msg
}

func newStatusAccount(a keyring.Account, isDefault bool, now time.Time) statusAccount {
	v := statusAccount{
		Provider: a.Provider, Account: a.Account, Default: isDefault,
		Identity: nullable(a.Identity), Subject: nullable(a.Subject), Issuer: nullable(a.Issuer), Grant: a.Grant,
		Scopes: a.Scopes, Refreshable: a.Refreshable, LoginRequired: statusLoginRequired(a, now),
		ExpiresAt: rfc3339(a.Expiry), RefreshExpiresAt: rfc3339(a.RefreshExpiry), UpdatedAt: rfc3339(a.UpdatedAt),
	}
	if v.Grant == "" {
		v.Grant = auth.GrantAuthorizationCode
	}
	if v.Scopes == nil {
		v.Scopes = []string{}
	}
	if !a.Expiry.IsZero() {
		left := int64(a.Expiry.Sub(now) / time.Second)
		v.Expired = !now.Before(a.Expiry)
		if left < 0 || v.Expired {
			left = 0
		}
		v.ExpiresInSeconds = &left
	}
	return v
}

// statusLoginRequired reports whether the account needs `oauthctl login`
// before it can produce another token: the provider rejected its refresh
// token, the refresh token ran out, or the access token expired with no way
// to refresh it. A client_credentials account never needs a login.
func statusLoginRequired(a keyring.Account, now time.Time) bool {
	if a.Grant == auth.GrantClientCredentials {
		return false
	}
	expired := !a.Expiry.IsZero() && !now.Before(a.Expiry)
	return a.LoginRequired ||
		!a.RefreshExpiry.IsZero() && !now.Before(a.RefreshExpiry) && expired ||
		!a.Refreshable && expired
}

func rfc3339(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	s := t.UTC().Format(time.RFC3339)
	return &s
}

func writeStatusJSON(opts *StatusOptions, views []statusAccount) error {
	enc := json.NewEncoder(opts.IO.Out)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Accounts []statusAccount `json:"accounts"`
	}{views})
}

func writeStatusTable(opts *StatusOptions, views []statusAccount) error {
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PROVIDER\tACCOUNT\tDEFAULT\tEXPIRES IN\tREFRESHABLE\tLOGIN REQUIRED\tSCOPES")
	now := opts.Session.Now()
	for _, v := range views {
		def, login := "", ""
		if v.Default {
			def = "*"
		}
		if v.LoginRequired {
			login = "yes"
		}
		expires := "unknown"
		switch {
		case v.Expired:
			expires = "expired"
		case v.ExpiresAt != nil:
			t, _ := time.Parse(time.RFC3339, *v.ExpiresAt)
			expires = session.HumanDuration(t.Sub(now))
		}
		scopes := make([]string, len(v.Scopes))
		for i, s := range v.Scopes {
			scopes[i] = auth.Sanitize(s, 200)
		}
		scopeList := strings.Join(scopes, " ")
		if scopeList == "" {
			scopeList = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", auth.Sanitize(v.Provider, 64), auth.Sanitize(v.Account, 128),
			def, expires, yesNo(v.Refreshable), login, scopeList)
	}
	return tw.Flush()
}

// writeStatusGrouped prints the accounts for a person at a terminal, grouped
// by provider, one line per account that fits 80 columns:
//
//	google
//	  ✓ alice@example.com (default) — token valid 42m, refreshable
//	  ✓ bob@example.com — refreshes on next use
//	  ✗ carol@example.com — login required
//	    run: oauthctl login google --account carol@example.com
//
// An expired access token that will be refreshed is not an error, so it is
// not shown as "expired". The scopes follow on a dimmed line, shortened to
// fit; --json and the non-terminal table have them whole.
func writeStatusGrouped(opts *StatusOptions, views []statusAccount) {
	const width = 80
	w := opts.IO.Out
	cs := opts.IO.OutColorScheme()
	now := opts.Session.Now()
	icon := func(ok, warn bool) string {
		var sym string
		switch {
		case !ok:
			sym = cs.FailureIcon()
		case warn:
			sym = cs.WarningIcon()
		default:
			sym = cs.SuccessIcon()
		}
		if sym == "" {
			return "-"
		}
		return sym
	}
	last := ""
	for _, v := range views {
		provider := auth.Sanitize(v.Provider, 64)
		if v.Provider != last {
			fmt.Fprintln(w, cs.Bold(provider))
			last = v.Provider
		}
		name := auth.Sanitize(v.Account, 128)
		identity := ""
		if v.Identity != nil {
			identity = *v.Identity
		}
		if identity != "" && identity != v.Account {
			name += " (" + auth.Sanitize(identity, 128) + ")"
		}
		if v.Default {
			name += " (default)"
		}
		var state, fix string
		ok, warn := true, false
		switch {
		case v.Check != nil && !v.Check.OK && v.Check.ExitCode != ExitSignIn:
			ok, state = false, "check failed (see above)"
		case v.LoginRequired:
			ok, state = false, "login required"
			fix = "oauthctl login " + provider
			if !v.Default || identity != v.Account {
				fix += " --account " + auth.Sanitize(v.Account, 128)
			}
		case v.Grant == auth.GrantClientCredentials && v.Expired:
			state = "client credentials, new token on next use"
		case v.Expired && v.Refreshable:
			state = "refreshes on next use"
		case v.ExpiresAt == nil:
			state = "token has no expiry"
		default:
			t, _ := time.Parse(time.RFC3339, *v.ExpiresAt)
			state = "token valid " + session.HumanDuration(t.Sub(now))
			if v.Grant == auth.GrantClientCredentials {
				state += ", client credentials"
			} else if v.Refreshable {
				state += ", refreshable"
			} else {
				warn = true
				state += ", not refreshable"
			}
		}
		// Shorten the name, never the state.
		name = ellipsize(name, max(12, width-4-len([]rune(" — "+state))))
		fmt.Fprintf(w, "  %s %s — %s\n", icon(ok, warn), name, state)
		if fix != "" {
			fmt.Fprintln(w, "    run: "+fix)
		}
		if len(v.Scopes) > 0 {
			scopes := make([]string, len(v.Scopes))
			for i, s := range v.Scopes {
				scopes[i] = auth.Sanitize(s, 200)
			}
			fmt.Fprintln(w, "    "+cs.Dim(ellipsizeEnd("scopes: "+strings.Join(scopes, " "), width-4)))
		}
	}
}

// ellipsizeEnd shortens s to n runes, ending with "…".
func ellipsizeEnd(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
