package cmd

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// TestReadGitCredential is the protocol parser: key=value lines up to a
// blank line or EOF, repeated key[] attributes, unknown attributes kept,
// url= split into its parts, and malformed or oversize input refused.
func TestReadGitCredential(t *testing.T) {
	t.Parallel()
	big := "protocol=https\nhost=github.com\nwwwauth[]=" + strings.Repeat("x", maxGitInput) + "\n\n"
	many := "protocol=https\n" + strings.Repeat("capability[]=authtype\n", maxGitInput/20) + "\n"
	tests := []struct {
		name      string
		in        string
		want      map[string]string
		wantMulti map[string][]string
		wantErr   string
	}{
		{name: "get request", in: "protocol=https\nhost=github.com\n\n",
			want: map[string]string{"protocol": "https", "host": "github.com"}},
		{name: "EOF without blank line", in: "protocol=https\nhost=gitlab.com",
			want: map[string]string{"protocol": "https", "host": "gitlab.com"}},
		{name: "stops at the blank line", in: "protocol=https\nhost=a.example\n\nhost=b.example\n",
			want: map[string]string{"protocol": "https", "host": "a.example"}},
		{name: "CRLF", in: "protocol=https\r\nhost=github.com\r\n\r\n",
			want: map[string]string{"protocol": "https", "host": "github.com"}},
		{name: "wwwauth and capability repeat; unknown attributes kept", in: "capability[]=authtype\ncapability[]=state\nprotocol=https\nhost=github.com:8443\npath=org/repo.git\n" +
			"wwwauth[]=Basic realm=\"GitHub\"\nwwwauth[]=Bearer error=\"invalid_token\"\nephemeral=1\nfuture_key=value=with=equals\n\n",
			want:      map[string]string{"protocol": "https", "host": "github.com:8443", "path": "org/repo.git", "ephemeral": "1", "future_key": "value=with=equals"},
			wantMulti: map[string][]string{"capability[]": {"authtype", "state"}, "wwwauth[]": {`Basic realm="GitHub"`, `Bearer error="invalid_token"`}}},
		{name: "an empty value clears a list", in: "wwwauth[]=a\nwwwauth[]=\nwwwauth[]=b\n\n",
			want: map[string]string{}, wantMulti: map[string][]string{"wwwauth[]": {"b"}}},
		{name: "last value wins", in: "host=a.example\nhost=b.example\n",
			want: map[string]string{"host": "b.example"}},
		{name: "url is split", in: "url=https://alice:fake-pw@git.example.com:8443/group/repo.git\n\n",
			want: map[string]string{"url": "https://alice:fake-pw@git.example.com:8443/group/repo.git", "protocol": "https",
				"host": "git.example.com:8443", "path": "group/repo.git", "username": "alice", "password": "fake-pw"}},
		{name: "erase request with password", in: "protocol=https\nhost=github.com\nusername=x-access-token\npassword=fake-token\n\n",
			want: map[string]string{"protocol": "https", "host": "github.com", "username": "x-access-token", "password": "fake-token"}},
		{name: "empty input", in: "", want: map[string]string{}},
		{name: "line without =", in: "protocol=https\nhost\n\n", wantErr: "git-credential: invalid input line (want key=value)"},
		{name: "empty key", in: "=value\n\n", wantErr: "git-credential: invalid input line (want key=value)"},
		{name: "NUL byte", in: "host=git\x00hub.com\n\n", wantErr: "git-credential: input contains a NUL byte"},
		{name: "bad url", in: "url=::\n\n", wantErr: "git-credential: invalid url attribute"},
		{name: "one oversize line", in: big, wantErr: "git-credential: input larger than 64 KiB"},
		{name: "too many lines", in: many, wantErr: "git-credential: input larger than 64 KiB"},
		{name: "endless input without a newline", in: strings.Repeat("a", 3*maxGitInput), wantErr: "git-credential: input larger than 64 KiB"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := readGitCredential(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr || ExitCode(err) != ExitUsage {
					t.Fatalf("error = %v (exit %d), want %q (exit 2)", err, ExitCode(err), tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.attrs); diff != "" {
				t.Errorf("attributes (-want +got):\n%s", diff)
			}
			if tt.wantMulti == nil {
				tt.wantMulti = map[string][]string{}
			}
			if diff := cmp.Diff(tt.wantMulti, got.multi); diff != "" {
				t.Errorf("list attributes (-want +got):\n%s", diff)
			}
		})
	}
}

// TestWriteGitCredential: the answer's exact format, and a value with a line
// break (which would inject protocol lines) refused.
func TestWriteGitCredential(t *testing.T) {
	t.Parallel()
	var b strings.Builder
	if err := writeGitCredential(&b, "x-access-token", "fake-at", 1767225600, true); err != nil {
		t.Fatal(err)
	}
	if want := "username=x-access-token\npassword=fake-at\npassword_expiry_utc=1767225600\n"; b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	if err := writeGitCredential(&b, "oauth2", "fake-at", 0, false); err != nil || b.String() != "username=oauth2\npassword=fake-at\n" {
		t.Errorf("no expiry: %q, %v", b.String(), err)
	}
	for _, bad := range []string{"fake\nhost=evil.example", "fake\x00", ""} {
		b.Reset()
		if err := writeGitCredential(&b, "oauth2", bad, 0, false); err == nil || b.Len() != 0 {
			t.Errorf("password %q: wrote %q, err %v; want an error and nothing written", bad, b.String(), err)
		}
	}
}

// gcYAML is a providers.yaml with provider "forge" whose token endpoint is
// tokenURL and whose git hosts are hosts.
func gcYAML(tokenURL string, hosts ...string) string {
	return fixedYAML(tokenURL) + "    git_hosts: [" + strings.Join(hosts, ", ") + "]\n    git_username: forge-user\n"
}

// runGC runs `oauthctl git-credential args...` in-process with stdin.
func (e *tkEnv) runGC(stdin string, args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	f.IO.In = strings.NewReader(stdin)
	code := Run(e.t.Context(), f, append([]string{"git-credential"}, args...))
	return tkResult{code: code, out: out.String(), errOut: errOut.String()}
}

// TestGitCredentialGet drives `git-credential get` in-process with the
// in-memory store: which requests get a token, in which format, and what
// the others see (nothing on stdout, exit 0, a hint on stderr).
func TestGitCredentialGet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		in       string
		seed     bool
		expired  bool
		wantOut  string // {AT} is the stored access token, {EXP} its expiry
		wantErr  string // substring of stderr; "" means empty
		wantCode int
	}{
		{name: "fresh token", args: []string{"get"}, in: "protocol=https\nhost=git.example.com\n\n", seed: true,
			wantOut: "username=forge-user\npassword={AT}\npassword_expiry_utc={EXP}\n"},
		{name: "host with port, upper case", args: []string{"get"}, in: "protocol=https\nhost=GIT.example.com:8443\nwwwauth[]=Basic realm=\"x\"\ncapability[]=authtype\n\n", seed: true,
			wantOut: "username=forge-user\npassword={AT}\npassword_expiry_utc={EXP}\n"},
		{name: "url attribute", args: []string{"get"}, in: "url=https://git.example.com/group/repo.git\n\n", seed: true,
			wantOut: "username=forge-user\npassword={AT}\npassword_expiry_utc={EXP}\n"},
		{name: "--provider for a host without git_hosts", args: []string{"get", "--provider", "fake"}, in: "protocol=https\nhost=other.example\n\n", seed: true,
			wantOut: "username=forge-user\npassword={AT}\npassword_expiry_utc={EXP}\n"},
		{name: "http to a loopback host", args: []string{"get"}, in: "protocol=http\nhost=127.0.0.1:9\n\n", seed: true,
			wantOut: "username=forge-user\npassword={AT}\npassword_expiry_utc={EXP}\n"},
		{name: "unknown host", args: []string{"get"}, in: "protocol=https\nhost=unknown.example\n\n", seed: true,
			wantErr: "oauthctl: git-credential: no provider serves the git host unknown.example\nadd git_hosts: [unknown.example] to a provider in "},
		{name: "plain http, not loopback", args: []string{"get"}, in: "protocol=http\nhost=git.example.com\n\n", seed: true,
			wantErr: "oauthctl: git-credential: not sending a token to git.example.com over plain http\nuse an https:// remote URL\n"},
		{name: "plain http with --provider", args: []string{"get", "--provider", "fake"}, in: "protocol=http\nhost=git.example.com\n\n", seed: true,
			wantErr: "over plain http"},
		{name: "ssh", args: []string{"get"}, in: "protocol=ssh\nhost=git.example.com\n\n", seed: true,
			wantErr: "oauthctl: git-credential: no token for the ssh protocol (only https)\n"},
		{name: "nothing stored", args: []string{"get"}, in: "protocol=https\nhost=git.example.com\n\n",
			wantErr: "run: oauthctl login fake\n"},
		{name: "expired, refresh fails offline", args: []string{"get"}, in: "protocol=https\nhost=git.example.com\n\n", seed: true, expired: true,
			wantErr: "oauthctl: refreshing fake:me@example.com", wantCode: ExitUnavailable},
		{name: "malformed input", args: []string{"get"}, in: "protocol\n\n", seed: true,
			wantErr: "oauthctl: git-credential: invalid input line (want key=value)\n", wantCode: ExitUsage},
		{name: "store does nothing", args: []string{"store"}, in: "protocol=https\nhost=git.example.com\nusername=forge-user\npassword=fake-at\n\n", seed: true},
		{name: "unknown action ignored", args: []string{"frobnicate"}, in: "protocol=https\nhost=git.example.com\n\n", seed: true},
		{name: "no action", args: nil, wantErr: "git-credential takes 1 argument", wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			tokenURL := closedURL(t)
			e := newTkEnv(t, gcYAML(tokenURL, "git.example.com", "git.example.com:8443", "127.0.0.1:9"))
			acct := fakeAccount(tokenURL)
			rec := &keyring.Record{AccessToken: "fake-at-" + strings.NewReplacer(" ", "-", ",", "").Replace(tt.name), RefreshToken: "fake-rt", Expiry: e.clock().Add(time.Hour)}
			if tt.expired {
				rec.Expiry = e.clock().Add(-time.Minute)
			}
			if tt.seed {
				e.seed(acct, rec)
			}
			r := e.runGC(tt.in, tt.args...)
			want := strings.NewReplacer("{AT}", rec.AccessToken, "{EXP}", strconv.FormatInt(rec.Expiry.Unix(), 10)).Replace(tt.wantOut)
			if r.code != tt.wantCode || r.out != want {
				t.Errorf("exit %d, stdout %q; want exit %d, stdout %q\nstderr: %s", r.code, r.out, tt.wantCode, want, r.errOut)
			}
			if tt.wantErr == "" && r.errOut != "" || !strings.Contains(r.errOut, tt.wantErr) {
				t.Errorf("stderr = %q, want %q", r.errOut, tt.wantErr)
			}
			if strings.Contains(r.errOut, rec.AccessToken) || strings.Contains(r.errOut, rec.RefreshToken) {
				t.Errorf("stderr shows a token: %q", r.errOut)
			}
			if ix := e.index(); tt.seed && len(ix.Accounts) == 1 && ix.Accounts[0].RejectedToken != "" {
				t.Errorf("%s marked the token rejected", tt.args)
			}
		})
	}
}

// TestGitCredentialErase: erase with the stored access token makes the next
// get refresh first (and only the hash of the token reaches the index);
// erase with any other password changes nothing; a refresh clears the mark.
func TestGitCredentialErase(t *testing.T) {
	t.Parallel()
	n := 0
	ts := newTkTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		n++
		tkJSON(200, fmt.Sprintf(`{"access_token":"fake-at-new-%d","token_type":"Bearer","expires_in":3600,"refresh_token":"fake-rt-%d"}`, n, n))(w, r)
	})
	e := newTkEnv(t, gcYAML(ts.srv.URL, "git.example.com"))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-0", Expiry: e.clock().Add(time.Hour)})
	get := "protocol=https\nhost=git.example.com\n\n"

	// Another helper's password: ignored.
	if r := e.runGC("protocol=https\nhost=git.example.com\nusername=forge-user\npassword=someone-elses\n\n", "erase"); r.code != 0 || r.out != "" || r.errOut != "" {
		t.Fatalf("erase of a foreign password: %+v", r)
	}
	if r := e.runGC(get, "get"); !strings.Contains(r.out, "password=fake-at-old\n") || len(ts.refreshTokens()) != 0 {
		t.Fatalf("after a foreign erase, get = %+v (refreshes %v); want the old token, no refresh", r, ts.refreshTokens())
	}

	// Our token: marked by hash, and the next get refreshes.
	if r := e.runGC("protocol=https\nhost=git.example.com\nusername=forge-user\npassword=fake-at-old\n\n", "erase"); r.code != 0 || r.out != "" || r.errOut != "" {
		t.Fatalf("erase: %+v", r)
	}
	a := e.index().Find("fake", acct.Account)
	if a.RejectedToken != session.TokenHash("fake-at-old") {
		t.Fatalf("index mark = %q, want the token's hash", a.RejectedToken)
	}
	r := e.runGC(get, "get")
	if r.code != 0 || !strings.Contains(r.out, "password=fake-at-new-1\n") || r.errOut != "" {
		t.Fatalf("get after erase = %+v, want the refreshed token", r)
	}
	if diff := cmp.Diff([]string{"fake-rt-0"}, ts.refreshTokens()); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
	if a := e.index().Find("fake", acct.Account); a.RejectedToken != "" {
		t.Errorf("the mark survived the refresh: %q", a.RejectedToken)
	}
	// The next get serves the new token from the cache.
	if r := e.runGC(get, "get"); !strings.Contains(r.out, "password=fake-at-new-1\n") || len(ts.refreshTokens()) != 1 {
		t.Errorf("second get = %+v (refreshes %v), want the cached new token", r, ts.refreshTokens())
	}
	// `token` honours the mark as well: erase, then token refreshes.
	if r := e.runGC("protocol=https\nhost=git.example.com\npassword=fake-at-new-1\n\n", "erase"); r.code != 0 {
		t.Fatalf("erase: %+v", r)
	}
	if r := e.run("token", "fake"); r.out != "fake-at-new-2\n" {
		t.Errorf("token after erase = %+v, want the refreshed token", r)
	}
}

// TestGitCredentialRejectedNoRefresh: a rejected token that cannot be
// refreshed (no refresh token, as with GitHub OAuth apps) is not handed out
// again: get prints nothing and says to log in.
func TestGitCredentialRejectedNoRefresh(t *testing.T) {
	t.Parallel()
	tokenURL := closedURL(t)
	e := newTkEnv(t, gcYAML(tokenURL, "git.example.com"))
	acct := fakeAccount(tokenURL)
	acct.Refreshable = false
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-forever"})
	if r := e.runGC("protocol=https\nhost=git.example.com\npassword=fake-at-forever\n\n", "erase"); r.code != 0 {
		t.Fatalf("erase: %+v", r)
	}
	r := e.runGC("protocol=https\nhost=git.example.com\n\n", "get")
	if r.code != 0 || r.out != "" || !strings.Contains(r.errOut, "no refresh token is stored for fake:me@example.com") ||
		!strings.HasSuffix(r.errOut, "run: oauthctl login fake\n") || strings.Contains(r.errOut, "fake-at-forever") {
		t.Errorf("get = %+v; want nothing on stdout, exit 0 and the login hint", r)
	}
}

// TestGitCredentialRejectedOffline: a rejected token whose refresh fails
// because the provider is down is not served "while it lasts", as a plain
// unexpired token would be: nothing on stdout, exit 5.
func TestGitCredentialRejectedOffline(t *testing.T) {
	t.Parallel()
	tokenURL := closedURL(t)
	e := newTkEnv(t, gcYAML(tokenURL, "git.example.com"))
	e.seed(fakeAccount(tokenURL), &keyring.Record{AccessToken: "fake-at-refused", RefreshToken: "fake-rt", Expiry: e.clock().Add(30 * time.Second)})
	get := "protocol=https\nhost=git.example.com\n\n"
	// Unrejected, below --min-ttl and offline: served with a warning.
	if r := e.runGC(get, "get"); r.code != 0 || !strings.Contains(r.out, "password=fake-at-refused\n") || !strings.Contains(r.errOut, "warning: could not refresh") {
		t.Fatalf("before erase: %+v", r)
	}
	if r := e.runGC("protocol=https\nhost=git.example.com\npassword=fake-at-refused\n\n", "erase"); r.code != 0 {
		t.Fatalf("erase: %+v", r)
	}
	r := e.runGC(get, "get")
	if r.code != ExitUnavailable || r.out != "" || strings.Contains(r.errOut, "fake-at-refused") {
		t.Errorf("after erase: %+v; want exit 5 and nothing on stdout", r)
	}
}

// TestGitCredentialKeychainUnavailable: with the keychain unavailable, get
// and erase each say what they could not do (exit 6), with the keychain's
// fix, and print nothing on stdout.
func TestGitCredentialKeychainUnavailable(t *testing.T) {
	t.Parallel()
	const fix = "run: dbus-run-session -- bash, and in it: gnome-keyring-daemon --unlock --components=secrets (type a password, Ctrl-D)\n"
	tests := []struct {
		action, in, want string
	}{
		{"get", "protocol=https\nhost=git.example.com\n\n",
			"oauthctl: cannot get a token: the keychain is unavailable: no D-Bus session bus\n" + fix},
		{"erase", "protocol=https\nhost=git.example.com\nusername=forge-user\npassword=fake-at-old\n\n",
			"oauthctl: cannot mark the rejected token: the keychain is unavailable: no D-Bus session bus\n" + fix},
	}
	for _, tt := range tests {
		t.Run(tt.action, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, gcYAML("https://t.example/token", "git.example.com"))
			e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-0", Expiry: e.clock().Add(time.Hour)})
			e.mem.FailLoad = &keyring.UnavailableError{Op: "read", Msg: "no D-Bus session bus"}
			r := e.runGC(tt.in, tt.action)
			if diff := cmp.Diff(tkResult{code: ExitStorage, errOut: tt.want}, r, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("git-credential %s (-want +got):\n%s", tt.action, diff)
			}
		})
	}
}
