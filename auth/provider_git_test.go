package auth_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
)

// TestBuiltinGitHosts: the presets serve their forges' git hosts with the
// forges' user names for OAuth tokens, and each git host is served by
// exactly the provider whose endpoints live there.
func TestBuiltinGitHosts(t *testing.T) {
	t.Parallel()
	cat := loadBuiltin(t)
	tests := []struct {
		host, provider, user string
	}{
		{"github.com", "github", "x-access-token"},
		{"GitHub.com", "github", "x-access-token"},
		{"gitlab.com", "gitlab", "oauth2"},
		{"github.com:8443", "", ""},
		{"gist.github.com", "", ""},
		{"accounts.google.com", "", ""},
	}
	for _, tt := range tests {
		p, ok := cat.GitProvider(tt.host)
		got, user := "", ""
		if ok {
			got, user = p.Name, p.GitUser()
		}
		if got != tt.provider || user != tt.user {
			t.Errorf("GitProvider(%q) = %q (user %q), want %q (user %q)", tt.host, got, user, tt.provider, tt.user)
		}
	}
	for _, p := range cat.All() {
		for _, h := range p.GitHosts {
			if h != "github.com" && h != "gitlab.com" {
				t.Errorf("%s serves unexpected git host %s", p.Name, h)
			}
		}
	}
}

// TestGitHostsConfig covers git_hosts and git_username in a user file:
// normalisation, validation, one provider per host, and the override rule
// for a built-in preset (git_hosts decides where tokens go).
func TestGitHostsConfig(t *testing.T) {
	t.Parallel()
	const path = "/cfg/providers.yaml"
	tests := []struct {
		name      string
		yaml      string
		wantHosts map[string][]string // provider -> hosts
		wantUser  string              // of provider "forge"
		wantErr   string
	}{
		{name: "hosts and port, lower-cased", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [Git.Example.com, git.example.com:8443]
    git_username: x-token-auth
`, wantHosts: map[string][]string{"forge": {"git.example.com", "git.example.com:8443"}}, wantUser: "x-token-auth"},
		{name: "default user name", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [git.example.com]
`, wantHosts: map[string][]string{"forge": {"git.example.com"}}, wantUser: "oauth2"},
		{name: "scheme refused", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [https://git.example.com]
`, wantErr: path + `:4: git_hosts: "https://git.example.com" must be a host name or HOST:PORT, without scheme, user or path`},
		{name: "path refused", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [git.example.com/group]
`, wantErr: `must be a host name or HOST:PORT`},
		{name: "wildcard refused", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: ["*.example.com"]
`, wantErr: `must be a host name or HOST:PORT`},
		{name: "bad port", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [git.example.com:99999]
`, wantErr: `has an invalid port`},
		{name: "not a list", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: git.example.com
`, wantErr: path + `:4: git_hosts: must be a list of hosts`},
		{name: "bad user name", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [git.example.com]
    git_username: "a b"
`, wantErr: `git_username: must be a user name without spaces`},
		{name: "one host, two providers", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [git.example.com]
  mirror:
    issuer: https://mirror.example.com
    git_hosts: [GIT.example.com]
`, wantErr: `git_hosts: git host git.example.com is already served by provider "forge"`},
		{name: "a user entry claims a built-in's host", yaml: `providers:
  forge:
    issuer: https://git.example.com
    git_hosts: [github.com]
`, wantErr: `git host github.com is already served by provider "forge"`},
		{name: "changing a preset's git hosts needs override", yaml: `providers:
  github:
    git_hosts: [evil.example.com]
`, wantErr: path + `:3: git_hosts: changes where the built-in "github" preset sends codes and tokens; add ` + "`override: true`"},
		{name: "with override", yaml: `providers:
  github:
    override: true
    git_hosts: [github.com, ghe.example.com]
`, wantHosts: map[string][]string{"github": {"github.com", "ghe.example.com"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cat, err := auth.LoadCatalogue(builtin(t), auth.ConfigSource{Path: path, Data: []byte(tt.yaml)}, noEnv)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, auth.ErrConfig) {
					t.Fatalf("error = %v, want a config error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			for name, want := range tt.wantHosts {
				p, err := cat.Get(name)
				if err != nil {
					t.Fatal(err)
				}
				if diff := cmp.Diff(want, p.GitHosts); diff != "" {
					t.Errorf("%s git_hosts (-want +got):\n%s", name, diff)
				}
				for _, h := range want {
					if got, ok := cat.GitProvider(h); !ok || got.Name != name {
						t.Errorf("GitProvider(%q) = %v, %v; want %s", h, got, ok, name)
					}
				}
			}
			if tt.wantUser != "" {
				p, _ := cat.Get("forge")
				if p.GitUser() != tt.wantUser {
					t.Errorf("GitUser = %q, want %q", p.GitUser(), tt.wantUser)
				}
			}
		})
	}
}
