package cmd

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/internal/testvault"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/vault"
)

// vaultMachine is one simulated host that shares a Vault with others: its
// own HOME, XDG directories and lock directory, no keychain and no D-Bus
// (a bus address that points nowhere, and no PATH to autolaunch one), and
// the same Vault settings.
type vaultMachine struct {
	bin string
	dir string
	env []string
}

func newVaultMachine(t *testing.T, bin string, srv *testvault.Server, prefix, providersYAML string, extra ...string) *vaultMachine {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config", "oauthctl")
	if err := os.MkdirAll(cfg, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cfg, "providers.yaml"), []byte(providersYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	env := []string{
		"HOME=" + dir, "PATH=", "XDG_CONFIG_HOME=" + filepath.Join(dir, "config"),
		"XDG_STATE_HOME=" + filepath.Join(dir, "state"), "XDG_RUNTIME_DIR=" + filepath.Join(dir, "run"),
		"OAUTHCTL_LOCK_DIR=" + filepath.Join(dir, "locks"),
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + filepath.Join(dir, "no-bus"),
		"OAUTHCTL_STORE=vault",
	}
	env = append(env, srv.Env(prefix)...)
	return &vaultMachine{bin: bin, dir: dir, env: append(env, extra...)}
}

func (m *vaultMachine) command(ctx context.Context, args ...string) *exec.Cmd {
	c := exec.CommandContext(ctx, m.bin, args...)
	c.Env = m.env
	return c
}

// run runs oauthctl args on m and returns stdout, stderr and the exit code.
func (m *vaultMachine) run(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	c := m.command(t.Context(), args...)
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return stdout.String(), stderr.String(), 0
	case errors.As(err, &ee):
		return stdout.String(), stderr.String(), ee.ExitCode()
	}
	t.Fatalf("running oauthctl %v: %v", args, err)
	return "", "", -1
}

// checkNothingLocal asserts that m wrote nothing but lock files: no index,
// no token, no client registration on the machine.
func (m *vaultMachine) checkNothingLocal(t *testing.T) {
	t.Helper()
	_ = filepath.WalkDir(m.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || strings.HasSuffix(path, ".lock") || strings.HasSuffix(path, filepath.Join("oauthctl", "providers.yaml")) {
			return nil
		}
		t.Errorf("oauthctl wrote %s on a machine that keeps its state in Vault", path)
		return nil
	})
}

// seedVault stores acct and rec in Vault under prefix, as a login does.
func seedVault(t *testing.T, srv *testvault.Server, prefix string, acct keyring.Account, rec *keyring.Record) *vault.Vault {
	t.Helper()
	v, err := vault.New(vault.Config{Addr: srv.Addr, Token: srv.Token, Mount: srv.Mount, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	if err := v.Save(t.Context(), acct.Key(), rec); err != nil {
		t.Fatal(err)
	}
	if err := v.UpdateIndex(t.Context(), func(ix *keyring.Index) error { ix.Put(acct); return nil }); err != nil {
		t.Fatal(err)
	}
	return v
}

// TestVaultBinary runs the built oauthctl on several simulated machines
// that share one real Vault dev server (issue 12), against a real OpenID
// provider with refresh token rotation and reuse detection.
func TestVaultBinary(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("uses SIGKILL")
	}
	srv := testvault.Require(t)
	bin := buildOauthctl(t)

	// Login on A; B, with no local state, gets tokens, sees the account and
	// logs out; the session is then over on A too.
	t.Run("login on one machine, token on another, logout everywhere", func(t *testing.T) {
		t.Parallel()
		op := testop.Start(t, testop.WithRevokeFamilyOnReuse())
		prefix := testvault.Prefix(t)
		yaml := testopYAML("shared", op.Issuer, testop.NativeClientID, "openid, email, offline_access")
		a := newVaultMachine(t, bin, srv, prefix, yaml)
		b := newVaultMachine(t, bin, srv, prefix, yaml)

		var stdout bytes.Buffer
		stderr := newSyncBuffer()
		c := a.command(t.Context(), "login", "shared", "--no-browser")
		c.Stdout, c.Stderr = &stdout, stderr
		if err := c.Start(); err != nil {
			t.Fatal(err)
		}
		authURL := stderr.waitFor(t, regexp.MustCompile(`\n  (http://\S+)\n`))[1]
		if _, err := testop.NewBrowser(op, testop.Username, testop.Password).Visit(t.Context(), authURL); err != nil {
			t.Fatalf("browser: %v\nstderr:\n%s", err, stderr)
		}
		if err := c.Wait(); err != nil {
			t.Fatalf("login on A: %v\nstderr:\n%s", err, stderr)
		}
		if stdout.Len() != 0 || !strings.Contains(stderr.String(), "Logged in to shared as ") {
			t.Errorf("login on A: stdout %q, stderr:\n%s", stdout.String(), stderr)
		}

		out, errOut, code := b.run(t, "token", "shared")
		v := vaultAt(t, srv, prefix)
		ix, err := v.LoadIndex(t.Context())
		if err != nil || len(ix.Accounts) != 1 {
			t.Fatalf("index in Vault after the login: %+v, %v", ix, err)
		}
		rec, err := v.Load(t.Context(), ix.Accounts[0].Key())
		if err != nil {
			t.Fatal(err)
		}
		if code != 0 || out != rec.AccessToken+"\n" || errOut != "" {
			t.Errorf("token on B: exit %d, stdout %q, stderr %q; want the stored access token", code, out, errOut)
		}
		if out, errOut, code := b.run(t, "status"); code != 0 || !strings.Contains(out, ix.Accounts[0].Account) {
			t.Errorf("status on B: exit %d, stdout %q, stderr %q", code, out, errOut)
		}

		// A caches nothing (no kernel keyring copy with a shared store): its
		// token below must see B's logout at once.
		if out, errOut, code := a.run(t, "token", "shared"); code != 0 || out != rec.AccessToken+"\n" {
			t.Errorf("token on A: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		if _, errOut, code := b.run(t, "logout", "shared"); code != 0 {
			t.Fatalf("logout on B: exit %d, stderr %q", code, errOut)
		}
		for name, m := range map[string]*vaultMachine{"A": a, "B": b} {
			out, errOut, code := m.run(t, "token", "shared")
			if code != ExitSignIn || out != "" || !strings.Contains(errOut, "not logged in to shared") {
				t.Errorf("token on %s after logout on B: exit %d, stdout %q, stderr %q; want exit %d", name, code, out, errOut, ExitSignIn)
			}
			m.checkNothingLocal(t)
		}
		if _, err := v.Load(t.Context(), ix.Accounts[0].Key()); !errors.Is(err, keyring.ErrNotFound) {
			t.Errorf("token entry after logout: %v, want it gone", err)
		}
	})

	// 4 machines x 5 concurrent `oauthctl token` on an expired token: one
	// refresh request, one token printed by all 20, the grant survives.
	t.Run("four machines refresh once", func(t *testing.T) {
		t.Parallel()
		op := testop.Start(t, testop.WithRevokeFamilyOnReuse())
		prefix := testvault.Prefix(t)
		acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
		rec.Expiry = time.Now().Add(-time.Minute)
		v := seedVault(t, srv, prefix, acct, rec)
		yaml := testopTokenYAML("testop", op)
		const machines, procs = 4, 5
		var cmds []*exec.Cmd
		var outs, errs []*bytes.Buffer
		var ms []*vaultMachine
		for range machines {
			m := newVaultMachine(t, bin, srv, prefix, yaml, "OAUTHCTL_TESTOP_CLIENT_ID="+testop.NativeClientID)
			ms = append(ms, m)
			for range procs {
				c := m.command(t.Context(), "token", "testop")
				o, e := &bytes.Buffer{}, &bytes.Buffer{}
				c.Stdout, c.Stderr = o, e
				cmds, outs, errs = append(cmds, c), append(outs, o), append(errs, e)
			}
		}
		for i, c := range cmds {
			if err := c.Start(); err != nil {
				t.Fatalf("starting process %d: %v", i, err)
			}
		}
		for i, c := range cmds {
			if err := c.Wait(); err != nil {
				t.Errorf("process %d (machine %d): %v; stderr: %s", i, i/procs, err, errs[i])
			}
		}
		stored, err := v.Load(t.Context(), acct.Key())
		if err != nil {
			t.Fatal(err)
		}
		if stored.RefreshToken == rec.RefreshToken || stored.AccessToken == rec.AccessToken {
			t.Fatal("the stored tokens were not refreshed")
		}
		for i := range cmds {
			if outs[i].String() != stored.AccessToken+"\n" || errs[i].Len() != 0 {
				t.Errorf("process %d (machine %d) printed %q, stderr %q; want the new access token only", i, i/procs, outs[i], errs[i])
			}
		}
		if diff := cmp.Diff([]string{rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
			t.Errorf("refresh tokens sent by %d processes on %d machines (-want +got):\n%s", machines*procs, machines, diff)
		}
		// The grant survives: another machine can rotate again.
		out, errOut, code := ms[2].run(t, "token", "testop", "--force-refresh")
		final, _ := v.Load(t.Context(), acct.Key())
		if code != 0 || out != final.AccessToken+"\n" || final.AccessToken == stored.AccessToken {
			t.Errorf("a later --force-refresh: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		checkGrantAlive(t, op, []string{rec.RefreshToken, stored.RefreshToken}, final.AccessToken)
		for _, m := range ms {
			m.checkNothingLocal(t)
		}
	})

	// A host killed while it holds the lease: another takes over after
	// lease_until + skew. If the provider never processed the dead host's
	// request, nothing is lost. If it did (it rotated the refresh token and
	// the answer died with the host), that one rotation is lost: Vault
	// still has the old refresh token, whose reuse the provider punishes by
	// revoking the grant; the account then needs a new login (exit 4).
	for _, tt := range []struct {
		name        string
		forwardHung bool // the hung request reached the provider
		wantCode    int
		wantErr     string
	}{
		{name: "killed before the provider answered: nothing lost", wantCode: 0},
		{name: "killed after the provider rotated: that rotation is lost", forwardHung: true, wantCode: ExitSignIn,
			wantErr: "the provider rejected the refresh token"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			op := testop.Start(t, testop.WithRevokeFamilyOnReuse())
			hung := make(chan struct{})
			release := make(chan struct{})
			var once sync.Once
			target, _ := url.Parse(op.Endpoints().Token)
			rp := httputil.NewSingleHostReverseProxy(target)
			rp.Director = func(r *http.Request) {
				r.URL.Scheme, r.URL.Host, r.Host = target.Scheme, target.Host, target.Host
				r.URL.Path = target.Path
			}
			proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				first := false
				once.Do(func() { first = true })
				if !first {
					rp.ServeHTTP(w, r)
					return
				}
				if tt.forwardHung { // the provider processes it; the answer never arrives
					rp.ServeHTTP(httptest.NewRecorder(), r)
				}
				close(hung)
				<-release
			}))
			defer func() { close(release); proxy.Close() }()

			prefix := testvault.Prefix(t)
			acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
			acct.TokenURL = proxy.URL + "/token"
			rec.Expiry = time.Now().Add(-time.Minute)
			v := seedVault(t, srv, prefix, acct, rec)
			ep := op.Endpoints()
			yaml := "providers:\n  testop:\n    issuer: " + op.Issuer + "\n    auth_url: " + ep.Authorization + "\n    token_url: " + acct.TokenURL +
				"\n    scopes: [openid, email, offline_access]\n"
			const ttl, skew = 3 * time.Second, time.Second
			lease := []string{"OAUTHCTL_TESTOP_CLIENT_ID=" + testop.NativeClientID, "OAUTHCTL_VAULT_LEASE_TTL=" + ttl.String(), "OAUTHCTL_VAULT_LEASE_SKEW=" + skew.String()}
			a := newVaultMachine(t, bin, srv, prefix, yaml, lease...)
			b := newVaultMachine(t, bin, srv, prefix, yaml, lease...)

			dead := a.command(t.Context(), "token", "testop")
			dead.Stdout, dead.Stderr = io.Discard, io.Discard
			leased := time.Now()
			if err := dead.Start(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-hung:
			case <-time.After(20 * time.Second):
				t.Fatal("A's refresh request never arrived")
			}
			if err := dead.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			_ = dead.Wait()

			out, errOut, code := b.run(t, "token", "testop")
			took := time.Since(leased)
			if took < ttl+skew-500*time.Millisecond {
				t.Errorf("B got through after %s, before A's lease ran out (TTL %s + skew %s)", took, ttl, skew)
			}
			if code != tt.wantCode || !strings.Contains(errOut, tt.wantErr) {
				t.Fatalf("token on B: exit %d, stderr %q; want exit %d and %q", code, errOut, tt.wantCode, tt.wantErr)
			}
			stored, err := v.Load(t.Context(), acct.Key())
			if err != nil {
				t.Fatal(err)
			}
			if tt.wantCode == 0 {
				if out != stored.AccessToken+"\n" || stored.RefreshToken == rec.RefreshToken {
					t.Errorf("B printed %q; want the new token, stored", out)
				}
				if diff := cmp.Diff([]string{rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
					t.Errorf("refresh tokens the provider saw (-want +got):\n%s", diff)
				}
				return
			}
			// Both hosts sent the one refresh token they had: A's rotation
			// reached the provider, B's reuse of it revoked the grant.
			if diff := cmp.Diff([]string{rec.RefreshToken, rec.RefreshToken}, refreshTokensSent(op)); diff != "" {
				t.Errorf("refresh tokens the provider saw (-want +got):\n%s", diff)
			}
			if out != "" || stored.RefreshToken != "" {
				t.Errorf("B printed %q, Vault kept refresh token %q; want nothing and the dead token dropped", out, stored.RefreshToken)
			}
		})
	}

	// Vault stopped: exit 6, one line naming the address, nothing printed,
	// no fallback.
	t.Run("vault stopped", func(t *testing.T) {
		t.Parallel()
		own := testvault.Start(t)
		prefix := testvault.Prefix(t)
		acct := keyring.Account{Provider: "google", Account: "alice@example.com", Issuer: "https://accounts.google.com",
			TokenURL: "https://oauth2.googleapis.com/token", ClientID: "fake.apps.googleusercontent.com", Refreshable: true}
		seedVault(t, own, prefix, acct, &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: time.Now().Add(time.Hour)})
		m := newVaultMachine(t, bin, own, prefix, "", "OAUTHCTL_GOOGLE_CLIENT_ID=fake.apps.googleusercontent.com")
		if out, errOut, code := m.run(t, "token", "google"); code != 0 || out != "fake-at\n" {
			t.Fatalf("token with Vault up: exit %d, stdout %q, stderr %q", code, out, errOut)
		}
		own.Stop()
		for _, tt := range []struct {
			args []string
			what string
		}{
			{[]string{"token", "google"}, "cannot get a token"},
			{[]string{"status"}, "cannot check the accounts"},
			{[]string{"logout", "google"}, "cannot log out"},
		} {
			out, errOut, code := m.run(t, tt.args...)
			want := "oauthctl: " + tt.what + ": cannot reach Vault at " + own.Addr + " (dial tcp "
			hint := "\ncheck VAULT_ADDR and that Vault is running\n"
			if code != ExitStorage || out != "" || !strings.HasPrefix(errOut, want) || !strings.HasSuffix(errOut, hint) || strings.Count(errOut, "\n") != 2 {
				t.Errorf("%v with Vault stopped: exit %d, stdout %q, stderr %q; want exit %d, %q and the hint", tt.args, code, out, errOut, ExitStorage, want)
			}
		}
		m.checkNothingLocal(t)
	})
}

// vaultAt is a Vault store on prefix, for looking at what the binaries
// stored.
func vaultAt(t *testing.T, srv *testvault.Server, prefix string) *vault.Vault {
	t.Helper()
	v, err := vault.New(vault.Config{Addr: srv.Addr, Token: srv.Token, Mount: srv.Mount, Prefix: prefix})
	if err != nil {
		t.Fatal(err)
	}
	return v
}
