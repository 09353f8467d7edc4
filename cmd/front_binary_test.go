package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// The binary tests of the front (issue 14): the small `oauthctl` program
// (cmd/oauthctl) answers `token` from stored state by itself and replaces
// itself with `oauthctl-full` for everything else. These run both built
// programs against the real Secret Service (and the real OP when a refresh
// is needed) and compare exact stdout, stderr and exit codes.

// runProgram runs bin with args, the environment env and stdin (empty:
// none), and returns what it printed and its exit code.
func runProgram(t *testing.T, bin string, env []string, stdin string, args ...string) tkResult {
	t.Helper()
	c := exec.CommandContext(t.Context(), bin, args...)
	c.Env = env
	if stdin != "" {
		c.Stdin = strings.NewReader(stdin)
	}
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	err := c.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatalf("running %s %v: %v", bin, args, err)
	}
	return tkResult{code: c.ProcessState.ExitCode(), out: out.String(), errOut: errOut.String()}
}

// envPlus returns env with k=v added (exec uses the last of duplicates).
func envPlus(env []string, kv ...string) []string {
	return append(append([]string(nil), env...), kv...)
}

// requireUnix skips the front's binary tests where the front cannot exec
// (Windows runs the full program as a child; not tested here).
func requireUnix(t *testing.T) {
	t.Helper()
	if runtime.GOOS == "windows" {
		t.Skip("the front execs the full program on Unix only")
	}
}

// frontKeychainEnv is a tkEnv whose store is the real keychain, with one
// account of provider "fake" (its token endpoint does not resolve: nothing
// here may refresh) whose access token is valid for ttl from now.
func frontKeychainEnv(t *testing.T, ttl time.Duration) (*tkEnv, keyring.Account, *keyring.Record) {
	t.Helper()
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.store = keyring.NewKeychain() // the binary's own store
	acct := fakeAccount("https://t.example/token")
	acct.Account = tkAccountName(t)
	rec := &keyring.Record{AccessToken: "fake-at-" + acct.Account, RefreshToken: "fake-rt", TokenType: "Bearer",
		Expiry: time.Now().Add(ttl).UTC().Truncate(time.Second), Scopes: []string{"openid", "email"}}
	e.seed(acct, rec)
	t.Cleanup(func() { _ = e.store.Delete(context.Background(), acct.Key()) }) // t.Context() is done in Cleanup
	return e, acct, rec
}

// sameTokenOutput compares what two programs printed for `token` in one
// format: exactly, except that --json's expires_in, counted in whole
// seconds from each process's own clock, may differ by one.
func sameTokenOutput(t *testing.T, format string, want, got tkResult) {
	t.Helper()
	if format == "--json" && want.out != got.out {
		var w, g map[string]any
		if json.Unmarshal([]byte(want.out), &w) == nil && json.Unmarshal([]byte(got.out), &g) == nil {
			wi, _ := w["expires_in"].(float64)
			gi, _ := g["expires_in"].(float64)
			if d := wi - gi; d >= -1 && d <= 1 {
				w["expires_in"] = g["expires_in"]
				wb, _ := json.Marshal(w)
				gb, _ := json.Marshal(g)
				if string(wb) == string(gb) {
					got.out = want.out
				}
			}
		}
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("token %s (-oauthctl-full +front):\n%s", format, diff)
	}
}

// TestFrontAloneServesToken: the front with no full program beside it
// answers `token` for a fresh stored token by itself: from the keychain
// with the kernel cache off, and with it on, from the keychain first (which
// fills the kernel key) and from the kernel key next, even with no D-Bus at
// all. Every format prints what oauthctl-full prints for the same state.
func TestFrontAloneServesToken(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	testkeyring.Require(t)
	bin := frontOnly(t)
	full := fullOauthctl(t)
	e, acct, rec := frontKeychainEnv(t, time.Hour)
	args := []string{"token", "fake", "--account", acct.Account}
	off := envPlus(e.environ(), keyring.KernelCacheEnv+"=0")
	creq := keyring.CacheRequest{Provider: "fake", Account: acct.Account}
	cache := keyring.NewKernelCache(e.paths.Index, "keychain", func(string) string { return "" }, time.Now)

	// What the full program prints, with the cache off (it would fill it).
	want := map[string]tkResult{}
	formats := []string{"", "--json", "--header"}
	for _, format := range formats {
		want[format] = runProgram(t, full, off, "", append(args, strings.Fields(format)...)...)
	}
	if diff := cmp.Diff(tkResult{out: rec.AccessToken + "\n"}, want[""], cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Fatalf("oauthctl-full token (-want +got):\n%s", diff)
	}
	if want["--header"].out != "Authorization: Bearer "+rec.AccessToken+"\n" || !strings.Contains(want["--json"].out, `"access_token":"`+rec.AccessToken+`"`) {
		t.Fatalf("oauthctl-full token --header, --json: %+v, %+v", want["--header"], want["--json"])
	}

	t.Run("kernel cache off", func(t *testing.T) {
		for _, format := range formats {
			sameTokenOutput(t, format, want[format], runProgram(t, bin, off, "", append(args, strings.Fields(format)...)...))
		}
		if _, ok := cache.Get(creq, e.indexBytes()); ok {
			t.Errorf("with %s=0 the front filled the kernel cache", keyring.KernelCacheEnv)
		}
	})

	t.Run("kernel cache on", func(t *testing.T) {
		requireKernelKeyring(t)
		cache.Clear()
		t.Cleanup(cache.Clear)
		if got := runProgram(t, bin, e.environ(), "", args...); got != want[""] {
			t.Fatalf("first token: %+v, want %+v", got, want[""])
		}
		c, ok := cache.Get(creq, e.indexBytes())
		if !ok || c.AccessToken != rec.AccessToken || !c.Expiry.Equal(rec.Expiry) {
			t.Fatalf("after the first token the kernel key holds the stored token: %t (hit %t)", ok && c.AccessToken == rec.AccessToken, ok)
		}
		// No D-Bus: only the kernel key can answer now (a miss would start
		// the full program, which is not there).
		noBus := envPlus(e.environ(), testkeyring.BusEnv+"=unix:path="+filepath.Join(e.dir, "no-bus"))
		for _, format := range formats {
			sameTokenOutput(t, format, want[format], runProgram(t, bin, noBus, "", append(args, strings.Fields(format)...)...))
		}
	})
}

// frontMissingFull is what the front at bin prints when it cannot start the
// full program because there is none beside it.
func frontMissingFull(bin string) string {
	return "oauthctl: cannot start the full program: " + filepath.Join(filepath.Dir(bin), exe(front.FullProgram)) + ": no such file or directory\n" +
		"install " + front.FullProgram + " beside " + front.FrontProgram + ": see README, Build and run (or run scripts/install.sh)\n"
}

// TestFrontAloneNeedsFull: with no full program beside it, whatever the
// front cannot answer from stored state (a token that needs a refresh,
// --force-refresh, --version, another command) fails with exit 1, nothing
// on stdout and the one-line error plus hint on stderr: no Go stack trace,
// no partial output.
func TestFrontAloneNeedsFull(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	testkeyring.Require(t)
	bin := frontOnly(t)
	fresh, freshAcct, _ := frontKeychainEnv(t, time.Hour)
	expired, expiredAcct, _ := frontKeychainEnv(t, -time.Minute)
	tests := []struct {
		name string
		env  *tkEnv
		args []string
	}{
		{name: "expired token", env: expired, args: []string{"token", "fake", "--account", expiredAcct.Account}},
		{name: "force-refresh", env: fresh, args: []string{"token", "fake", "--account", freshAcct.Account, "--force-refresh"}},
		{name: "version", env: fresh, args: []string{"--version"}},
		{name: "login", env: fresh, args: []string{"login"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := runProgram(t, bin, tt.env.environ(), "", tt.args...)
			if diff := cmp.Diff(tkResult{code: 1, errOut: frontMissingFull(bin)}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("oauthctl %s (-want +got):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
}

// TestFrontExecsFull: with the full program beside it, the front hands over
// whatever it does not answer, invisibly: an expired token is refreshed
// against the real OP and printed; usage and sign-in errors keep the full
// program's message and exit code; git-credential reads git's request from
// the front's stdin; --version prints the full program's version.
func TestFrontExecsFull(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	full := fullOauthctl(t)
	op := testop.Start(t)
	e := newTkEnv(t, testopTokenYAML("testop", op)+"    git_hosts: [git.example]\n    git_username: x-test-user\n")
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	e.store = keyring.NewKeychain() // the binary's own store
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	acct.Account = tkAccountName(t)
	rec.Expiry = time.Now().Add(-time.Minute)
	e.seed(acct, rec)
	t.Cleanup(func() { _ = e.store.Delete(context.Background(), acct.Key()) }) // t.Context() is done in Cleanup

	t.Run("expired token is refreshed", func(t *testing.T) {
		got := runProgram(t, bin, e.environ(), "", "token", "testop", "--account", acct.Account)
		stored := e.load(acct.Key())
		if stored.AccessToken == rec.AccessToken || stored.RefreshToken == rec.RefreshToken {
			t.Fatalf("the stored tokens were not refreshed; front: %+v", got)
		}
		if diff := cmp.Diff(tkResult{out: stored.AccessToken + "\n"}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
			t.Errorf("token (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff([]string{rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
			t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
		}
	})

	t.Run("stdin passes through", func(t *testing.T) {
		stdin := "protocol=https\nhost=git.example\n\n"
		got := runProgram(t, bin, e.environ(), stdin, "git-credential", "get")
		stored := e.load(acct.Key())
		want := tkResult{out: "username=x-test-user\npassword=" + stored.AccessToken + "\npassword_expiry_utc=" + strconv.FormatInt(stored.Expiry.Unix(), 10) + "\n"}
		if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
			t.Errorf("git-credential get (-want +got):\n%s", diff)
		}
	})

	empty := newTkEnv(t, testopTokenYAML("testop", op))
	empty.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	tests := []struct {
		name     string
		env      *tkEnv
		args     []string
		wantCode int
		errHas   string
	}{
		{name: "unknown provider", env: e, args: []string{"token", "nosuchprovider"}, wantCode: ExitUsage, errHas: "nosuchprovider"},
		{name: "nothing stored", env: empty, args: []string{"token"}, wantCode: ExitSignIn, errHas: "oauthctl login"},
		{name: "version", env: e, args: []string{"--version"}, wantCode: 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := runProgram(t, full, tt.env.environ(), "", tt.args...)
			if want.code != tt.wantCode || !strings.Contains(want.errOut, tt.errHas) {
				t.Fatalf("oauthctl-full %s: %+v, want exit %d and %q on stderr", strings.Join(tt.args, " "), want, tt.wantCode, tt.errHas)
			}
			got := runProgram(t, bin, tt.env.environ(), "", tt.args...)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("oauthctl %s (-oauthctl-full +front):\n%s", strings.Join(tt.args, " "), diff)
			}
		})
	}
	if got := runProgram(t, full, e.environ(), "", "--version"); !strings.HasPrefix(got.out, "oauthctl ") || got.errOut != "" {
		t.Errorf("oauthctl-full --version: %+v", got)
	}
}

// TestFrontSymlink: a symbolic link to the front, in another directory (as
// on $PATH), still finds the full program beside the real file.
func TestFrontSymlink(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	bin := buildOauthctl(t)
	link := filepath.Join(t.TempDir(), "oauthctl")
	if err := os.Symlink(bin, link); err != nil {
		t.Fatal(err)
	}
	env := os.Environ()
	want := runProgram(t, fullOauthctl(t), env, "", "--version")
	if want.code != 0 || !strings.HasPrefix(want.out, "oauthctl ") {
		t.Fatalf("oauthctl-full --version: %+v", want)
	}
	if diff := cmp.Diff(want, runProgram(t, link, env, "", "--version"), cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("--version through a link to the front (-oauthctl-full +link):\n%s", diff)
	}
}

// TestFrontSetupGit: setup-git, which the front hands to the full program,
// writes the front's path into git's config (git then runs the fast
// program for every credential), or "oauthctl" when that on $PATH is the
// front (also through a link); never oauthctl-full's path.
func TestFrontSetupGit(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	git, err := exec.LookPath("git")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("git is not installed (CI=true requires it)")
		}
		t.Skip("git is not installed")
	}
	bin := buildOauthctl(t)
	linkDir := t.TempDir()
	if err := os.Symlink(bin, filepath.Join(linkDir, "oauthctl")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		path string // $PATH
		want string // the helper's program
	}{
		{name: "not on PATH", path: filepath.Dir(git), want: bin},
		{name: "on PATH", path: filepath.Dir(bin) + string(os.PathListSeparator) + filepath.Dir(git), want: "oauthctl"},
		{name: "link on PATH", path: linkDir + string(os.PathListSeparator) + filepath.Dir(git), want: "oauthctl"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newTkEnv(t, "providers:\n  gitfake:\n    issuer: https://issuer.example\n    auth_url: https://issuer.example/auth\n    token_url: https://issuer.example/token\n    client_id: fake-client\n    git_hosts: [git.example]\n")
			gitconfig := filepath.Join(e.dir, "gitconfig")
			e.setenv("GIT_CONFIG_GLOBAL", gitconfig)
			e.setenv("GIT_CONFIG_NOSYSTEM", "1")
			env := envPlus(e.environ(), "PATH="+tt.path)
			key := "credential.https://git.example.helper"
			value := "!" + tt.want + " git-credential --provider gitfake"
			got := runProgram(t, bin, env, "", "setup-git", "gitfake")
			want := tkResult{errOut: "Set " + key + " = " + value + " (git config --global)\n"}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("setup-git through the front (-want +got):\n%s", diff)
			}
			config, err := os.ReadFile(gitconfig)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Contains(string(config), front.FullProgram) || !strings.Contains(string(config), "helper = "+value+"\n") {
				t.Errorf("git config:\n%s\nwant helper = %s", config, value)
			}
		})
	}
}

// TestFrontKeychainUnavailable: when the keychain cannot be read (here a
// locked one whose unlock prompt is dismissed), the front reports it itself,
// with the bytes and exit code of the full program, instead of handing
// over to the full program, which would read (and prompt) a second time.
// The front runs alone: a hand-over would fail with "cannot start".
func TestFrontKeychainUnavailable(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	testkeyring.Require(t)
	locked, stop, err := testkeyring.StartLocked()
	if err != nil {
		t.Fatalf("starting a locked keyring: %v", err)
	}
	t.Cleanup(stop)
	e, acct, _ := frontKeychainEnv(t, time.Hour)
	env := append(append(e.environ(), locked...), keyring.KernelCacheEnv+"=0")
	args := []string{"token", "fake", "--account", acct.Account}
	full := filepath.Join(filepath.Dir(buildOauthctl(t)), exe(front.FullProgram))
	want := runProgram(t, full, env, "", args...)
	if want.code != ExitStorage || want.out != "" {
		t.Fatalf("oauthctl-full with a locked keychain: %+v, want exit %d and no output", want, ExitStorage)
	}
	if got := runProgram(t, frontOnly(t), env, "", args...); got != want {
		t.Errorf("the front alone: %+v, the full program: %+v", got, want)
	}
}

// TestFrontInterrupted: Ctrl-C while the front waits for the keychain (here
// a bus that accepts the connection and never answers) ends it at once with
// exit 130 and "interrupted", as the full program does; it does not start
// the full program, which would go on to read again or refresh.
func TestFrontInterrupted(t *testing.T) {
	t.Parallel()
	requireUnix(t)
	sock := filepath.Join(t.TempDir(), "bus")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	// The bus accepts and then says nothing; the first connection tells that
	// the front is in its keychain read (its Ctrl-C handling is set up).
	accepted := make(chan net.Conn, 8)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			accepted <- c
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		for {
			select {
			case c := <-accepted:
				c.Close()
			default:
				return
			}
		}
	})
	testkeyring.Require(t) // to seed the account; the front then gets a bus that never answers
	e, acct, _ := frontKeychainEnv(t, time.Hour)
	c := exec.CommandContext(t.Context(), frontOnly(t), "token", "fake", "--account", acct.Account)
	c.Env = append(e.environ(), "DBUS_SESSION_BUS_ADDRESS=unix:path="+sock, keyring.KernelCacheEnv+"=0")
	var out, errOut strings.Builder
	c.Stdout, c.Stderr = &out, &errOut
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-accepted:
		accepted <- c // for the cleanup
	case <-time.After(30 * time.Second):
		t.Fatal("the front never connected to the session bus")
	}
	time.Sleep(100 * time.Millisecond) // into the read
	start := time.Now()
	if err := c.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	err = c.Wait()
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() != ExitInterrupted {
		t.Fatalf("front after Ctrl-C: %v, want exit %d", err, ExitInterrupted)
	}
	if out.String() != "" || errOut.String() != "oauthctl: interrupted\n" {
		t.Errorf("stdout %q, stderr %q; want nothing and %q", out.String(), errOut.String(), "oauthctl: interrupted\n")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("the front took %v to stop after Ctrl-C", d)
	}
}
