package cmd

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/session"
)

// GitCredentialOptions are the inputs of `oauthctl git-credential`.
type GitCredentialOptions struct {
	IO      *iostreams.IOStreams
	Factory *Factory

	Action   string // get, store, erase; anything else is ignored
	Provider string
	Account  string
	// Login starts a browser login when nothing is stored and stderr is a
	// terminal (off by default: git runs helpers in scripts and CI too).
	Login bool
}

// NewCmdGitCredential builds `oauthctl git-credential`.
func NewCmdGitCredential(f *Factory, runF func(*GitCredentialOptions) error) *cobra.Command {
	opts := &GitCredentialOptions{IO: f.IO, Factory: f}
	c := &cobra.Command{
		Use:   "git-credential [flags] get|store|erase",
		Short: "Git credential helper: fresh access tokens as passwords for git over HTTPS",
		Long: `A git credential helper (gitcredentials(7)): git runs it with get, store or
erase and a credential description on stdin.

get prints the account's fresh access token as the password, the provider's
git user name (GitHub x-access-token, GitLab oauth2, or git_username in
providers.yaml) and password_expiry_utc, refreshing the token first when
needed, exactly as "oauthctl token" does. The provider is the one whose
git_hosts lists the host (built in: github.com, gitlab.com), or --provider.
Only https remotes, or http to a loopback host, ever get a token.

get never prompts and never opens a browser: for a host no provider serves,
or with nothing stored, it prints nothing on stdout, says on stderr what to
run (oauthctl login PROVIDER) and exits 0, so git asks its next helper.
--login instead starts a browser login when stderr is a terminal.

erase (git's report that the server refused the password) makes the next get
refresh the token first instead of handing out the same one. store does
nothing: the tokens already live in the keychain.

Set it up with "oauthctl setup-git PROVIDER". Exit codes as for token when
the keychain or the provider fails (5, 6); 2 for malformed input.`,
		Example: `  oauthctl setup-git github
  git config --global credential.https://git.example.com.helper '!oauthctl git-credential --provider gitea'
  printf 'protocol=https\nhost=github.com\n\n' | oauthctl git-credential get`,
		Args: rangeArgs(1, 1),
		RunE: func(c *cobra.Command, args []string) error {
			opts.Action = args[0]
			if runF != nil {
				return runF(opts)
			}
			return gitCredentialRun(c.Context(), opts)
		},
	}
	fl := c.Flags()
	fl.StringVar(&opts.Provider, "provider", "", "serve every host git asks about with this `PROVIDER` (default: the provider whose git_hosts lists the host)")
	fl.StringVarP(&opts.Account, "account", "a", "", "the account `NAME` (default: the provider's default account)")
	fl.BoolVar(&opts.Login, "login", false, "with nothing stored, start a browser login if stderr is a terminal")
	_ = c.RegisterFlagCompletionFunc("provider", completeProviderArg(f, false))
	_ = c.RegisterFlagCompletionFunc("account", completeAccountFlag(f))
	return c
}

// gitCredentialRun answers one request of git's credential helper protocol.
// Steps for get:
//  1. read git's credential description from stdin (bounded);
//  2. check that the request may get a token and find the provider
//     (session.GitTarget); a request that is not served is a hint on
//     stderr and exit 0;
//  3. get a fresh access token (gitCredentialGet: session.Token, as
//     `token` does, honouring an earlier erase); "sign in first" is a hint
//     on stderr and exit 0 (or, with --login on a terminal, a login);
//  4. print username, password and password_expiry_utc on stdout.
//
// Nothing reaches stdout unless a token is handed out.
func gitCredentialRun(ctx context.Context, opts *GitCredentialOptions) error {
	switch opts.Action {
	case "get", "erase":
	case "store":
		// The tokens live in the keychain already; git's copy of the
		// password is nothing to keep. Drain stdin so git's write never
		// fails on a closed pipe.
		_, _ = io.Copy(io.Discard, io.LimitReader(opts.IO.In, maxGitInput))
		return nil
	default:
		return nil // gitcredentials(7): ignore unknown actions
	}
	cred, err := readGitCredential(opts.IO.In)
	if err != nil {
		return err
	}
	svc := opts.Factory.Session()
	p, err := svc.GitTarget(session.GitRequest{Protocol: cred.get("protocol"), Host: cred.get("host"), Provider: opts.Provider})
	var notServed *session.GitNotServedError
	switch {
	case errors.As(err, &notServed):
		if opts.Action == "get" {
			fmt.Fprint(opts.IO.ErrOut, "oauthctl: git-credential: "+notServed.Msg+"\n")
			if notServed.Hint != "" {
				fmt.Fprintln(opts.IO.ErrOut, notServed.Hint)
			}
		}
		return nil
	case err != nil:
		return err
	}
	if opts.Action == "erase" {
		return gitCredentialErase(ctx, opts, svc, p, cred)
	}

	err = gitCredentialGet(ctx, opts, svc, p)
	if err == nil || ExitCode(err) != ExitSignIn {
		return err
	}
	if opts.Login && opts.IO.ErrTTY && ctx.Err() == nil {
		return gitCredentialLogin(ctx, opts, svc, p)
	}
	// Sign in first: say so, and let git ask its next helper.
	fmt.Fprint(opts.IO.ErrOut, errorText(err))
	return nil
}

// gitCredentialLogin signs in with the browser (--login), then answers get.
func gitCredentialLogin(ctx context.Context, opts *GitCredentialOptions, svc *session.Service, p *auth.Provider) error {
	f := opts.Factory
	lo := f.loginOptions()
	lo.IO, lo.Provider, lo.Account = opts.IO, p.Name, opts.Account
	if err := loginRun(ctx, lo); err != nil {
		return err
	}
	return gitCredentialGet(ctx, opts, svc, p)
}

// gitCredentialGet gets a fresh access token of p's account
// (session.Token, as `token` does, honouring an earlier erase), prints the
// warnings on stderr and the answer to get on stdout.
func gitCredentialGet(ctx context.Context, opts *GitCredentialOptions, svc *session.Service, p *auth.Provider) error {
	res, warnings, err := svc.Token(ctx, session.TokenRequest{Provider: p.Name, Account: opts.Account,
		Acquire: session.AcquireOptions{MinTTL: DefaultMinTTL}})
	printWarnings(opts.IO.ErrOut, warnings)
	if err != nil {
		return err
	}
	return writeGitCredential(opts.IO.Out, p.GitUser(), res.Token, res.Expiry.Unix(), !res.Expiry.IsZero())
}

// gitCredentialErase marks the rejected password, if it is the account's
// current access token, so that the next get refreshes first. Git sends
// erase to every helper with whatever password failed; anything that is not
// ours is ignored silently.
func gitCredentialErase(ctx context.Context, opts *GitCredentialOptions, svc *session.Service, p *auth.Provider, cred *gitCredential) error {
	password := cred.get("password")
	if password == "" {
		return nil
	}
	acct, err := svc.ResolveAccount(ctx, p.Name, opts.Account)
	if err != nil {
		return nil // nothing stored: nothing to mark
	}
	if _, err := svc.RejectToken(ctx, acct, password); err != nil {
		// Say what failed: an unavailable keychain's message takes this
		// as what could not be done (errorTextFor), not "get a token".
		return fmt.Errorf("cannot mark the rejected token: %w", err)
	}
	return nil
}

// maxGitInput bounds what git-credential reads from stdin: a credential
// description is a few hundred bytes (wwwauth[] headers included).
const maxGitInput = 64 << 10

// gitCredential is a credential description of git's helper protocol
// (git-credential(1) "INPUT/OUTPUT FORMAT"): key=value lines up to a blank
// line or EOF. Keys ending in "[]" (wwwauth[], capability[], state[]) may
// repeat; others keep their last value. Attributes it does not know are
// kept and ignored.
type gitCredential struct {
	attrs map[string]string
	multi map[string][]string
}

func (c *gitCredential) get(k string) string { return c.attrs[k] }

// readGitCredential parses a credential description from r, reading at
// most maxGitInput bytes. A line without '=' or with a NUL is an error
// (git itself refuses such lines), as is more input than the bound. A url
// attribute is split into protocol, host, path, username and password, as
// git does.
func readGitCredential(r io.Reader) (*gitCredential, error) {
	c := &gitCredential{attrs: map[string]string{}, multi: map[string][]string{}}
	if r == nil {
		return c, nil
	}
	lr := &io.LimitedReader{R: r, N: maxGitInput + 1}
	sc := bufio.NewScanner(lr)
	sc.Buffer(make([]byte, 0, 4096), maxGitInput+1)
	ended := false // a blank line ended the description
	for sc.Scan() {
		line := strings.TrimSuffix(sc.Text(), "\r")
		if line == "" {
			ended = true
			break
		}
		k, v, ok := strings.Cut(line, "=")
		if lr.N <= 0 && !ok {
			break // a line cut off at the bound: reported below
		}
		if !ok || k == "" {
			return nil, usageErrorf("git-credential: invalid input line (want key=value)")
		}
		if strings.ContainsRune(line, 0) {
			return nil, usageErrorf("git-credential: input contains a NUL byte")
		}
		if strings.HasSuffix(k, "[]") {
			if v == "" {
				delete(c.multi, k) // an empty value clears the list
			} else {
				c.multi[k] = append(c.multi[k], v)
			}
			continue
		}
		c.attrs[k] = v
		if k == "url" {
			if err := c.setURL(v); err != nil {
				return nil, err
			}
		}
	}
	if !ended && lr.N <= 0 {
		return nil, usageErrorf("git-credential: input larger than %d KiB", maxGitInput>>10)
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return nil, usageErrorf("git-credential: input larger than %d KiB", maxGitInput>>10)
		}
		return nil, fmt.Errorf("git-credential: reading the request: %w", err)
	}
	return c, nil
}

// setURL applies a url= attribute: git-credential(1) says it is read as if
// its parts had been given one by one.
func (c *gitCredential) setURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || u.Scheme == "" {
		return usageErrorf("git-credential: invalid url attribute")
	}
	c.attrs["protocol"] = u.Scheme
	c.attrs["host"] = u.Host
	if p := strings.TrimPrefix(u.Path, "/"); p != "" {
		c.attrs["path"] = p
	}
	if u.User != nil {
		c.attrs["username"] = u.User.Username()
		if pw, ok := u.User.Password(); ok {
			c.attrs["password"] = pw
		}
	}
	return nil
}

// writeGitCredential prints the answer to get. A value with a newline or
// NUL would inject protocol lines: refused (a provider's token never has
// one).
func writeGitCredential(w io.Writer, username, password string, expiry int64, hasExpiry bool) error {
	for _, v := range []string{username, password} {
		if v == "" || strings.ContainsAny(v, "\n\r\x00") {
			return errors.New("git-credential: the token cannot be passed to git (empty, or has a line break)")
		}
	}
	out := "username=" + username + "\npassword=" + password + "\n"
	if hasExpiry {
		out += "password_expiry_utc=" + strconv.FormatInt(expiry, 10) + "\n"
	}
	if _, err := io.WriteString(w, out); err != nil {
		return fmt.Errorf("writing the credential: %w", err)
	}
	return nil
}
