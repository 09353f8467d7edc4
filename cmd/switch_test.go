package cmd

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/internal/iostreams"
)

func TestNewCmdSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name     string
		args     []string
		want     *SwitchOptions
		wantCode int
	}{
		{name: "provider and account", args: []string{"google", "work@example.com"}, want: &SwitchOptions{Provider: "google", Account: "work@example.com"}},
		{name: "account missing", args: []string{"google"}, wantCode: ExitUsage},
		{name: "too many", args: []string{"google", "a", "b"}, wantCode: ExitUsage},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			ios, _, _, _ := iostreams.Test()
			var got *SwitchOptions
			c := NewCmdSwitch(&Factory{IO: ios}, func(o *SwitchOptions) error { got = o; return nil })
			if code := acParse(c, tt.args); code != tt.wantCode {
				t.Fatalf("exit %d, want %d", code, tt.wantCode)
			}
			if tt.want == nil {
				return
			}
			got.IO, got.Session = nil, nil
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("options (-want +got):\n%s", diff)
			}
		})
	}
}

// TestSwitch changes the default account in the index and reports on
// stderr only; an unknown account is a usage error listing the provider's
// accounts, a provider without accounts exit 4.
func TestSwitch(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		args        []string
		code        int
		errOut      string
		wantAccount []string
	}{
		{name: "by account name", args: []string{"switch", "google", "work"}, errOut: "work is now the default google account.\n",
			wantAccount: []string{"github/octocat*", "google/personal", "google/work*"}},
		{name: "by identity", args: []string{"switch", "google", "me@corp.example"}, errOut: "work is now the default google account.\n",
			wantAccount: []string{"github/octocat*", "google/personal", "google/work*"}},
		{name: "already the default", args: []string{"switch", "google", "personal"}, errOut: "personal is already the default google account.\n",
			wantAccount: []string{"github/octocat*", "google/personal*", "google/work"}},
		{name: "unknown account", args: []string{"switch", "google", "nobody"}, code: ExitUsage,
			errOut:      "oauthctl: no google account \"nobody\" (accounts: personal, work)\n",
			wantAccount: []string{"github/octocat*", "google/personal*", "google/work"}},
		{name: "account of another provider", args: []string{"switch", "google", "octocat"}, code: ExitUsage,
			errOut:      "oauthctl: no google account \"octocat\" (accounts: personal, work)\n",
			wantAccount: []string{"github/octocat*", "google/personal*", "google/work"}},
		{name: "provider without accounts", args: []string{"switch", "gitlab", "dev"}, code: ExitSignIn,
			errOut:      "oauthctl: no stored credentials: not logged in to gitlab\nrun: oauthctl login gitlab --account dev\n",
			wantAccount: []string{"github/octocat*", "google/personal*", "google/work"}},
		{name: "unknown provider", args: []string{"switch", "nope", "dev"}, code: ExitUsage,
			errOut:      "oauthctl: unknown provider \"nope\" (known: github, gitlab, google, microsoft)\n",
			wantAccount: []string{"github/octocat*", "google/personal*", "google/work"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			e := newAcEnv(t, "")
			e.seed(acAccount("google", "https://accounts.google.com", "personal"), nil)
			work := acAccount("google", "https://accounts.google.com", "work")
			work.Identity = "me@corp.example"
			e.seed(work, nil)
			e.seed(acAccount("github", "https://github.com", "octocat"), nil)
			r := e.run(tt.args...)
			if diff := cmp.Diff(acResult{code: tt.code, errOut: tt.errOut}, r, cmp.AllowUnexported(acResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.wantAccount, e.accountNames()); diff != "" {
				t.Errorf("accounts (-want +got):\n%s", diff)
			}
			if e.store.Loads != 0 {
				t.Errorf("switch read the keychain")
			}
		})
	}
}
