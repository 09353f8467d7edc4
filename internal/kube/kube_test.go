package kube

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// assertGolden compares got with testdata/name, or rewrites it with -update.
func assertGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s mismatch (-want +got):\n%s", name, diff)
	}
}

func TestParseExecInfo(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		want    ExecInfo
		wantErr string
	}{
		{name: "unset", in: "", want: ExecInfo{APIVersion: APIVersionV1}},
		{name: "v1 not interactive", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":false}}`,
			want: ExecInfo{APIVersion: APIVersionV1}},
		{name: "v1 interactive", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`,
			want: ExecInfo{APIVersion: APIVersionV1, Interactive: true}},
		{name: "v1beta1 without spec", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","spec":{}}`,
			want: ExecInfo{APIVersion: APIVersionV1beta1}},
		{name: "cluster info ignored", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"cluster":{"server":"https://k","certificate-authority-data":"eA==","config":null},"interactive":true}}`,
			want: ExecInfo{APIVersion: APIVersionV1, Interactive: true}},
		{name: "v1alpha1", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1alpha1","spec":{}}`,
			wantErr: `invalid KUBERNETES_EXEC_INFO: apiVersion "client.authentication.k8s.io/v1alpha1" is not supported (oauthctl speaks client.authentication.k8s.io/v1 and client.authentication.k8s.io/v1beta1; set exec.apiVersion in the kubeconfig to one of them)`},
		{name: "no apiVersion", in: `{"kind":"ExecCredential"}`, wantErr: "invalid KUBERNETES_EXEC_INFO: no apiVersion"},
		{name: "wrong kind", in: `{"kind":"Pod","apiVersion":"v1"}`, wantErr: `invalid KUBERNETES_EXEC_INFO: kind is "Pod", want ExecCredential`},
		{name: "not JSON", in: `kind: ExecCredential`, wantErr: "invalid KUBERNETES_EXEC_INFO: not an ExecCredential JSON object: syntax error at byte 1"},
		{name: "truncated", in: `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1"`, wantErr: "invalid KUBERNETES_EXEC_INFO: not an ExecCredential JSON object: unexpected end of input"},
		{name: "interactive not a bool", in: `{"apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":"yes"}}`,
			wantErr: "invalid KUBERNETES_EXEC_INFO: not an ExecCredential JSON object: spec.interactive is a JSON string"},
		{name: "two values", in: `{"apiVersion":"client.authentication.k8s.io/v1"} {}`, wantErr: "invalid KUBERNETES_EXEC_INFO: more than one JSON value"},
		{name: "an array", in: `[]`, wantErr: "invalid KUBERNETES_EXEC_INFO: not an ExecCredential JSON object: "},
		{name: "too long", in: `{"apiVersion":"` + strings.Repeat("x", maxExecInfo) + `"}`, wantErr: "invalid KUBERNETES_EXEC_INFO: longer than 256 KiB"},
		{name: "long apiVersion clipped", in: `{"apiVersion":"` + strings.Repeat("v", 200) + `"}`, wantErr: `apiVersion "` + strings.Repeat("v", 64) + `..." is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := ParseExecInfo(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrExecInfo) {
					t.Fatalf("err = %v, want ErrExecInfo containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestMarshalExecCredential(t *testing.T) {
	t.Parallel()
	// 10:20:30.9 rounds down: kubectl must not use the token past its exp.
	exp := time.Date(2026, 12, 3, 11, 20, 30, 900_000_000, time.FixedZone("CET", 3600))
	tests := []struct {
		name   string
		info   ExecInfo
		cred   Credential
		golden string
	}{
		{name: "v1", info: ExecInfo{APIVersion: APIVersionV1}, cred: Credential{Token: "fake.id.token", Expiry: exp}, golden: "execcredential_v1.json"},
		{name: "v1beta1 interactive", info: ExecInfo{APIVersion: APIVersionV1beta1, Interactive: true}, cred: Credential{Token: "fake.id.token", Expiry: exp}, golden: "execcredential_v1beta1.json"},
		{name: "no expiry", info: ExecInfo{APIVersion: APIVersionV1}, cred: Credential{Token: "fake-access-token"}, golden: "execcredential_noexpiry.json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := MarshalExecCredential(tt.info, tt.cred)
			if err != nil {
				t.Fatal(err)
			}
			assertGolden(t, tt.golden, got)
		})
	}
	if _, err := MarshalExecCredential(ExecInfo{APIVersion: "client.authentication.k8s.io/v1alpha1"}, Credential{Token: "x"}); !errors.Is(err, ErrExecInfo) {
		t.Errorf("v1alpha1: err = %v, want ErrExecInfo", err)
	}
	if _, err := MarshalExecCredential(ExecInfo{APIVersion: APIVersionV1}, Credential{}); err == nil {
		t.Error("empty token: no error")
	}
}

// googleUser is the entry `oauthctl setup-kube google` writes.
var googleUser = ExecUser{
	Name:            "oauthctl-google",
	APIVersion:      APIVersionV1,
	Command:         "/usr/local/bin/oauthctl",
	Args:            []string{"kube-credential", "google"},
	InteractiveMode: InteractiveNever,
}

func TestSetExecUser(t *testing.T) {
	t.Parallel()
	interactive := googleUser
	interactive.Name = "work"
	interactive.APIVersion = APIVersionV1beta1
	interactive.Args = []string{"kube-credential", "google", "--account", "me@example.com", "--login"}
	interactive.InteractiveMode = InteractiveIfAvailable
	interactive.InstallHint = "oauthctl is not at /usr/local/bin/oauthctl: run oauthctl setup-kube google again"

	tests := []struct {
		name    string
		fixture string // under testdata/kubeconfig; "" is a missing file
		user    ExecUser
		change  Change
	}{
		{name: "new file", user: googleUser, change: Added},
		{name: "kubectl", fixture: "kubectl.yaml", user: googleUser, change: Added},
		{name: "comments", fixture: "comments.yaml", user: googleUser, change: Added},
		{name: "replace", fixture: "replace.yaml", user: googleUser, change: Updated},
		{name: "users-empty", fixture: "users-empty.yaml", user: interactive, change: Added},
		{name: "users-null", fixture: "users-null.yaml", user: googleUser, change: Added},
		{name: "comment-only", fixture: "comment-only.yaml", user: googleUser, change: Added},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var in []byte
			if tt.fixture != "" {
				var err error
				if in, err = os.ReadFile(filepath.Join("testdata", "kubeconfig", tt.fixture)); err != nil {
					t.Fatal(err)
				}
			}
			out, change, err := SetExecUser(in, tt.user)
			if err != nil {
				t.Fatal(err)
			}
			if change != tt.change {
				t.Errorf("change = %d, want %d", change, tt.change)
			}
			assertGolden(t, filepath.Join("kubeconfig", strings.ReplaceAll(tt.name, " ", "-")+".golden"), out)
			if !HasUser(out, tt.user.Name) {
				t.Errorf("the output has no user %s", tt.user.Name)
			}
			// Idempotent: the second run changes nothing.
			again, change, err := SetExecUser(out, tt.user)
			if err != nil || change != Unchanged || string(again) != string(out) {
				t.Errorf("second run: change %d, err %v, output changed: %v", change, err, string(again) != string(out))
			}
		})
	}
}

// TestSetExecUserMatchesKubectl: on a file kubectl wrote, the result is
// byte for byte what `kubectl config set-credentials oauthctl-google
// --exec-command ... --exec-interactive-mode=Never` writes.
func TestSetExecUserMatchesKubectl(t *testing.T) {
	t.Parallel()
	in, err := os.ReadFile("testdata/kubeconfig/kubectl.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile("testdata/kubeconfig/kubectl-set-credentials.yaml")
	if err != nil {
		t.Fatal(err)
	}
	got, _, err := SetExecUser(in, googleUser)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("(-kubectl +oauthctl):\n%s", diff)
	}
	// And kubectl's own entry counts as already set.
	if _, change, err := SetExecUser(want, googleUser); err != nil || change != Unchanged {
		t.Errorf("on kubectl's output: change %d, err %v; want Unchanged", change, err)
	}
}

func TestSetExecUserErrors(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		in      string
		user    func(*ExecUser)
		wantErr string
	}{
		{name: "list at top", in: "- a\n- b\n", wantErr: "cannot edit the kubeconfig: the top level is not a YAML mapping"},
		{name: "two documents", in: "kind: Config\n---\nkind: Config\n", wantErr: "cannot edit the kubeconfig: it holds more than one YAML document"},
		{name: "users a map", in: "kind: Config\nusers:\n  a: b\n", wantErr: "cannot edit the kubeconfig: users is not a list (line 3)"},
		{name: "not a Config", in: "kind: Pod\n", wantErr: `cannot edit the kubeconfig: kind is "Pod", not Config`},
		{name: "bad YAML", in: "kind: [Config\n", wantErr: "cannot edit the kubeconfig: not valid YAML: "},
		{name: "relative command", user: func(u *ExecUser) { u.Command = "oauthctl" }, wantErr: `the plugin command "oauthctl" is not an absolute path`},
		{name: "no name", user: func(u *ExecUser) { u.Name = " " }, wantErr: "the kubeconfig user name is empty"},
		{name: "v1alpha1", user: func(u *ExecUser) { u.APIVersion = "client.authentication.k8s.io/v1alpha1" }, wantErr: "is not supported"},
		{name: "mode Always", user: func(u *ExecUser) { u.InteractiveMode = "Always" }, wantErr: `interactiveMode "Always" is not supported`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			u := googleUser
			if tt.user != nil {
				tt.user(&u)
			}
			_, _, err := SetExecUser([]byte(tt.in), u)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestPath(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	a, b, c := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "c")
	if err := os.WriteFile(b, []byte("kind: Config\nusers:\n- name: other\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(c, []byte("kind: Config\nusers:\n- name: oauthctl-google\n  user: {}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	list := func(p ...string) string { return strings.Join(p, string(os.PathListSeparator)) }
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "default", env: map[string]string{"HOME": "/home/u"}, want: "/home/u/.kube/config"},
		{name: "one file, missing", env: map[string]string{"KUBECONFIG": a}, want: a},
		{name: "the file with the user", env: map[string]string{"KUBECONFIG": list(a, b, c)}, want: c},
		{name: "first existing", env: map[string]string{"KUBECONFIG": list(a, b, filepath.Join(dir, "d"))}, want: b},
		{name: "none exist: the last", env: map[string]string{"KUBECONFIG": list(a, filepath.Join(dir, "d"))}, want: filepath.Join(dir, "d")},
		{name: "empty entries", env: map[string]string{"KUBECONFIG": list("", a, "")}, want: a},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			got, err := Path(func(k string) string { return tt.env[k] }, "oauthctl-google")
			if err != nil || got != tt.want {
				t.Errorf("Path = %q, %v; want %q", got, err, tt.want)
			}
		})
	}
}

func TestWriteFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	t.Run("new in a new directory", func(t *testing.T) {
		path := filepath.Join(dir, "home", ".kube", "config")
		if err := WriteFile(path, []byte("kind: Config\n")); err != nil {
			t.Fatal(err)
		}
		assertMode(t, path, 0o600)
		assertMode(t, filepath.Dir(path), 0o700|os.ModeDir)
	})
	t.Run("replaces a world-readable file with 0600", func(t *testing.T) {
		path := filepath.Join(dir, "open")
		if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(path, []byte("new")); err != nil {
			t.Fatal(err)
		}
		assertMode(t, path, 0o600)
		if b, _ := os.ReadFile(path); string(b) != "new" {
			t.Errorf("content %q", b)
		}
	})
	t.Run("through a symlink", func(t *testing.T) {
		target := filepath.Join(dir, "target")
		link := filepath.Join(dir, "link")
		if err := os.WriteFile(target, []byte("old"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
		if err := WriteFile(link, []byte("new")); err != nil {
			t.Fatal(err)
		}
		if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
			t.Errorf("the link was replaced: %v", err)
		}
		if b, _ := os.ReadFile(target); string(b) != "new" {
			t.Errorf("target content %q", b)
		}
	})
	t.Run("no temporary files left", func(t *testing.T) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("left behind: %s", e.Name())
			}
		}
	})
}

func assertMode(t *testing.T, path string, want os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode() != want {
		t.Errorf("%s mode %v, want %v", path, fi.Mode(), want)
	}
}

func TestReadFile(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	if b, err := ReadFile(filepath.Join(dir, "missing")); err != nil || b != nil {
		t.Errorf("missing: %q, %v", b, err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxKubeconfig+1), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadFile(big); !errors.Is(err, ErrKubeconfig) {
		t.Errorf("big: err = %v, want ErrKubeconfig", err)
	}
}

// FuzzParseExecInfo: any input gives a known apiVersion or ErrExecInfo,
// never a panic.
func FuzzParseExecInfo(f *testing.F) {
	for _, s := range []string{"", `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1","spec":{"interactive":true}}`,
		`{"apiVersion":"client.authentication.k8s.io/v1beta1"}`, `[]`, `{"spec":{"interactive":1}}`, "\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		info, err := ParseExecInfo(s)
		if err != nil {
			if !errors.Is(err, ErrExecInfo) {
				t.Fatalf("error %v is not ErrExecInfo", err)
			}
			return
		}
		if _, err := MarshalExecCredential(info, Credential{Token: "fake"}); err != nil {
			t.Fatalf("accepted %q but cannot answer it: %v", s, err)
		}
	})
}

// FuzzSetExecUser: on any file SetExecUser errs or returns a kubeconfig that
// has the user and that a second run leaves unchanged.
func FuzzSetExecUser(f *testing.F) {
	for _, name := range []string{"kubectl.yaml", "comments.yaml", "replace.yaml", "users-null.yaml"} {
		data, err := os.ReadFile(filepath.Join("testdata", "kubeconfig", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("users: [{name: oauthctl-google}, 3, [x]]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		out, _, err := SetExecUser(data, googleUser)
		if err != nil {
			return
		}
		if !HasUser(out, googleUser.Name) {
			t.Fatalf("no user in:\n%s", out)
		}
		again, change, err := SetExecUser(out, googleUser)
		if err != nil || change != Unchanged || !bytes.Equal(again, out) {
			t.Fatalf("second run: change %d, err %v on:\n%s", change, err, out)
		}
	})
}
