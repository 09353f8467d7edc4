package cmd

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/kube"
	"github.com/oauthctl/oauthctl/keyring"
)

// runKube runs `oauthctl args...` in e with KUBERNETES_EXEC_INFO set to
// execInfo and a browser that must not open.
func (e *tkEnv) runKube(execInfo string, args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	f.Getenv = func(k string) string {
		if k == kube.ExecInfoEnv {
			return execInfo
		}
		return e.getenv(k)
	}
	f.Browser = noBrowser(e.t)
	root := NewCmdRoot(f)
	replaceCommand(root, NewCmdKubeCredential(f, func(o *KubeCredentialOptions) error {
		o.Retry = e.retry
		o.LockWait = 10 * time.Second
		return kubeCredentialRun(e.t.Context(), o)
	}))
	root.SetArgs(args)
	err := root.ExecuteContext(e.t.Context())
	if err != nil {
		errOut.WriteString(errorText(err2usage(err)))
	}
	return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
}

func TestKubeCredentialArgs(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		args    []string
		want    KubeCredentialOptions
		wantErr string
	}{
		{name: "provider", args: []string{"google"}, want: KubeCredentialOptions{Provider: "google", MinTTL: DefaultMinTTL}},
		{name: "all flags", args: []string{"google", "-a", "me@example.com", "--access-token", "--min-ttl", "5m", "--login"},
			want: KubeCredentialOptions{Provider: "google", Account: "me@example.com", AccessToken: true, MinTTL: 5 * time.Minute, MinTTLSet: true, Login: true}},
		{name: "no provider", args: nil, wantErr: "oauthctl: kube-credential takes 1 argument, PROVIDER (usage: oauthctl kube-credential PROVIDER [flags])\n"},
		{name: "negative min-ttl", args: []string{"google", "--min-ttl", "-1s"}, wantErr: "oauthctl: --min-ttl must not be negative\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f, out, errOut := newTkEnv(t, "").factory()
			var got *KubeCredentialOptions
			root := NewCmdRoot(f)
			replaceCommand(root, NewCmdKubeCredential(f, func(o *KubeCredentialOptions) error { got = o; return nil }))
			root.SetArgs(append([]string{"kube-credential"}, tt.args...))
			err := root.ExecuteContext(t.Context())
			if tt.wantErr != "" {
				if got != nil || errorText(err2usage(err)) != tt.wantErr || ExitCode(err2usage(err)) != ExitUsage {
					t.Errorf("err %v, want %q and exit 2", err, tt.wantErr)
				}
				return
			}
			if err != nil || got == nil {
				t.Fatalf("err %v", err)
			}
			got.IO, got.Factory = nil, nil
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
			if out.Len() != 0 || errOut.Len() != 0 {
				t.Errorf("output %q %q", out, errOut)
			}
		})
	}
}

// TestKubeCredential covers what kubectl gets: the ExecCredential in the
// version it asked for (or nothing on stdout, with token's exit codes and a
// message naming the command to run), and never a browser without --login.
func TestKubeCredential(t *testing.T) {
	t.Parallel()
	const (
		v1      = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`
		v1beta1 = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{"interactive":false}}`
		interac = `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`
	)
	credential := func(apiVersion, token string, exp time.Time, interactive bool) string {
		return fmt.Sprintf(`{
  "kind": "ExecCredential",
  "apiVersion": "client.authentication.k8s.io/%s",
  "spec": {
    "interactive": %t
  },
  "status": {
    "expirationTimestamp": "%s",
    "token": "%s"
  }
}
`, apiVersion, interactive, exp.UTC().Format(time.RFC3339), token)
	}
	tests := []struct {
		name     string
		execInfo string
		args     []string
		seed     bool
		idTTL    time.Duration // 0: no ID token stored
		code     int
		wantOut  func(idToken string, idExp, atExp time.Time) string
		wantErr  string
	}{
		{name: "v1 by default", seed: true, idTTL: time.Hour,
			wantOut: func(id string, idExp, _ time.Time) string { return credential("v1", id, idExp, false) }},
		{name: "v1 asked", execInfo: v1, seed: true, idTTL: time.Hour,
			wantOut: func(id string, idExp, _ time.Time) string { return credential("v1", id, idExp, false) }},
		{name: "v1beta1 asked", execInfo: v1beta1, seed: true, idTTL: time.Hour,
			wantOut: func(id string, idExp, _ time.Time) string { return credential("v1beta1", id, idExp, false) }},
		{name: "access token", execInfo: v1, args: []string{"--access-token"}, seed: true,
			wantOut: func(_ string, _, atExp time.Time) string { return credential("v1", "fake-at-kube", atExp, false) }},
		{name: "unknown apiVersion", execInfo: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`, seed: true, idTTL: time.Hour,
			code: ExitUsage, wantErr: `oauthctl: invalid KUBERNETES_EXEC_INFO: apiVersion "client.authentication.k8s.io/v1alpha1" is not supported (oauthctl speaks client.authentication.k8s.io/v1 and client.authentication.k8s.io/v1beta1; set exec.apiVersion in the kubeconfig to one of them)` + "\n"},
		{name: "nothing stored", execInfo: v1, code: ExitSignIn,
			wantErr: "run: oauthctl login fake\n"},
		{name: "nothing stored, interactive without --login", execInfo: interac, code: ExitSignIn,
			wantErr: "run: oauthctl login fake\n"},
		{name: "no ID token stored", execInfo: v1, seed: true, code: ExitSignIn,
			wantErr: "no ID token is stored for fake:me@example.com"},
		{name: "ID token expired, refresh rejected", execInfo: v1, seed: true, idTTL: -time.Minute, code: ExitSignIn,
			wantErr: "run: oauthctl login fake\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ts := newTkTokenServer(t, tkJSON(400, `{"error":"invalid_grant"}`))
			e := newTkEnv(t, fixedYAML(ts.srv.URL))
			now := e.clock()
			idExp, atExp := now.Add(tt.idTTL), now.Add(30*time.Minute)
			var idToken string
			if tt.idTTL != 0 {
				idToken = fakeIDToken(idExp)
			}
			if tt.seed {
				e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-kube", RefreshToken: "fake-rt-kube",
					IDToken: idToken, Expiry: atExp})
			}
			got := e.runKube(tt.execInfo, append([]string{"kube-credential", "fake"}, tt.args...)...)
			if got.code != tt.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", got.code, tt.code, got.errOut)
			}
			if tt.wantOut != nil {
				if diff := cmp.Diff(tt.wantOut(idToken, idExp, atExp), got.out); diff != "" {
					t.Errorf("stdout (-want +got):\n%s", diff)
				}
				if got.errOut != "" {
					t.Errorf("stderr %q, want nothing", got.errOut)
				}
				return
			}
			if got.out != "" {
				t.Errorf("stdout %q, want nothing on failure", got.out)
			}
			if !strings.HasPrefix(got.errOut, "oauthctl: ") || !strings.Contains(got.errOut, tt.wantErr) {
				t.Errorf("stderr:\n%s\nwant it to contain %q", got.errOut, tt.wantErr)
			}
			for _, secret := range []string{"fake-at-kube", "fake-rt-kube", idToken} {
				if secret != "" && strings.Contains(got.errOut, secret) {
					t.Errorf("stderr carries a token: %s", got.errOut)
				}
			}
		})
	}
}

// setupKubeEnv runs `oauthctl setup-kube` with the executable at exe.
func runSetupKube(e *tkEnv, exe string, args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	root := NewCmdRoot(f)
	replaceCommand(root, NewCmdSetupKube(f, func(o *SetupKubeOptions) error {
		o.Executable = func() (string, error) { return exe, nil }
		return setupKubeRun(e.t.Context(), o)
	}))
	root.SetArgs(append([]string{"setup-kube"}, args...))
	err := root.ExecuteContext(e.t.Context())
	if err != nil {
		errOut.WriteString(errorText(err2usage(err)))
	}
	return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
}

// TestSetupKube: the kubeconfig user setup-kube writes (name, file, exec
// entry), what it says, and that a second run changes nothing.
func TestSetupKube(t *testing.T) {
	t.Parallel()
	const exe = "/opt/oauthctl/bin/oauthctl"
	const yaml = "providers:\n  corp:\n    issuer: https://login.example.com\n    client_id: corp-cli\n    scopes: [openid, email, offline_access]\n" +
		"  plain:\n    auth_url: https://plain.example.com/auth\n    token_url: https://plain.example.com/token\n    client_id: plain-cli\n"
	tests := []struct {
		name       string
		args       []string
		kubeconfig string // $KUBECONFIG, relative to the test dir
		file       string // the file written, relative to the test dir
		existing   string // the file's content before, if any
		wantUser   string
		wantArgs   []string
		wantMode   string
		wantAPI    string
		wantErr    string
		wantMsg    []string
	}{
		{name: "defaults", args: []string{"corp"}, file: ".kube/config", wantUser: "oauthctl-corp",
			wantArgs: []string{"kube-credential", "corp"}, wantMode: "Never", wantAPI: kube.APIVersionV1,
			wantMsg: []string{
				"Added the user oauthctl-corp in DIR/.kube/config: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential corp.\n" +
					"The API server must trust its ID tokens: --oidc-issuer-url=https://login.example.com --oidc-client-id=corp-cli\n" +
					"Use it (DIR/.kube/config has no current context): kubectl config set-context CONTEXT --cluster=CLUSTER --user=oauthctl-corp && kubectl config use-context CONTEXT\n",
				"DIR/.kube/config already has the user oauthctl-corp: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential corp.\n" +
					"The API server must trust its ID tokens: --oidc-issuer-url=https://login.example.com --oidc-client-id=corp-cli\n" +
					"Use it (DIR/.kube/config has no current context): kubectl config set-context CONTEXT --cluster=CLUSTER --user=oauthctl-corp && kubectl config use-context CONTEXT\n",
			}},
		{name: "a kubeconfig with a current context", args: []string{"corp"}, file: ".kube/config",
			existing: "apiVersion: v1\nkind: Config\ncurrent-context: dev\ncontexts:\n- name: dev\n  context: {cluster: dev}\n",
			wantUser: "oauthctl-corp", wantArgs: []string{"kube-credential", "corp"}, wantMode: "Never", wantAPI: kube.APIVersionV1,
			wantMsg: []string{
				"Added the user oauthctl-corp in DIR/.kube/config: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential corp.\n" +
					"The API server must trust its ID tokens: --oidc-issuer-url=https://login.example.com --oidc-client-id=corp-cli\n" +
					"Use it: kubectl config set-context --current --user=oauthctl-corp\n",
				"DIR/.kube/config already has the user oauthctl-corp: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential corp.\n" +
					"The API server must trust its ID tokens: --oidc-issuer-url=https://login.example.com --oidc-client-id=corp-cli\n" +
					"Use it: kubectl config set-context --current --user=oauthctl-corp\n",
			}},
		{name: "account, interactive, v1beta1, KUBECONFIG", args: []string{"corp", "-a", "me@example.com", "--interactive", "--api-version", "v1beta1"},
			kubeconfig: "kc", file: "kc", wantUser: "oauthctl-corp-me@example.com",
			wantArgs: []string{"kube-credential", "corp", "--account", "me@example.com", "--login"}, wantMode: "IfAvailable", wantAPI: kube.APIVersionV1beta1},
		{name: "user and kubeconfig flags", args: []string{"corp", "--user", "dev admin", "--kubeconfig", "DIR/other", "--access-token"},
			kubeconfig: "kc", file: "other", wantUser: "dev admin",
			wantArgs: []string{"kube-credential", "corp", "--access-token"}, wantMode: "Never", wantAPI: kube.APIVersionV1,
			wantMsg: []string{"Added the user dev admin in DIR/other: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential corp --access-token.\n" +
				"Use it (DIR/other has no current context): kubectl config set-context CONTEXT --cluster=CLUSTER --user='dev admin' && kubectl config use-context CONTEXT\n"}},
		{name: "not OIDC", args: []string{"plain"}, file: ".kube/config", wantUser: "oauthctl-plain",
			wantArgs: []string{"kube-credential", "plain"}, wantMode: "Never", wantAPI: kube.APIVersionV1,
			wantMsg: []string{"Added the user oauthctl-plain in DIR/.kube/config: kubectl runs /opt/oauthctl/bin/oauthctl kube-credential plain.\n" +
				"warning: plain is not set up for OpenID Connect (issuer and the openid scope), so it gives no ID token; use --access-token if the cluster accepts its access tokens\n" +
				"Use it (DIR/.kube/config has no current context): kubectl config set-context CONTEXT --cluster=CLUSTER --user=oauthctl-plain && kubectl config use-context CONTEXT\n"}},
		{name: "unknown provider", args: []string{"nope"}, wantErr: `unknown provider "nope"`},
		{name: "bad api version", args: []string{"corp", "--api-version", "v1alpha1"}, wantErr: `oauthctl: --api-version must be v1 or v1beta1, not "v1alpha1"` + "\n"},
		{name: "not a kubeconfig", args: []string{"corp", "--kubeconfig", "DIR/pod.yaml"}, wantErr: "DIR/pod.yaml: cannot edit the kubeconfig: kind is \"Pod\", not Config\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, yaml)
			if err := os.WriteFile(filepath.Join(e.dir, "pod.yaml"), []byte("kind: Pod\n"), 0o600); err != nil {
				t.Fatal(err)
			}
			if tt.kubeconfig != "" {
				e.setenv("KUBECONFIG", filepath.Join(e.dir, tt.kubeconfig))
			}
			if tt.existing != "" {
				if err := os.MkdirAll(filepath.Dir(filepath.Join(e.dir, tt.file)), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(filepath.Join(e.dir, tt.file), []byte(tt.existing), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "DIR", e.dir)
			}
			for run := range 2 {
				got := runSetupKube(e, exe, args...)
				if tt.wantErr != "" {
					if got.code != ExitUsage || !strings.Contains(got.errOut, strings.ReplaceAll(tt.wantErr, "DIR", e.dir)) {
						t.Errorf("exit %d, stderr %q; want 2 and %q", got.code, got.errOut, tt.wantErr)
					}
					return
				}
				if got.code != 0 || got.out != "" {
					t.Fatalf("run %d: exit %d, stdout %q, stderr:\n%s", run, got.code, got.out, got.errOut)
				}
				if run < len(tt.wantMsg) {
					if diff := cmp.Diff(strings.ReplaceAll(tt.wantMsg[run], "DIR", e.dir), got.errOut); diff != "" {
						t.Errorf("run %d stderr (-want +got):\n%s", run, diff)
					}
				}
			}
			path := filepath.Join(e.dir, tt.file)
			fi, err := os.Stat(path)
			if err != nil || fi.Mode().Perm() != 0o600 {
				t.Fatalf("%s: %v, mode %v", path, err, fi.Mode())
			}
			data, _ := os.ReadFile(path)
			want := kube.ExecUser{Name: tt.wantUser, APIVersion: tt.wantAPI, Command: exe, Args: tt.wantArgs, InteractiveMode: tt.wantMode,
				InstallHint: fmt.Sprintf("kubectl runs %s for the kubeconfig user %s; reinstall oauthctl there, or run oauthctl setup-kube %s again", exe, tt.wantUser, tt.args[0])}
			if _, change, err := kube.SetExecUser(data, want); err != nil || change != kube.Unchanged {
				t.Errorf("the file does not hold the wanted entry (change %d, err %v):\n%s", change, err, data)
			}
		})
	}
}

// TestKubeCredentialLoginOnlyWhenAllowed: with --login and an interactive
// kubectl, a sign-in that is required starts the browser login; without
// either, the browser is never opened (runKube's browser fails the test).
func TestKubeCredentialLoginOnlyWhenAllowed(t *testing.T) {
	t.Parallel()
	e := newTkEnv(t, fixedYAML("https://issuer.example/token"))
	got := e.runKube(`{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`, "kube-credential", "fake", "--login")
	if got.code != ExitSignIn || got.out != "" || strings.Contains(got.errOut, "Signing in") {
		t.Errorf("not interactive, --login: exit %d, stdout %q, stderr %q", got.code, got.out, got.errOut)
	}
}
