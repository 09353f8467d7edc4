package cmd

import (
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testkube"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestKubectlInteractiveLogin: with `setup-kube --interactive`, the real
// kubectl run from a terminal (a pty on stdin and stdout) lets the built oauthctl sign
// in: with nothing stored it opens the browser ($BROWSER, a script that hands
// the address to the OP's browser stand-in), stores the login in the
// keychain and hands kubectl an ID token the API server accepts. The same
// kubectl without a terminal fails without opening anything.
func TestKubectlInteractiveLogin(t *testing.T) {
	kubectl := testkube.RequireKubectl(t)
	if !kubectl.SupportsV1() {
		// Its ExecCredential spec has no interactive field, so --login
		// never signs in (the safe side).
		t.Skipf("kubectl 1.%d does not tell exec plugins whether they may use the terminal (1.22 and later do)", kubectl.Minor)
	}
	testkeyring.Require(t)
	ptm, tty := openPTY(t)
	bin := buildOauthctl(t)
	const provider = "kube-interactive"
	op := testop.Start(t)
	api := testkube.StartAPIServer(t, op.Issuer, op.Endpoints().JWKS, testop.NativeClientID, op.Client())
	env := newLoginEnv(t, testopYAML(provider, op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	kc := keyring.NewKeychain()
	t.Cleanup(func() {
		_ = kc.Delete(context.WithoutCancel(t.Context()), keyring.Key{Provider: provider, Account: kubeAccount})
	})

	urlFile := filepath.Join(env.dir, "browser-url")
	script := filepath.Join(env.dir, "browser")
	if err := os.WriteFile(script, []byte("#!/bin/sh\nprintf '%s' \"$1\" > "+urlFile+".tmp && mv "+urlFile+".tmp "+urlFile+"\n"), 0o700); err != nil {
		t.Fatal(err)
	}
	env.set("BROWSER", script)
	kubeconfig := filepath.Join(env.dir, "kubeconfig")
	if err := os.WriteFile(kubeconfig, []byte(api.Kubeconfig("oauthctl-"+provider)), 0o600); err != nil {
		t.Fatal(err)
	}
	setup := exec.CommandContext(t.Context(), bin, "setup-kube", provider, "--kubeconfig", kubeconfig, "--interactive")
	setup.Env = env.environ()
	if out, err := setup.CombinedOutput(); err != nil {
		t.Fatalf("setup-kube: %v\n%s", err, out)
	}
	// What kubectl writes to the terminal.
	screen := newSyncBuffer()
	go func() { _, _ = io.Copy(screen, ptm) }()
	kubectlCmd := func(term *os.File) (*exec.Cmd, *syncBuffer) {
		errOut := newSyncBuffer()
		c := exec.CommandContext(t.Context(), kubectl.Path, "--kubeconfig", kubeconfig, "get", "--raw", "/api")
		c.Env, c.Stdout, c.Stderr = testkube.Env(env.environ(), env.dir), io.Discard, errOut
		if term != nil {
			c.Stdin, c.Stdout = term, term
		}
		return c, errOut
	}

	// No terminal: no browser, the usual message.
	c, errOut := kubectlCmd(nil)
	if err := c.Run(); err == nil || !strings.Contains(errOut.String(), "run: oauthctl login "+provider) {
		t.Fatalf("without a terminal: %v\n%s", err, errOut)
	}
	if _, err := os.Stat(urlFile); err == nil {
		t.Fatal("the browser was opened without a terminal")
	}

	// A terminal: the plugin signs in.
	c, errOut = kubectlCmd(tty)
	if err := c.Start(); err != nil {
		t.Fatal(err)
	}
	var authURL []byte
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if b, err := os.ReadFile(urlFile); err == nil {
			authURL = b
			break
		}
		if time.Now().After(deadline) {
			_ = c.Process.Kill()
			t.Fatalf("the browser was not opened; stderr:\n%s", errOut)
		}
	}
	if _, err := testop.NewBrowser(op, testop.Username, testop.Password).Visit(t.Context(), string(authURL)); err != nil {
		t.Fatalf("browser: %v\nstderr:\n%s", err, errOut)
	}
	if err := c.Wait(); err != nil {
		t.Fatalf("kubectl: %v, stderr:\n%s", err, errOut)
	}
	screen.waitFor(t, regexp.MustCompile(`"APIVersions"`))
	for _, want := range []string{"Signing in to " + provider + " for kubectl.", "Logged in to " + provider + " as " + kubeAccount} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if got := api.Usernames(); len(got) == 0 || got[len(got)-1] != api.Username(testop.Subject) {
		t.Errorf("API server users %q", got)
	}
	rec, err := kc.Load(t.Context(), keyring.Key{Provider: provider, Account: kubeAccount})
	if err != nil {
		t.Fatalf("the login was not stored: %v", err)
	}
	for _, secret := range []string{rec.AccessToken, rec.RefreshToken, rec.IDToken} {
		if secret != "" && strings.Contains(errOut.String(), secret) {
			t.Error("a token on stderr")
		}
	}
}
