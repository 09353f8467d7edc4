// Package front is `oauthctl token` on its hot path, without cobra: it
// parses the plain command lines scripts use, answers from stored state
// alone (session/hot: the kernel keyring copy, else one keychain read) and
// prints the token in the format asked for. cmd's token command runs it
// first, and so does the small `oauthctl` front binary (cmd/oauthctl), which
// starts the full program only when this package cannot answer. The two
// print the token, its warnings and the errors Serve returns with the same
// code (ErrorText agrees with cmd's error report: TestErrorTextAgrees).
//
// It must stay light (see session/hot): no cobra, no auth, no net/http.
package front

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/sanitize"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// Request is a plain `token` command line.
type Request struct {
	Provider string
	Account  string
	// MinTTL is --min-ttl, hot.DefaultMinTTL when not given (MinTTLSet
	// false).
	MinTTL    time.Duration
	MinTTLSet bool
	Header    bool
	JSON      bool
}

// Parse parses the arguments after "token" when they are one of the plain
// forms scripts use: at most one PROVIDER, --account/-a NAME, --min-ttl
// DURATION, and one of --header or --json, each at most once. Its result is
// exactly what cobra would bind (cmd's TestParseTokenFast), and nothing it
// accepts is an error for cobra. Anything else (--help, --force-refresh,
// --id-token, "--", a repeated or unknown flag, a bad duration, a value
// that looks like a flag) returns ok=false: the full command line parser
// takes it, with its errors.
func Parse(args []string) (req Request, ok bool) {
	req = Request{MinTTL: hot.DefaultMinTTL}
	seen := map[string]bool{}
	var positional int
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-") {
			if positional++; positional > 1 || a == "" {
				return Request{}, false
			}
			req.Provider = a
			continue
		}
		name, value, hasValue := strings.Cut(a, "=")
		switch name {
		case "-a":
			name = "--account"
		case "--account", "--min-ttl", "--header", "--json":
		default:
			return Request{}, false
		}
		if seen[name] {
			return Request{}, false
		}
		seen[name] = true
		switch name {
		case "--header", "--json":
			if hasValue {
				return Request{}, false
			}
			continue
		}
		if !hasValue {
			if i+1 >= len(args) {
				return Request{}, false
			}
			i++
			value = args[i]
		}
		if strings.HasPrefix(value, "-") {
			return Request{}, false
		}
		switch name {
		case "--account":
			req.Account = value
		case "--min-ttl":
			d, err := time.ParseDuration(value)
			if err != nil || d < 0 {
				return Request{}, false
			}
			req.MinTTL = d
		}
	}
	if seen["--header"] && seen["--json"] {
		return Request{}, false
	}
	req.Header, req.JSON, req.MinTTLSet = seen["--header"], seen["--json"], seen["--min-ttl"]
	return req, true
}

// Deps are what Serve reads (hot.Deps).
type Deps = hot.Deps

// Serve answers req from stored state alone (hot.Answer) and prints the
// token on out and any warnings on errOut. handled=false means it wrote
// nothing and the caller takes the full path, then fills the kernel cache
// with index (see hot.Answer). handled=true with an error means: report it
// (ErrorText), do not take the full path: the output could not be written,
// the keychain is unavailable, or ctx ended.
func Serve(ctx context.Context, d Deps, req Request, out, errOut io.Writer) (handled bool, index []byte, err error) {
	t, index, err := hot.Answer(ctx, d, hot.Request{Provider: req.Provider, Account: req.Account,
		Options: hot.Options{MinTTL: req.MinTTL, MinTTLSet: req.MinTTLSet}})
	switch {
	case err != nil:
		return true, index, err
	case t == nil:
		return false, index, nil
	}
	return true, index, printToken(out, errOut, req, d.Now(), t.Account, t.Record, t.Warnings)
}

// printToken prints warnings on errOut, then the access token of rec in the
// format req asks for on out.
func printToken(out, errOut io.Writer, req Request, now time.Time, acct *keyring.Account, rec *keyring.Record, warnings []hot.Warning) error {
	PrintWarnings(errOut, warnings)
	return Write(out, req, now, acct, rec)
}

// MaxShownMessage bounds one error or warning line shown to a person.
const MaxShownMessage = 2000

// PrintWarnings prints each warning on its own sanitized line: "warning: "
// or, for a note, "note: " and the message.
func PrintWarnings(w io.Writer, warnings []hot.Warning) {
	for _, x := range warnings {
		prefix := "warning: "
		if x.Kind.Note() {
			prefix = "note: "
		}
		fmt.Fprintln(w, prefix+sanitize.Line(x.Msg, MaxShownMessage))
	}
}

// tokenJSON is what `token --json` prints. expiry and expires_in are null
// when the provider did not say when the token expires.
type tokenJSON struct {
	AccessToken string   `json:"access_token"`
	TokenType   string   `json:"token_type"`
	Expiry      *string  `json:"expiry"`
	ExpiresIn   *int64   `json:"expires_in"`
	Scopes      []string `json:"scopes"`
}

// Write prints the access token of rec as req asks: the token, an HTTP
// header (--header) or a JSON object (--json), and a newline. The stored
// tokens were checked (hot.Servable; a cache hit holds only what was
// served before).
func Write(out io.Writer, req Request, now time.Time, acct *keyring.Account, rec *keyring.Record) error {
	var err error
	switch {
	case req.Header:
		_, err = fmt.Fprintln(out, "Authorization: Bearer "+rec.AccessToken)
	case req.JSON:
		v := tokenJSON{AccessToken: rec.AccessToken, TokenType: "Bearer", Scopes: rec.Scopes}
		if v.Scopes == nil {
			v.Scopes = acct.Scopes
		}
		if v.Scopes == nil {
			v.Scopes = []string{}
		}
		if !rec.Expiry.IsZero() {
			exp := rec.Expiry.UTC().Format(time.RFC3339)
			in := max(int64(rec.Expiry.Sub(now)/time.Second), 0)
			v.Expiry, v.ExpiresIn = &exp, &in
		}
		err = json.NewEncoder(out).Encode(v)
	default:
		_, err = fmt.Fprintln(out, rec.AccessToken)
	}
	if err != nil {
		return fmt.Errorf("writing the token: %w", err)
	}
	return nil
}

// FullProgram is the file name of the full oauthctl program, which the
// small front binary (cmd/oauthctl, installed as "oauthctl") starts for
// everything it does not answer itself; it lives in the same directory.
const FullProgram = "oauthctl-full"

// FrontProgram is the front binary's file name.
const FrontProgram = "oauthctl"
