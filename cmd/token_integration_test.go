package cmd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// tkAccountName is a unique account name, so that tests sharing the private
// keychain never touch each other's items.
func tkAccountName(t *testing.T) string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "tk-" + hex.EncodeToString(b[:])
}

// TestTokenConcurrentProcesses is row 36 with the real binary and the real
// Secret Service: 20 `oauthctl token` processes start at once with an
// expired access token, against an OP that revokes the whole grant when a
// rotated refresh token is presented again. Exactly one refresh request
// reaches the OP, every process prints the same new token, and the session
// survives.
func TestTokenConcurrentProcesses(t *testing.T) {
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	op := testop.Start(t, testop.WithRevokeFamilyOnReuse())
	e := newTkEnv(t, testopTokenYAML("testop", op))
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	e.store = keyring.NewKeychain() // the binary's own store
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	acct.Account = tkAccountName(t)
	rec.Expiry = time.Now().Add(-time.Minute)
	e.seed(acct, rec)
	t.Cleanup(func() { _ = e.store.Delete(context.Background(), acct.Key()) }) // t.Context() is done in Cleanup

	outs, errs := runAtOnce(t, 20, e.environ(), bin, "token", "testop", "--account", acct.Account)
	stored := e.load(acct.Key())
	if stored.RefreshToken == rec.RefreshToken || stored.AccessToken == rec.AccessToken {
		t.Fatalf("the stored tokens were not refreshed")
	}
	for i := range outs {
		if outs[i].String() != stored.AccessToken+"\n" || errs[i].Len() != 0 {
			t.Errorf("process %d printed %q, stderr %q; want the new access token only", i, outs[i], errs[i])
		}
	}
	if diff := cmp.Diff([]string{rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
	// The binaries run with the kernel cache on (the default): after the
	// burst it holds the one new token, and answers without the keychain.
	creq := keyring.CacheRequest{Provider: "testop", Account: acct.Account}
	kc := keyring.NewKernelCache(e.paths.Index, "keychain", func(string) string { return "" }, time.Now)
	if kc.Enabled() {
		t.Cleanup(kc.Clear)
		index := e.indexBytes()
		if c, ok := kc.Get(creq, index); ok && c.AccessToken != stored.AccessToken {
			t.Errorf("the kernel cache holds another token than the one refresh stored")
		}
		again := exec.CommandContext(t.Context(), bin, "token", "testop", "--account", acct.Account)
		again.Env = e.environ()
		if out, err := again.Output(); err != nil || string(out) != stored.AccessToken+"\n" {
			t.Errorf("token after the burst: %v, printed the stored token: %t", err, string(out) == stored.AccessToken+"\n")
		}
		if c, ok := kc.Get(creq, index); !ok || c.AccessToken != stored.AccessToken {
			t.Errorf("the kernel cache does not hold the stored token after a token call (hit %t)", ok)
		}
	}

	// The session survives: the rotated refresh token works.
	before := e.indexBytes()
	later := exec.CommandContext(t.Context(), bin, "token", "testop", "--account", acct.Account, "--force-refresh")
	later.Env = e.environ()
	out, err := later.Output()
	if err != nil {
		t.Fatalf("a later token --force-refresh: %v", err)
	}
	final := e.load(acct.Key())
	if string(out) != final.AccessToken+"\n" || final.AccessToken == stored.AccessToken {
		t.Errorf("later token printed %q, want the newly refreshed token", out)
	}
	if c, ok := kc.Get(creq, before); ok {
		t.Errorf("after --force-refresh the kernel cache still answers with the replaced token (same as before: %t)", c.AccessToken == stored.AccessToken)
	}
	after := exec.CommandContext(t.Context(), bin, "token", "testop", "--account", acct.Account)
	after.Env = e.environ()
	if out, err := after.Output(); err != nil || string(out) != final.AccessToken+"\n" {
		t.Errorf("token after --force-refresh: %v; printed the refreshed token: %t", err, string(out) == final.AccessToken+"\n")
	}
	checkGrantAlive(t, op, []string{rec.RefreshToken, stored.RefreshToken}, final.AccessToken)
	if a := e.index().Find("testop", acct.Account); a == nil || !a.Expiry.Equal(final.Expiry) || a.LoginRequired {
		t.Errorf("index entry %+v, want expiry %v", a, final.Expiry)
	}
}

// runAtOnce starts n processes of argv with env together and waits for
// them all; it returns each one's stdout and stderr. A process that cannot
// start ends the test; one that fails is an error.
func runAtOnce(t *testing.T, n int, env []string, argv ...string) (outs, errs []*bytes.Buffer) {
	t.Helper()
	cmds := make([]*exec.Cmd, n)
	outs, errs = make([]*bytes.Buffer, n), make([]*bytes.Buffer, n)
	for i := range cmds {
		outs[i], errs[i] = &bytes.Buffer{}, &bytes.Buffer{}
		cmds[i] = exec.CommandContext(t.Context(), argv[0], argv[1:]...)
		cmds[i].Env = env
		cmds[i].Stdout, cmds[i].Stderr = outs[i], errs[i]
	}
	for i, c := range cmds {
		if err := c.Start(); err != nil {
			t.Fatalf("starting process %d: %v", i, err)
		}
	}
	for i, c := range cmds {
		if err := c.Wait(); err != nil {
			t.Errorf("process %d: %v; stderr: %s", i, err, errs[i])
		}
	}
	return outs, errs
}

// checkGrantAlive checks the testop side of refreshes through oauthctl:
// the refresh tokens sent were exactly wantSent, each refresh got 200, and
// final, the last access token, still opens the userinfo endpoint.
func checkGrantAlive(t *testing.T, op *testop.OP, wantSent []string, final string) {
	t.Helper()
	if diff := cmp.Diff(wantSent, refreshTokensSent(op)); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
	for _, r := range op.TokenRequests("refresh_token") {
		if r.Status != http.StatusOK {
			t.Errorf("a refresh request got HTTP %d", r.Status)
		}
	}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, op.Endpoints().Userinfo, nil)
	req.Header.Set("Authorization", "Bearer "+final)
	resp, err := op.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("userinfo with the final token: %s", resp.Status)
	}
}

// TestTokenLockHelperProcess is not a test: TestTokenLockHolderKilled runs
// the test binary with it to hold a refresh lock in another process.
func TestTokenLockHelperProcess(t *testing.T) {
	path := os.Getenv("OAUTHCTL_TK_LOCK_PATH")
	if path == "" {
		t.Skip("helper process for TestTokenLockHolderKilled")
	}
	unlock, err := keyring.Lock(t.Context(), path, 5*time.Second)
	if err != nil {
		fmt.Println("error:", err)
		os.Exit(1)
	}
	defer unlock()
	fmt.Println("locked")
	time.Sleep(time.Minute)
	os.Exit(0)
}

// TestTokenLockHolderKilled is row 37: a process SIGKILLed while it holds
// the refresh lock does not wedge later runs; the OS released its lock.
func TestTokenLockHolderKilled(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("no SIGKILL")
	}
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	lockPath := e.paths.AccountLockPath(acct.Key())

	holder := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^TestTokenLockHelperProcess$", "-test.count=1")
	holder.Env = append(os.Environ(), "OAUTHCTL_TK_LOCK_PATH="+lockPath)
	stdout, err := holder.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := holder.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "locked\n" {
		t.Fatalf("helper said %q (%v), want locked", line, err)
	}
	if _, err := keyring.Lock(t.Context(), lockPath, 100*time.Millisecond); !errors.Is(err, keyring.ErrLockTimeout) {
		t.Fatalf("the helper does not hold the lock: %v", err)
	}
	if err := holder.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	_ = holder.Wait()

	got := e.runWith(func(o *TokenOptions) { o.LockWait = 5 * time.Second }, "token", "fake")
	if diff := cmp.Diff(tkResult{out: "fake-at-new\n"}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"fake-rt-old"}, ts.refreshTokens()); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
}

// TestTokenChunkedRoundTrip is row 46 through token's path: a 6 KB token
// set in the real Secret Service, split into chunks by a small chunk size
// (Windows' and macOS' limits), is printed byte for byte, and a 6 KB set
// from a refresh is stored in chunks and read back identical.
func TestTokenChunkedRoundTrip(t *testing.T) {
	t.Parallel()
	testkeyring.Require(t)
	big := func(prefix string, n int) string { return prefix + strings.Repeat("x", n-len(prefix)) }
	newSet := struct{ AT, RT, ID string }{big("fake-at-new-", 3000), big("fake-rt-new-", 2000), big(fakeBoundIDToken(time.Now().Add(24*time.Hour)), 1200)}
	ts := newTkTokenServer(t, tkJSON(200, fmt.Sprintf(`{"access_token":%q,"token_type":"Bearer","expires_in":3600,"refresh_token":%q,"id_token":%q,"scope":"openid email"}`,
		newSet.AT, newSet.RT, newSet.ID)))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	service := "oauthctl-test-" + tkAccountName(t)
	kc := &keyring.Keychain{Backend: keyring.OSBackend{}, Service: service, Timeout: 10 * time.Second, ChunkSize: 1000}
	e.store = kc
	acct := fakeAccount(ts.srv.URL)
	t.Cleanup(func() { _ = kc.Delete(context.Background(), acct.Key()) }) // t.Context() is done in Cleanup
	old := &keyring.Record{AccessToken: big("fake-at-old-", 2500), RefreshToken: big("fake-rt-old-", 2000), IDToken: fakeIDToken(e.clock().Add(time.Hour)) + strings.Repeat("y", 1500),
		TokenType: "Bearer", Expiry: e.clock().Add(time.Hour), Scopes: []string{"openid"}}
	e.seed(acct, old)

	raw, err := keyring.OSBackend{}.Get(service, acct.Key().String())
	if err != nil || !strings.Contains(raw, `"chunks":`) {
		t.Fatalf("main item %.80q (%v), want a chunk manifest", raw, err)
	}
	if got := e.run("token", "fake"); got.code != 0 || got.out != old.AccessToken+"\n" {
		t.Errorf("token: exit %d, printed %d bytes, want the %d-byte access token", got.code, len(got.out), len(old.AccessToken)+1)
	}
	if diff := cmp.Diff(old, e.load(acct.Key())); diff != "" {
		t.Errorf("stored record (-want +got):\n%s", diff)
	}

	e.advance(2 * time.Hour)
	if got := e.run("token", "fake"); got.code != 0 || got.out != newSet.AT+"\n" {
		t.Errorf("token after expiry: exit %d (%s), printed %d bytes, want the new %d-byte access token", got.code, got.errOut, len(got.out), len(newSet.AT)+1)
	}
	want := &keyring.Record{AccessToken: newSet.AT, RefreshToken: newSet.RT, IDToken: newSet.ID, TokenType: "Bearer",
		Expiry: e.clock().Add(time.Hour), Scopes: []string{"openid", "email"}, IssuedAt: e.clock()}
	if diff := cmp.Diff(want, e.load(acct.Key())); diff != "" {
		t.Errorf("stored record after the refresh (-want +got):\n%s", diff)
	}
	if got := e.run("token", "fake", "--id-token", "--min-ttl", "0s"); got.out != newSet.ID+"\n" {
		t.Errorf("--id-token printed %d bytes, want the %d-byte ID token", len(got.out), len(newSet.ID)+1)
	}
}

// TestExecBinary runs `oauthctl exec` as a process: SIGTERM sent to
// oauthctl reaches the command, oauthctl exits with the command's status,
// and the token appears nowhere in oauthctl's output.
func TestExecBinary(t *testing.T) {
	testkeyring.Require(t)
	if runtime.GOOS == "windows" {
		t.Skip("uses sh and SIGTERM")
	}
	bin := buildOauthctl(t)
	e := newTkEnv(t, fixedYAML("https://t.example/token"))
	e.store = keyring.NewKeychain()
	acct := fakeAccount("https://t.example/token")
	acct.Account = tkAccountName(t)
	token := "fake-at-" + acct.Account
	e.seed(acct, &keyring.Record{AccessToken: token, RefreshToken: "fake-rt", Expiry: time.Now().Add(time.Hour)})
	t.Cleanup(func() { _ = e.store.Delete(context.Background(), acct.Key()) }) // t.Context() is done in Cleanup

	script := `trap 'echo got-term; exit 0' TERM
test -n "$OAUTHCTL_ACCESS_TOKEN" && echo has-token
echo ready
while :; do sleep 0.05; done`
	c := exec.CommandContext(t.Context(), bin, "exec", "fake", "--account", acct.Account, "--", "sh", "-c", script)
	c.Env = e.environ()
	var errOut bytes.Buffer
	c.Stderr = &errOut
	stdout, err := c.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var out strings.Builder
	r := bufio.NewReader(stdout)
	var wg sync.WaitGroup
	wg.Add(1)
	ready := make(chan struct{})
	go func() {
		defer wg.Done()
		for {
			line, err := r.ReadString('\n')
			out.WriteString(line)
			if line == "ready\n" {
				close(ready)
			}
			if err != nil {
				return
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(20 * time.Second):
		t.Fatalf("the command did not start; stderr: %s", errOut.String())
	}
	if err := c.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	err = c.Wait()
	if err != nil {
		t.Errorf("oauthctl exec: %v; stderr: %s", err, errOut.String())
	}
	if got := out.String(); got != "has-token\nready\ngot-term\n" {
		t.Errorf("stdout %q, want has-token, ready, got-term", got)
	}
	if strings.Contains(out.String()+errOut.String(), token) {
		t.Errorf("the token appears in the output")
	}

	status := exec.CommandContext(t.Context(), bin, "exec", "fake", "--account", acct.Account, "--", "sh", "-c", "exit 42")
	status.Env = e.environ()
	if err := status.Run(); status.ProcessState.ExitCode() != 42 {
		t.Errorf("exit status %d (%v), want 42", status.ProcessState.ExitCode(), err)
	}
}
