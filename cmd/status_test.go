package cmd

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// TestNewCmdStatus: argv -> options.
func TestNewCmdStatus(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     StatusOptions
		wantCode int
	}{
		{name: "all", args: nil, want: StatusOptions{}},
		{name: "provider", args: []string{"google"}, want: StatusOptions{Provider: "google"}},
		{name: "json and check", args: []string{"--json", "--check", "github"}, want: StatusOptions{Provider: "github", JSON: true, Verify: true}},
		{name: "two providers", args: []string{"google", "github"}, wantCode: ExitUsage},
		{name: "unknown flag", args: []string{"--all"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *StatusOptions
			c := NewCmdStatus(&Factory{IO: ios}, func(o *StatusOptions) error { got = o; return nil })
			if code := acParse(c, tt.args); code != tt.wantCode {
				t.Fatalf("exit %d, want %d", code, tt.wantCode)
			}
			if tt.wantCode != 0 {
				return
			}
			got.IO, got.Session, got.Check = nil, nil, nil
			if diff := cmp.Diff(&tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// statusFixture seeds accounts in every state the table shows.
func statusFixture(t *testing.T) *acEnv {
	e := newAcEnv(t, "")
	mk := func(provider, account string, mod func(*keyring.Account)) {
		a := keyring.Account{Provider: provider, Account: account, Issuer: "https://" + provider + ".example",
			TokenURL: "https://" + provider + ".example/token", ClientID: provider + "-client",
			Scopes: []string{"openid", "email"}, Expiry: acNow.Add(42 * time.Minute), Subject: "sub-" + account,
			Identity: account, Refreshable: true, Grant: auth.GrantAuthorizationCode, UpdatedAt: acNow.Add(-10 * time.Minute)}
		mod(&a)
		e.seed(a, nil)
	}
	mk("google", "alice@example.com", func(a *keyring.Account) {})
	mk("google", "bob@example.com", func(a *keyring.Account) {
		a.Expiry = acNow.Add(-time.Minute) // expired, but refreshable
		a.RefreshExpiry = acNow.Add(50 * time.Hour)
	})
	mk("google", "carol@example.com", func(a *keyring.Account) {
		a.Expiry = acNow.Add(-2 * time.Hour)
		a.LoginRequired, a.Refreshable = true, false // the provider rejected the refresh token
	})
	mk("github", "octocat", func(a *keyring.Account) {
		a.Issuer, a.Subject, a.Scopes = "", "583231", []string{"read:user", "repo"}
		a.Expiry, a.Refreshable = time.Time{}, false // GitHub OAuth app: no expiry, no refresh token
	})
	mk("gitlab", "dev", func(a *keyring.Account) {
		a.Identity = "dev@gitlab.example"
		a.Expiry = acNow.Add(-time.Second)
		a.RefreshExpiry = acNow.Add(-time.Hour) // both ran out
	})
	mk("gitlab", "ops", func(a *keyring.Account) {
		a.Expiry = acNow.Add(52*time.Hour + 30*time.Minute)
		a.Scopes = []string{"api", "\x1b[31mevil"} // provider text is sanitized
	})
	mk("machine", "client", func(a *keyring.Account) {
		a.Grant, a.Identity, a.Subject = auth.GrantClientCredentials, "", ""
		a.Expiry = acNow.Add(-time.Minute) // minted again on demand: no login
		a.Scopes = nil
	})
	mk("microsoft", "me@corp.example", func(a *keyring.Account) {
		a.Expiry = acNow.Add(59 * time.Second)
	})
	return e
}

// TestStatusGolden compares the table and --json with golden files (run
// with -update to rewrite them), for every account and for one provider,
// and checks that status reads no secrets: the keychain is not touched.
func TestStatusGolden(t *testing.T) {
	t.Parallel()
	e := statusFixture(t)
	for _, tt := range []struct {
		golden string
		args   []string
	}{
		{"status_table.golden", []string{"status"}},
		{"status_google_table.golden", []string{"status", "google"}},
		{"status.json.golden", []string{"status", "--json"}},
		{"status_gitlab.json.golden", []string{"status", "gitlab", "--json"}},
	} {
		t.Run(tt.golden, func(t *testing.T) {
			r := e.run(tt.args...)
			if r.code != 0 || r.errOut != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.errOut)
			}
			assertGolden(t, tt.golden, r.out)
		})
	}
	for _, tt := range []struct {
		golden  string
		noColor bool
	}{{"status_tty.golden", false}, {"status_tty_nocolor.golden", true}} {
		t.Run(tt.golden, func(t *testing.T) {
			f, out, errOut := e.factory("")
			f.IO.OutTTY, f.IO.NoColor = true, tt.noColor
			if code := Run(t.Context(), f, []string{"status"}); code != 0 || errOut.Len() != 0 {
				t.Fatalf("exit %d, stderr %q", code, errOut)
			}
			assertGolden(t, tt.golden, out.String())
			for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
				if n := len([]rune(ansiRE.ReplaceAllString(l, ""))); n > 80 {
					t.Errorf("%d columns: %q", n, l)
				}
			}
			if strings.Contains(out.String(), "expired") {
				t.Errorf("the terminal view says expired:\n%s", out)
			}
		})
	}
	if e.store.Loads != 0 {
		t.Errorf("status read the keychain %d times, want 0", e.store.Loads)
	}
}

// ansiRE matches the colour escapes of the terminal views.
var ansiRE = regexp.MustCompile("\x1b\\[[0-9;]*m")

// TestStatusEmpty: nothing stored is exit 4 with a login hint (and, with
// --json, an empty list for scripts); an unknown provider is a usage error.
func TestStatusEmpty(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		code    int
		out     string
		errOut  string
		seedOne bool
	}{
		{name: "no accounts", args: []string{"status"}, code: ExitSignIn,
			errOut: "oauthctl: no stored credentials: no account is logged in\nrun: oauthctl login PROVIDER (see: oauthctl providers)\n"},
		{name: "no accounts, json: empty list, exit 0", args: []string{"status", "--json"}, code: ExitOK, out: "{\n  \"accounts\": []\n}\n"},
		{name: "provider without accounts, json", args: []string{"status", "google", "--json"}, code: ExitOK, seedOne: true, out: "{\n  \"accounts\": []\n}\n"},
		{name: "unknown provider, json", args: []string{"status", "nope", "--json"}, code: ExitUsage, seedOne: true,
			errOut: "oauthctl: unknown provider \"nope\" (known: github, gitlab, google, microsoft)\n"},
		{name: "provider without accounts", args: []string{"status", "google"}, code: ExitSignIn, seedOne: true,
			errOut: "oauthctl: no stored credentials: not logged in to google\nrun: oauthctl login google\n"},
		{name: "unknown provider", args: []string{"status", "nope"}, code: ExitUsage, seedOne: true,
			errOut: "oauthctl: unknown provider \"nope\" (known: github, gitlab, google, microsoft)\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, "")
			if tt.seedOne {
				e.seed(acAccount("github", "https://github.example", "octocat"), nil)
			}
			r := e.run(tt.args...)
			if diff := cmp.Diff(acResult{tt.code, tt.out, tt.errOut}, r, cmp.AllowUnexported(acResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
		})
	}
}

// TestStatusCheck drives --check with a stand-in for session.Acquire: one
// line per account on stderr, the table marks the failed account, and the
// exit code is the worst: a needed login (4) outranks an unreachable
// provider (5).
func TestStatusCheck(t *testing.T) {
	t.Parallel()
	reauth := withHint(fmt.Errorf("refreshing %s: %w", "google:bob", auth.ErrReauthRequired), "run: oauthctl login google")
	down := fmt.Errorf("refreshing: %w", &auth.UnavailableError{Msg: "cannot reach the provider"})
	tests := []struct {
		name     string
		results  map[string]error
		code     int
		errLines []string
		json     bool
	}{
		{name: "all fine", results: map[string]error{}, code: 0,
			errLines: []string{"google alice: ok", "google alice: warning: the refresh token expires soon", "google bob: ok"}},
		{name: "one needs a login", results: map[string]error{"bob": reauth}, code: ExitSignIn,
			errLines: []string{"google alice: ok", "google alice: warning: the refresh token expires soon",
				"google bob: refreshing google:bob: sign-in required (run: oauthctl login google)",
				"oauthctl: 1 of 2 accounts cannot produce an access token", "run: oauthctl login google"}},
		{name: "login outranks unavailable", results: map[string]error{"alice": down, "bob": reauth}, code: ExitSignIn,
			errLines: []string{"google alice: refreshing: cannot reach the provider",
				"google bob: refreshing google:bob: sign-in required (run: oauthctl login google)",
				"oauthctl: 2 of 2 accounts cannot produce an access token", "run: oauthctl login google"}},
		{name: "unavailable only", results: map[string]error{"alice": down}, code: ExitUnavailable, json: true,
			errLines: []string{"google alice: refreshing: cannot reach the provider", "google bob: ok",
				"oauthctl: 1 of 2 accounts cannot produce an access token"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, "")
			e.seed(acAccount("google", "https://accounts.google.com", "alice"), nil)
			e.seed(acAccount("google", "https://accounts.google.com", "bob"), nil)
			var checked []string
			ios, _, out, errOut := iostreams.Test()
			opts := &StatusOptions{IO: ios, Session: &session.Service{Now: e.clock, Paths: func() (keyring.Paths, error) { return e.paths, nil },
				Catalogue: e.catalogue}, Verify: true, JSON: tt.json,
				Check: func(_ context.Context, a *keyring.Account) ([]session.Warning, error) {
					checked = append(checked, a.Account)
					if a.Account == "alice" && tt.results["alice"] == nil {
						return []session.Warning{{Kind: session.WarnRefreshExpiring, Msg: "the refresh token expires soon"}}, nil
					}
					return nil, tt.results[a.Account]
				}}
			err := statusRun(t.Context(), opts)
			if code := ExitCode(err); code != tt.code {
				t.Errorf("exit %d, want %d (%v)", code, tt.code, err)
			}
			if err != nil {
				errOut.WriteString(errorText(err))
			}
			if diff := cmp.Diff(tt.errLines, strings.Split(strings.TrimSuffix(errOut.String(), "\n"), "\n")); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff([]string{"alice", "bob"}, checked); diff != "" {
				t.Errorf("checked (-want +got):\n%s", diff)
			}
			if tt.json {
				for _, want := range []string{`"check": {
        "ok": false,
        "exit_code": 5,
        "error": "refreshing: cannot reach the provider"
      }`, `"check": {
        "ok": true,
        "exit_code": 0
      }`} {
					if !strings.Contains(out.String(), want) {
						t.Errorf("JSON lacks %s:\n%s", want, out)
					}
				}
				return
			}
			col := strings.Index(out.String(), "LOGIN REQUIRED")
			for _, name := range []string{"alice", "bob"} {
				line := rowOf(out.String(), "google", name)
				wantLogin := errors.Is(tt.results[name], auth.ErrReauthRequired)
				if gotLogin := col > 0 && len(line) > col && strings.HasPrefix(line[col:], "yes"); gotLogin != wantLogin {
					t.Errorf("table row of %s = %q, want login required %v", name, line, wantLogin)
				}
			}
		})
	}
}

// rowOf returns the table row of s whose first columns are provider and
// account.
func rowOf(s, provider, account string) string {
	for _, l := range strings.Split(s, "\n") {
		if f := strings.Fields(l); len(f) > 1 && f[0] == provider && f[1] == account {
			return l
		}
	}
	return ""
}

func TestHumanDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		0: "0s", 59 * time.Second: "59s", time.Minute: "1m", 59*time.Minute + 59*time.Second: "59m",
		time.Hour + 5*time.Minute: "1h5m", 23*time.Hour + 59*time.Minute: "23h59m", 50 * time.Hour: "2d2h",
	} {
		if got := session.HumanDuration(d); got != want {
			t.Errorf("session.HumanDuration(%s) = %q, want %q", d, got, want)
		}
	}
}

// TestStatusCheckRejectedAccount: an account the provider already rejected
// still hands out its unexpired access token, but --check reports it as
// needing a login, one line per account, and exits 4 — whether the index
// said so before the check, a concurrent refresh flagged it during the
// check, or only session.Acquire's warning says so.
func TestStatusCheckRejectedAccount(t *testing.T) {
	t.Parallel()
	const wantBob = "google bob: login required (the provider rejected the refresh token; the current access token expires in 30m); run: oauthctl login google --account bob"

	t.Run("real session.Acquire, flagged before", func(t *testing.T) {
		t.Parallel()
		e := newAcEnv(t, "")
		e.seed(acAccount("google", "https://accounts.google.com", "alice"), acRecord("alice"))
		bob := acAccount("google", "https://accounts.google.com", "bob")
		bob.LoginRequired, bob.Refreshable = true, false
		rec := acRecord("bob")
		rec.RefreshToken = ""
		e.seed(bob, rec)
		r := e.run("status", "--check")
		want := "google alice: ok\n" + wantBob + "\n" +
			"oauthctl: 1 of 2 accounts need a new login\n"
		if r.code != ExitSignIn || r.errOut != want {
			t.Errorf("exit %d, stderr:\n%s\nwant exit %d and:\n%s", r.code, r.errOut, ExitSignIn, want)
		}
		if strings.Contains(r.errOut, "bob: ok") || strings.Contains(r.out, "fake-at") {
			t.Errorf("bob reported ok or a token leaked:\n%s%s", r.out, r.errOut)
		}
		r = e.run("status", "google", "--check", "--json")
		if r.code != ExitSignIn || !strings.Contains(r.out, `"check": {
        "ok": false,
        "exit_code": 4,
        "error": "login required (the provider rejected the refresh token; the current access token expires in 30m); run: oauthctl login google --account bob"
      }`) {
			t.Errorf("json: exit %d:\n%s", r.code, r.out)
		}
	})

	tests := []struct {
		name string
		// check is the stand-in for session.Acquire on bob.
		check func(e *acEnv, a *keyring.Account) []session.Warning
	}{
		{name: "flagged during the check", check: func(e *acEnv, a *keyring.Account) []session.Warning {
			flagged := *a
			flagged.LoginRequired = true
			e.seed(flagged, nil)
			return nil
		}},
		{name: "only the warning says so", check: func(e *acEnv, a *keyring.Account) []session.Warning {
			return []session.Warning{{Kind: session.WarnRefreshRejected,
				Msg: "the provider rejected the refresh token of google:bob; this access token expires in 30m; run: oauthctl login google --account bob"}}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, "")
			e.seed(acAccount("google", "https://accounts.google.com", "bob"), nil)
			ios, _, out, errOut := iostreams.Test()
			opts := &StatusOptions{IO: ios, Session: &session.Service{Now: e.clock, Paths: func() (keyring.Paths, error) { return e.paths, nil },
				Catalogue: e.catalogue}, Verify: true,
				Check: func(_ context.Context, a *keyring.Account) ([]session.Warning, error) { return tt.check(e, a), nil }}
			err := statusRun(t.Context(), opts)
			if code := ExitCode(err); code != ExitSignIn {
				t.Errorf("exit %d, want %d (%v)", code, ExitSignIn, err)
			}
			if err != nil {
				errOut.WriteString(errorText(err))
			}
			want := wantBob + "\noauthctl: the account needs a new login\n"
			if diff := cmp.Diff(want, errOut.String()); diff != "" {
				t.Errorf("stderr (-want +got):\n%s", diff)
			}
			col := strings.Index(out.String(), "LOGIN REQUIRED")
			if line := rowOf(out.String(), "google", "bob"); col < 0 || len(line) <= col || !strings.HasPrefix(line[col:], "yes") {
				t.Errorf("table does not mark bob login required:\n%s", out)
			}
		})
	}
}
