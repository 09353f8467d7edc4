package cmd

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/kube"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testkube"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session"
)

// kubeAccount is the account the test user's logins are stored under.
const kubeAccount = "test-user@zitadel.ch"

// TestKubectlEndToEnd drives the real kubectl against the stand-in API
// server (which verifies ID tokens with the in-process OP's keys), with the
// built oauthctl as its exec plugin, set up by `oauthctl setup-kube` and
// backed by the real keychain (a private gnome-keyring). For each exec API
// version kubectl speaks (v1 needs kubectl 1.22+, Debian 12's is 1.20):
//  1. before any login kubectl fails with oauthctl's message and no prompt;
//  2. after `oauthctl login` kubectl gets through as the OP's user;
//  3. once the stored ID token has expired, the plugin refreshes it (one
//     refresh_token grant) and kubectl still gets through;
//  4. after `oauthctl logout` kubectl fails with "run: oauthctl login";
//
// and no token ever appears on stderr.
func TestKubectlEndToEnd(t *testing.T) {
	kubectl := testkube.RequireKubectl(t)
	testkeyring.Require(t)
	bin := buildOauthctl(t)
	versions := []string{"v1beta1"}
	if kubectl.SupportsV1() {
		versions = append(versions, "v1")
	} else {
		t.Logf("kubectl 1.%d speaks only the v1beta1 exec API; v1 is covered by the unit tests", kubectl.Minor)
	}
	for _, version := range versions {
		t.Run(version, func(t *testing.T) {
			t.Parallel()
			provider := "kube-" + version
			op := testop.Start(t)
			api := testkube.StartAPIServer(t, op.Issuer, op.Endpoints().JWKS, testop.NativeClientID, op.Client())
			env := newLoginEnv(t, testopYAML(provider, op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
			kc := keyring.NewKeychain()
			key := keyring.Key{Provider: provider, Account: kubeAccount}
			t.Cleanup(func() { _ = kc.Delete(context.WithoutCancel(t.Context()), key) })

			kubeconfig := filepath.Join(env.dir, "kubeconfig")
			user := "oauthctl-" + provider
			if err := os.WriteFile(kubeconfig, []byte(api.Kubeconfig(user)), 0o600); err != nil {
				t.Fatal(err)
			}
			var stderrs []string
			runBin := func(args ...string) (string, string, int) {
				t.Helper()
				var out, errOut bytes.Buffer
				c := exec.CommandContext(t.Context(), bin, args...)
				c.Env, c.Stdout, c.Stderr = env.environ(), &out, &errOut
				err := c.Run()
				stderrs = append(stderrs, errOut.String())
				return out.String(), errOut.String(), exitCodeOf(t, err)
			}
			runKubectl := func(args ...string) (string, string, int) {
				t.Helper()
				var out, errOut bytes.Buffer
				// No stdin: kubectl and the plugin must never wait for input.
				c := exec.CommandContext(t.Context(), kubectl.Path, append([]string{"--kubeconfig", kubeconfig}, args...)...)
				c.Env, c.Stdout, c.Stderr = testkube.Env(env.environ(), env.dir), &out, &errOut
				err := c.Run()
				stderrs = append(stderrs, errOut.String())
				return out.String(), errOut.String(), exitCodeOf(t, err)
			}

			// setup-kube writes the user the context already names.
			out, errOut, code := runBin("setup-kube", provider, "--kubeconfig", kubeconfig, "--api-version", version)
			if code != 0 || out != "" || !strings.Contains(errOut, "Added the user "+user+" in "+kubeconfig) {
				t.Fatalf("setup-kube: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
			}

			// 1. Not logged in.
			before := len(api.Requests())
			_, errOut, code = runKubectl("get", "--raw", "/api")
			if code == 0 || !strings.Contains(errOut, "oauthctl: ") || !strings.Contains(errOut, "run: oauthctl login "+provider) {
				t.Errorf("before login: exit %d, stderr:\n%s", code, errOut)
			}
			if strings.Contains(errOut, "Please enter") || len(api.Requests()) != before {
				t.Errorf("before login: kubectl prompted or reached the server:\n%s", errOut)
			}

			// 2. Logged in.
			v, open := newVisitor(t, op, testop.Username)
			f, _, loginErr := loginFactory(env, kc, open, nil)
			if code := Run(t.Context(), f, []string{"login", provider}); code != 0 {
				t.Fatalf("login: exit %d, stderr:\n%s", code, loginErr)
			}
			v.result(t)
			out, errOut, code = runKubectl("get", "--raw", "/api")
			if code != 0 || !strings.Contains(out, `"APIVersions"`) {
				t.Fatalf("after login: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
			}
			wantUser := api.Username(testop.Subject)
			if got := api.Usernames(); len(got) == 0 || got[len(got)-1] != wantUser {
				t.Errorf("API server users %q, want %s", got, wantUser)
			}
			if kubectl.AtLeast(28) {
				out, errOut, code = runKubectl("auth", "whoami")
				if code != 0 || !strings.Contains(out, wantUser) {
					t.Errorf("auth whoami: exit %d, stdout %q, stderr:\n%s", code, out, errOut)
				}
			}

			// 3. The stored ID token expires: the plugin refreshes it.
			rec, err := kc.Load(t.Context(), key)
			if err != nil {
				t.Fatal(err)
			}
			rec.IDToken = fakeIDToken(time.Now().Add(-time.Minute))
			if err := kc.Save(t.Context(), key, rec); err != nil {
				t.Fatal(err)
			}
			refreshes := len(op.TokenRequests("refresh_token"))
			out, errOut, code = runKubectl("get", "--raw", "/api")
			if code != 0 || !strings.Contains(out, `"APIVersions"`) {
				t.Fatalf("after the ID token expired: exit %d, stderr:\n%s", code, errOut)
			}
			if n := len(op.TokenRequests("refresh_token")) - refreshes; n != 1 {
				t.Errorf("%d refresh_token grants, want 1", n)
			}
			after, err := kc.Load(t.Context(), key)
			if err != nil || after.IDToken == rec.IDToken || session.IDTokenExpiry(after.IDToken).Before(time.Now()) {
				t.Errorf("the refreshed ID token was not stored (err %v)", err)
			}
			if got := api.Usernames(); got[len(got)-1] != wantUser {
				t.Errorf("API server users %q, want %s last", got, wantUser)
			}

			// 4. Logged out.
			if _, errOut, code := runBin("logout", provider); code != 0 {
				t.Fatalf("logout: exit %d, stderr:\n%s", code, errOut)
			}
			before = len(api.Requests())
			_, errOut, code = runKubectl("get", "--raw", "/api")
			if code == 0 || !strings.Contains(errOut, "run: oauthctl login "+provider) || strings.Contains(errOut, "Please enter") {
				t.Errorf("after logout: exit %d, stderr:\n%s", code, errOut)
			}
			if len(api.Requests()) != before {
				t.Errorf("after logout kubectl reached the server")
			}

			for _, s := range stderrs {
				for _, secret := range []string{rec.AccessToken, rec.RefreshToken, after.IDToken, after.AccessToken, after.RefreshToken} {
					if secret != "" && strings.Contains(s, secret) {
						t.Errorf("a token on stderr:\n%s", s)
					}
				}
			}
		})
	}
}

// exitCodeOf is a finished command's exit code.
func exitCodeOf(t *testing.T, err error) int {
	t.Helper()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	t.Fatal(err)
	return -1
}

// TestKubeCredentialInteractiveLogin: with --login and KUBERNETES_EXEC_INFO
// saying interactive, a kube-credential with nothing stored signs in in the
// browser (the OP's login form through the browser stand-in), then hands out
// an ID token the API server stand-in accepts; the login's messages go to
// stderr and stdout holds only the ExecCredential.
func TestKubeCredentialInteractiveLogin(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	api := testkube.StartAPIServer(t, op.Issuer, op.Endpoints().JWKS, testop.NativeClientID, op.Client())
	env := newLoginEnv(t, testopYAML("kube-login", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	env.set(kube.ExecInfoEnv, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`)
	v, open := newVisitor(t, op, testop.Username)
	f, out, errOut := loginFactory(env, keyring.NewMemory(), open, nil)
	if code := Run(t.Context(), f, []string{"kube-credential", "kube-login", "--login"}); code != 0 {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	v.result(t)
	var cred struct {
		APIVersion string `json:"apiVersion"`
		Status     struct {
			Token               string `json:"token"`
			ExpirationTimestamp string `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal([]byte(out.String()), &cred); err != nil || cred.APIVersion != kube.APIVersionV1 {
		t.Fatalf("stdout %q: %v", out, err)
	}
	if exp, err := time.Parse(time.RFC3339, cred.Status.ExpirationTimestamp); err != nil || exp.Before(time.Now()) {
		t.Errorf("expirationTimestamp %q", cred.Status.ExpirationTimestamp)
	}
	for _, want := range []string{"oauthctl: no stored credentials: not logged in to kube-login", "Signing in to kube-login for kubectl.", "Logged in to kube-login as " + kubeAccount} {
		if !strings.Contains(errOut.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if strings.Contains(errOut.String(), cred.Status.Token) {
		t.Error("the token is on stderr")
	}

	// The API server accepts the token.
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(api.CAData)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, api.URL+"/api", nil)
	req.Header.Set("Authorization", "Bearer "+cred.Status.Token)
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("API server: %d, requests %+v", resp.StatusCode, api.Requests())
	}
}
