package cmd

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// requireGit returns the path of git and of git-http-backend. It skips the
// test when they are missing, and fails under CI=true (.ci/run installs git).
func requireGit(t *testing.T) (git, backend string) {
	t.Helper()
	skip := func(msg string) {
		t.Helper()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true requires it)")
		}
		t.Skip(msg)
	}
	if runtime.GOOS == "windows" {
		skip("git tests use sh")
	}
	git, err := exec.LookPath("git")
	if err != nil {
		skip("git is not installed")
	}
	out, err := exec.Command(git, "--exec-path").Output()
	if err != nil {
		skip("git --exec-path: " + err.Error())
	}
	backend = filepath.Join(strings.TrimSpace(string(out)), "git-http-backend")
	if _, err := os.Stat(backend); err != nil {
		skip("git-http-backend is not installed")
	}
	return git, backend
}

// gitServer is a smart-HTTP git server on 127.0.0.1 (git http-backend behind
// net/http/cgi) that accepts HTTP Basic credentials only when the OP
// accepts the password as an access token at its userinfo endpoint, and the
// user name is the provider's git user name.
type gitServer struct {
	URL  string // http://127.0.0.1:PORT
	Host string // 127.0.0.1:PORT

	mu       sync.Mutex
	accepted []string // passwords the OP accepted
	refused  int      // requests with credentials that were refused
}

func startGitServer(t *testing.T, op *testop.OP, backend, root, wantUser string) *gitServer {
	t.Helper()
	gs := &gitServer{}
	cgiHandler := &cgi.Handler{Path: backend, Env: []string{"GIT_PROJECT_ROOT=" + root, "GIT_HTTP_EXPORT_ALL=1"}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if !ok {
			w.Header().Set("WWW-Authenticate", `Basic realm="test git"`)
			http.Error(w, "authentication required", http.StatusUnauthorized)
			return
		}
		if user != wantUser || !opAccepts(r.Context(), op, pass) {
			gs.mu.Lock()
			gs.refused++
			gs.mu.Unlock()
			w.Header().Set("WWW-Authenticate", `Basic realm="test git"`)
			http.Error(w, "bad credentials", http.StatusUnauthorized)
			return
		}
		gs.mu.Lock()
		gs.accepted = append(gs.accepted, pass)
		gs.mu.Unlock()
		cgiHandler.ServeHTTP(w, r)
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	t.Cleanup(func() { _ = srv.Close() })
	gs.Host = ln.Addr().String()
	gs.URL = "http://" + gs.Host
	return gs
}

// opAccepts asks the OP's userinfo endpoint whether token is a valid access
// token.
func opAccepts(ctx context.Context, op *testop.OP, token string) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, op.Endpoints().Userinfo, nil)
	if err != nil {
		return false
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := op.Client().Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

func (gs *gitServer) stats() (accepted []string, refused int) {
	gs.mu.Lock()
	defer gs.mu.Unlock()
	return append([]string(nil), gs.accepted...), gs.refused
}

// gitRun runs git (or the oauthctl binary) with env and stdin, bounded, and
// returns stdout, stderr and the error. A run that would wait for a prompt
// hits the bound.
func gitRun(t *testing.T, env []string, dir, stdin, name string, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env, cmd.Dir = env, dir
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %s did not finish (waiting for a prompt?); stderr:\n%s", name, strings.Join(args, " "), errOut.String())
	}
	return out.String(), errOut.String(), err
}

// TestGitCredentialEndToEnd runs the real git against a local smart-HTTP
// server that checks the password with the in-process OP, with the built
// oauthctl as git's credential helper (configured by `oauthctl setup-git`)
// and the real keychain: a clone needs a login and works after it; erase
// then get yields a refreshed token; after logout the clone fails without a
// prompt; unknown hosts and plain http to other hosts get nothing; no token
// ever reaches stderr.
func TestGitCredentialEndToEnd(t *testing.T) {
	git, backend := requireGit(t)
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	op := testop.Start(t)

	dir := t.TempDir()
	root := filepath.Join(dir, "srv")
	gs := startGitServer(t, op, backend, root, "x-test-user")
	yaml := testopTokenYAML("testop", op) + "    git_hosts: [" + gs.Host + "]\n    git_username: x-test-user\n"
	e := newTkEnv(t, yaml)
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	e.setenv("GIT_CONFIG_GLOBAL", filepath.Join(dir, "gitconfig"))
	e.setenv("GIT_CONFIG_NOSYSTEM", "1")
	e.setenv("GIT_TERMINAL_PROMPT", "0")
	e.setenv("GIT_ASKPASS", "")
	e.setenv("SSH_ASKPASS", "")
	e.setenv("GIT_AUTHOR_NAME", "Test")
	e.setenv("GIT_AUTHOR_EMAIL", "test@example.com")
	e.setenv("GIT_COMMITTER_NAME", "Test")
	e.setenv("GIT_COMMITTER_EMAIL", "test@example.com")
	e.store = keyring.NewKeychain() // the binary's own store
	env := e.environ()
	var stderrs []string
	run := func(stdin, name string, args ...string) (string, string, error) {
		t.Helper()
		out, errOut, err := gitRun(t, env, dir, stdin, name, args...)
		stderrs = append(stderrs, errOut)
		return out, errOut, err
	}

	// The repository: a bare repo with one commit, served over HTTP.
	for _, args := range [][]string{
		{"init", "-q", "--bare", filepath.Join(root, "repo.git")},
		{"init", "-q", filepath.Join(dir, "seed")},
	} {
		if _, errOut, err := run("", git, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, errOut)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "seed", "README"), []byte("hello over smart http\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"-C", filepath.Join(dir, "seed"), "add", "README"},
		{"-C", filepath.Join(dir, "seed"), "commit", "-q", "-m", "seed"},
		{"-C", filepath.Join(dir, "seed"), "push", "-q", filepath.Join(root, "repo.git"), "HEAD:refs/heads/main"},
		{"--git-dir", filepath.Join(root, "repo.git"), "symbolic-ref", "HEAD", "refs/heads/main"},
	} {
		if _, errOut, err := run("", git, args...); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, errOut)
		}
	}
	repoURL := gs.URL + "/repo.git"
	clone := func(name string) (string, error) {
		t.Helper()
		_, errOut, err := run("", git, "clone", "-q", repoURL, filepath.Join(dir, name))
		return errOut, err
	}

	// setup-git writes the helper for the provider's git host, once.
	_, errOut, err := run("", bin, "setup-git", "testop")
	if err != nil {
		t.Fatalf("setup-git: %v\n%s", err, errOut)
	}
	for _, key := range []string{"credential.https://" + gs.Host + ".helper", "credential.http://" + gs.Host + ".helper"} {
		if !strings.Contains(errOut, "Set "+key+" = !") {
			t.Errorf("setup-git did not report %s:\n%s", key, errOut)
		}
	}
	_, errOut, err = run("", bin, "setup-git", "testop")
	if err != nil || strings.Count(errOut, "Already set: ") != 2 || strings.Contains(errOut, "Set credential") {
		t.Errorf("setup-git again: %v\n%s", err, errOut)
	}
	out, _, err := run("", git, "config", "--global", "--get-all", "credential.http://"+gs.Host+".helper")
	if want := "!" + bin + " git-credential --provider testop\n"; err != nil || out != want {
		t.Errorf("git config: %q, %v; want %q", out, err, want)
	}

	// Before any login: no token, no prompt, git fails with our hint.
	errOut, err = clone("before")
	if err == nil || !strings.Contains(errOut, "run: oauthctl login testop") {
		t.Fatalf("clone before login: %v\n%s", err, errOut)
	}

	// After the login, the clone works with the token as the password.
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	acct.Account = tkAccountName(t)
	e.seed(acct, rec)
	t.Cleanup(func() { _ = e.store.Delete(context.Background(), acct.Key()) })
	if errOut, err := clone("after"); err != nil {
		t.Fatalf("clone after login: %v\n%s", err, errOut)
	}
	if data, err := os.ReadFile(filepath.Join(dir, "after", "README")); err != nil || string(data) != "hello over smart http\n" {
		t.Errorf("cloned README: %q, %v", data, err)
	}
	accepted, _ := gs.stats()
	if len(accepted) == 0 || accepted[0] != rec.AccessToken {
		t.Errorf("the server accepted %d passwords, want the stored access token", len(accepted))
	}

	// git's reject (erase) then fill (get): a refreshed token.
	cred := "protocol=http\nhost=" + gs.Host + "\n"
	if _, errOut, err := run(cred+"username=x-test-user\npassword="+rec.AccessToken+"\n\n", git, "credential", "reject"); err != nil {
		t.Fatalf("git credential reject: %v\n%s", err, errOut)
	}
	out, errOut, err = run(cred+"\n", git, "credential", "fill")
	if err != nil {
		t.Fatalf("git credential fill: %v\n%s", err, errOut)
	}
	stored := e.load(acct.Key())
	if stored.AccessToken == rec.AccessToken || !strings.Contains(out, "password="+stored.AccessToken+"\n") ||
		!strings.Contains(out, "username=x-test-user\n") {
		t.Errorf("fill after reject: %q; want the refreshed token (stored %t new)", out, stored.AccessToken != rec.AccessToken)
	}
	if n := len(op.TokenRequests("refresh_token")); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
	if !opAccepts(t.Context(), op, stored.AccessToken) {
		t.Error("the OP does not accept the refreshed token")
	}
	// The helper directly: the fresh token now, without another refresh.
	out, errOut, err = run(cred+"\n", bin, "git-credential", "get")
	if err != nil || !strings.HasPrefix(out, "username=x-test-user\npassword="+stored.AccessToken+"\npassword_expiry_utc=") {
		t.Errorf("get: %q, %v\n%s", out, err, errOut)
	}

	// Requests that never get a token.
	for _, tc := range []struct{ name, in, args, wantErr string }{
		{"unknown host", "protocol=https\nhost=unknown.example\n\n", "get", "no provider serves the git host unknown.example"},
		{"plain http to another host", "protocol=http\nhost=git.example.com\n\n", "get --provider testop", "over plain http"},
	} {
		out, errOut, err := run(tc.in, bin, append([]string{"git-credential"}, strings.Fields(tc.args)...)...)
		if err != nil || out != "" || !strings.Contains(errOut, tc.wantErr) {
			t.Errorf("%s: stdout %q, err %v, stderr %q; want nothing, exit 0, %q", tc.name, out, err, errOut, tc.wantErr)
		}
	}

	// After logout: the clone fails at once, without a prompt.
	if _, errOut, err := run("", bin, "logout", "testop", "--account", acct.Account); err != nil {
		t.Fatalf("logout: %v\n%s", err, errOut)
	}
	errOut, err = clone("after-logout")
	if err == nil || !strings.Contains(errOut, "run: oauthctl login testop") {
		t.Errorf("clone after logout: %v\n%s", err, errOut)
	}
	if _, err := os.Stat(filepath.Join(dir, "after-logout", "README")); err == nil {
		t.Error("the clone after logout got the files")
	}

	for _, s := range stderrs {
		for _, tok := range []string{rec.AccessToken, rec.RefreshToken, stored.AccessToken, stored.RefreshToken} {
			if tok != "" && strings.Contains(s, tok) {
				t.Fatalf("a token reached stderr:\n%s", s)
			}
		}
	}
}
