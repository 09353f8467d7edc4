package cmd

import (
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

func TestNewCmdExec(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     ExecOptions
		wantCode int
		wantErr  string
	}{
		{name: "provider and command", args: []string{"exec", "google", "--", "curl", "-H", "x"},
			want: ExecOptions{Provider: "google", Env: "OAUTHCTL_ACCESS_TOKEN", MinTTL: time.Minute, Command: []string{"curl", "-H", "x"}}},
		{name: "no provider", args: []string{"exec", "--", "env"},
			want: ExecOptions{Env: "OAUTHCTL_ACCESS_TOKEN", MinTTL: time.Minute, Command: []string{"env"}}},
		{name: "flags", args: []string{"exec", "github", "--account", "octo", "--env", "GH_TOKEN", "--min-ttl", "30m", "--", "gh", "--help"},
			want: ExecOptions{Provider: "github", Account: "octo", Env: "GH_TOKEN", MinTTL: 30 * time.Minute, MinTTLSet: true, Command: []string{"gh", "--help"}}},
		{name: "no dash", args: []string{"exec", "google", "curl"}, wantCode: ExitUsage, wantErr: "put -- before the command"},
		{name: "no command", args: []string{"exec", "google", "--"}, wantCode: ExitUsage, wantErr: "no command given: oauthctl exec PROVIDER -- COMMAND [ARG...]"},
		{name: "no command no dash", args: []string{"exec", "google"}, wantCode: ExitUsage, wantErr: "no command given: oauthctl exec PROVIDER -- COMMAND [ARG...]"},
		{name: "two providers", args: []string{"exec", "google", "github", "--", "env"}, wantCode: ExitUsage, wantErr: "one PROVIDER before --"},
		{name: "env with a dash", args: []string{"exec", "google", "--env", "MY-TOKEN", "--", "env"}, wantCode: ExitUsage, wantErr: "not a valid environment variable name"},
		{name: "env starting with a digit", args: []string{"exec", "google", "--env", "1TOKEN", "--", "env"}, wantCode: ExitUsage, wantErr: "not a valid"},
		{name: "empty env", args: []string{"exec", "google", "--env", "", "--", "env"}, wantCode: ExitUsage, wantErr: "not a valid"},
		{name: "env PATH", args: []string{"exec", "google", "--env", "PATH", "--", "env"}, wantCode: ExitUsage, wantErr: "would replace a variable the command needs"},
		{name: "env LD_PRELOAD", args: []string{"exec", "google", "--env", "LD_PRELOAD", "--", "env"}, wantCode: ExitUsage, wantErr: "would replace"},
		{name: "negative min-ttl", args: []string{"exec", "google", "--min-ttl", "-5m", "--", "env"}, wantCode: ExitUsage, wantErr: "--min-ttl must not be negative"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, errOut := iostreams.Test()
			f := &Factory{IO: ios, Getenv: func(string) string { return "" }, Now: time.Now}
			var got *ExecOptions
			root := NewCmdRoot(f)
			replaceCommand(root, NewCmdExec(f, func(o *ExecOptions) error { got = o; return nil }))
			root.SetArgs(tt.args)
			err := root.ExecuteContext(t.Context())
			if err != nil {
				errOut.WriteString(errorText(err2usage(err)))
			}
			if code := ExitCode(err2usage(err)); code != tt.wantCode {
				t.Fatalf("exit code %d (%v), want %d", code, err, tt.wantCode)
			}
			if tt.wantCode != 0 {
				if got != nil || !strings.Contains(errOut.String(), tt.wantErr) {
					t.Errorf("stderr %q, want %q and runF not called", errOut, tt.wantErr)
				}
				return
			}
			got.IO, got.Factory, got.Environ = nil, nil, nil
			if diff := cmp.Diff(tt.want, *got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// runExec runs `oauthctl exec args...` in e with the given environment for
// the command and stdin.
func (e *tkEnv) runExec(environ []string, stdin string, args ...string) tkResult {
	e.t.Helper()
	f, out, errOut := e.factory()
	f.IO.In = strings.NewReader(stdin)
	root := NewCmdRoot(f)
	replaceCommand(root, NewCmdExec(f, func(o *ExecOptions) error {
		o.Environ = func() []string { return environ }
		o.Retry = e.retry
		return execRun(e.t.Context(), o)
	}))
	root.SetArgs(args)
	err := root.ExecuteContext(e.t.Context())
	if err != nil {
		errOut.WriteString(errorText(err2usage(err)))
	}
	return tkResult{code: ExitCode(err2usage(err)), out: out.String(), errOut: errOut.String()}
}

// TestExec is issue 6's exec test: the command sees the token in its
// environment, its stdio and exit status pass through, and the token never
// appears in oauthctl's own output.
func TestExec(t *testing.T) {
	t.Parallel()
	if runtime.GOOS == "windows" {
		t.Skip("uses sh")
	}
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	const token = "fake-at-exec-0123456789"
	baseEnv := []string{"PATH=" + os.Getenv("PATH"), "OAUTHCTL_ACCESS_TOKEN=fake-stale-inherited"}
	tests := []struct {
		name    string
		args    []string
		stdin   string
		want    tkResult
		wantEnv map[string]string // file name -> content written by the command
	}{
		{name: "token in the default variable, status passed on",
			args:    []string{"exec", "fake", "--", sh, "-c", `printf %s "$OAUTHCTL_ACCESS_TOKEN" > "$OUT/token"; echo child-out; echo child-err >&2; exit 7`},
			want:    tkResult{code: 7, out: "child-out\n", errOut: "child-err\n"},
			wantEnv: map[string]string{"token": token}},
		{name: "another variable; the default one is left as inherited",
			args:    []string{"exec", "fake", "--env", "API_TOKEN", "--", sh, "-c", `printf %s "$API_TOKEN" > "$OUT/token"; printf %s "$OAUTHCTL_ACCESS_TOKEN" > "$OUT/default"`},
			want:    tkResult{},
			wantEnv: map[string]string{"token": token, "default": "fake-stale-inherited"}},
		{name: "stdin passes through", args: []string{"exec", "fake", "--", sh, "-c", "tr a-z A-Z"}, stdin: "hello\n",
			want: tkResult{out: "HELLO\n"}},
		{name: "arguments are not re-split", args: []string{"exec", "fake", "--", sh, "-c", `printf '[%s]' "$@"`, "sh", "a b", "*"},
			want: tkResult{out: "[a b][*]"}},
		{name: "killed by a signal: 128+N", args: []string{"exec", "fake", "--", sh, "-c", "kill -TERM $$"},
			want: tkResult{code: 143}},
		{name: "command not found: 127", args: []string{"exec", "fake", "--", "oauthctl-no-such-command"},
			want: tkResult{code: 127, errOut: "oauthctl: cannot run oauthctl-no-such-command: executable file not found in $PATH\n"}},
		{name: "not executable: 126", args: []string{"exec", "fake", "--", "@DIR@/plain-file"},
			want: tkResult{code: 126, errOut: "oauthctl: cannot run @DIR@/plain-file: permission denied\n"}},
		{name: "not logged in: token's exit code, command not run", args: []string{"exec", "other", "--", sh, "-c", "echo ran"},
			want: tkResult{code: ExitSignIn, errOut: "oauthctl: no stored credentials: not logged in to other\nrun: oauthctl login other\n"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newTkEnv(t, fixedYAML("https://t.example/token")+"  other:\n    token_url: https://t.example/token\n    auth_url: https://t.example/auth\n")
			e.seed(fakeAccount("https://t.example/token"), &keyring.Record{AccessToken: token, RefreshToken: "fake-rt", Expiry: e.clock().Add(time.Hour)})
			dir := t.TempDir()
			if err := os.WriteFile(filepath.Join(dir, "plain-file"), []byte("not a program"), 0o600); err != nil {
				t.Fatal(err)
			}
			args := make([]string, len(tt.args))
			for i, a := range tt.args {
				args[i] = strings.ReplaceAll(a, "@DIR@", dir)
			}
			got := e.runExec(append(baseEnv, "OUT="+dir), tt.stdin, args...)
			want := tt.want
			want.errOut = strings.ReplaceAll(want.errOut, "@DIR@", dir)
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if strings.Contains(got.out+got.errOut, token) {
				t.Errorf("the token appears in the output")
			}
			for name, wantContent := range tt.wantEnv {
				b, err := os.ReadFile(filepath.Join(dir, name))
				if err != nil || string(b) != wantContent {
					t.Errorf("%s = %q (%v), want %q", name, b, err, wantContent)
				}
			}
		})
	}
}

// TestExecRefreshes: exec gets its token through the same path as token: an
// expired one is refreshed first.
func TestExecRefreshes(t *testing.T) {
	t.Parallel()
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skip("no sh")
	}
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", Expiry: e.clock().Add(-time.Minute)})
	got := e.runExec([]string{"PATH=" + os.Getenv("PATH")}, "", "exec", "fake", "--", sh, "-c", `test "$OAUTHCTL_ACCESS_TOKEN" = fake-at-new`)
	if diff := cmp.Diff(tkResult{}, got, cmp.AllowUnexported(tkResult{})); diff != "" {
		t.Errorf("result (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"fake-rt-old"}, ts.refreshTokens()); diff != "" {
		t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
	}
}

func TestWithEnv(t *testing.T) {
	t.Parallel()
	got := withEnv([]string{"A=1", "TOKEN=old", "B=2", "TOKEN=older", "TOKENX=keep"}, "TOKEN", "new")
	want := []string{"A=1", "B=2", "TOKENX=keep", "TOKEN=new"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("withEnv (-want +got):\n%s", diff)
	}
}
