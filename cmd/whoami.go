package cmd

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"text/tabwriter"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// WhoamiOptions are the inputs of `oauthctl whoami`.
type WhoamiOptions struct {
	IO *iostreams.IOStreams
	// Session carries the use cases (Factory.Session).
	Session *session.Service

	Provider string
	Account  string
	JSON     bool
}

// NewCmdWhoami builds `oauthctl whoami`.
func NewCmdWhoami(f *Factory, runF func(*WhoamiOptions) error) *cobra.Command {
	opts := &WhoamiOptions{IO: f.IO, Session: f.Session()}
	c := &cobra.Command{
		Use:   "whoami [PROVIDER]",
		Short: "Ask the provider who an account is signed in as",
		Long: `Call the provider's userinfo endpoint (OpenID Connect userinfo, or GitHub's
/user API) with a fresh access token of the account, refreshing it first if
needed, and print a short summary on stdout: identity, name, subject and
issuer. --json prints the provider's claims as it sent them.

Without a provider, the only stored account is used. Without --account, the
provider's default account.

Exit status: 0; 4 when the account needs a new login (nothing stored, or the
provider refused the token: the access token was revoked or lacks the scope
userinfo needs); 5 when the provider could not be reached or failed.`,
		Example: `  oauthctl whoami google
  oauthctl whoami github --json | jq -r .login
  oauthctl whoami google --account work@example.com`,
		Args:              rangeArgs(0, 1),
		ValidArgsFunction: completeProviderArg(f, true),
		RunE: func(c *cobra.Command, args []string) error {
			if len(args) == 1 {
				opts.Provider = args[0]
			}
			if opts.Account != "" {
				if err := keyring.ValidateAccount(opts.Account); err != nil {
					return &UsageError{Msg: err.Error()}
				}
			}
			if runF != nil {
				return runF(opts)
			}
			return whoamiRun(c.Context(), opts)
		},
	}
	c.Flags().StringVarP(&opts.Account, "account", "a", "", "the account `NAME` (default: the provider's default account)")
	c.Flags().BoolVar(&opts.JSON, "json", false, "print the provider's claims as JSON")
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// whoamiRun prints who the account is. Its steps:
//  1. resolve the account from the index and the provider from the
//     catalogue, and check that the configuration is still the one the
//     account logged in with, userinfo endpoint included
//     (session.UserinfoProvider, docs/security.md §3.6): otherwise exit 4
//     without sending anything;
//  2. get a fresh access token (session.Acquire, refreshing under the lock
//     if needed; not session.Token, which would acquire before the check
//     of step 1);
//  3. call userinfo with it; 401/403 mean a new login (exit 4), and
//     check that an OIDC provider's `sub` is the account's subject
//     (session.Userinfo);
//  4. print the summary or the raw claims.
func whoamiRun(ctx context.Context, opts *WhoamiOptions) error {
	svc := opts.Session
	acct, err := svc.ResolveAccount(ctx, opts.Provider, opts.Account)
	if err != nil {
		return err
	}
	p, err := svc.UserinfoProvider(ctx, acct)
	if err != nil {
		return err
	}
	rec, warnings, err := svc.Acquire(ctx, acct, session.AcquireOptions{MinTTL: DefaultMinTTL})
	printWarnings(opts.IO.ErrOut, warnings)
	if err != nil {
		return err
	}
	info, err := svc.Userinfo(ctx, acct, p, rec.AccessToken)
	if err != nil {
		return err
	}
	if opts.JSON {
		return writeClaimsJSON(opts.IO.Out, info.Raw)
	}
	issuer := acct.Issuer
	if issuer == "" {
		issuer = p.Issuer
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 1, ' ', 0)
	for _, row := range [][2]string{
		{"provider", acct.Provider},
		{"account", acct.Account},
		{"identity", info.Identity()},
		{"name", info.String("name")},
		{"subject", info.Subject()},
		{"issuer", issuer},
	} {
		if row[1] != "" {
			fmt.Fprintf(tw, "%s:\t%s\n", row[0], auth.Sanitize(row[1], 200))
		}
	}
	return tw.Flush()
}

// writeClaimsJSON prints the provider's JSON object indented, in the
// provider's key order, with every control or format character (C1 escapes
// such as U+009B, bidi overrides) that JSON allows raw inside strings
// escaped as \uXXXX, so the output cannot drive the terminal.
func writeClaimsJSON(w io.Writer, raw []byte) error {
	var safe bytes.Buffer
	for len(raw) > 0 {
		r, size := utf8.DecodeRune(raw)
		switch {
		case r == '\n' || r == '\t' || r == '\r':
			safe.WriteRune(r)
		case r == utf8.RuneError && size == 1:
			safe.WriteString(`\ufffd`)
		case unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp):
			if r > 0xffff {
				hi, lo := utf16.EncodeRune(r)
				fmt.Fprintf(&safe, `\u%04x\u%04x`, hi, lo)
			} else {
				fmt.Fprintf(&safe, `\u%04x`, r)
			}
		default:
			safe.Write(raw[:size])
		}
		raw = raw[size:]
	}
	var out bytes.Buffer
	if err := json.Indent(&out, safe.Bytes(), "", "  "); err != nil {
		return &auth.UnavailableError{Msg: "malformed userinfo response"}
	}
	out.WriteByte('\n')
	_, err := w.Write(out.Bytes())
	return err
}
