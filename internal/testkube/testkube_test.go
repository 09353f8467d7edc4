package testkube_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/internal/testkube"
	"github.com/oauthctl/oauthctl/internal/testop"
)

// login signs the test user in to op with the native client and returns
// the tokens.
func login(t *testing.T, op *testop.OP) *oauth2.Token {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	codes := make(chan string, 1)
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		codes <- r.URL.Query().Get("code")
	}))
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(srv.Close)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	cfg := &oauth2.Config{ClientID: testop.NativeClientID, Endpoint: op.Endpoints().OAuth2(),
		RedirectURL: srv.URL + testop.RedirectPath, Scopes: []string{"openid", "email"}}
	verifier := oauth2.GenerateVerifier()
	if _, err := testop.NewBrowser(op, testop.Username, testop.Password).Visit(ctx, cfg.AuthCodeURL("s", oauth2.S256ChallengeOption(verifier))); err != nil {
		t.Fatal(err)
	}
	tok, err := cfg.Exchange(ctx, <-codes, oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// TestAPIServer drives the real kubectl against the stand-in with an exec
// plugin (a shell script) that hands out a fixed token: the OP's ID token
// is accepted and names the user; an access token and a tampered ID token
// are refused as a real API server would.
func TestAPIServer(t *testing.T) {
	kubectl := testkube.RequireKubectl(t)
	op := testop.Start(t)
	api := testkube.StartAPIServer(t, op.Issuer, op.Endpoints().JWKS, testop.NativeClientID, op.Client())
	tok := login(t, op)
	idToken, _ := tok.Extra("id_token").(string)
	if idToken == "" {
		t.Fatal("no ID token")
	}
	tampered := idToken[:len(idToken)-4] + "AAAA"

	tests := []struct {
		name    string
		token   string
		args    []string
		wantOK  bool
		wantOut string
	}{
		{name: "ID token", token: idToken, args: []string{"get", "--raw", "/api"}, wantOK: true, wantOut: `"APIVersions"`},
		{name: "ID token whoami", token: idToken, args: []string{"auth", "whoami"}, wantOK: true, wantOut: api.Username(testop.Subject)},
		{name: "access token", token: tok.AccessToken, args: []string{"get", "--raw", "/api"}},
		{name: "tampered", token: tampered, args: []string{"get", "--raw", "/api"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.args[0] == "auth" && !kubectl.AtLeast(28) {
				t.Skipf("kubectl 1.%d has no auth whoami for authentication.k8s.io/v1", kubectl.Minor)
			}
			dir := t.TempDir()
			cred := filepath.Join(dir, "cred.json")
			if err := os.WriteFile(cred, fmt.Appendf(nil, `{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1beta1","status":{"token":%q}}`, tt.token), 0o600); err != nil {
				t.Fatal(err)
			}
			plugin := filepath.Join(dir, "plugin")
			if err := os.WriteFile(plugin, []byte("#!/bin/sh\nexec cat "+cred+"\n"), 0o700); err != nil {
				t.Fatal(err)
			}
			kc := api.Kubeconfig("plugin") + "users:\n- name: plugin\n  user:\n    exec:\n      apiVersion: client.authentication.k8s.io/v1beta1\n      command: " + plugin + "\n"
			if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), []byte(kc), 0o600); err != nil {
				t.Fatal(err)
			}
			before := len(api.Requests())
			c := exec.CommandContext(t.Context(), kubectl.Path, append([]string{"--kubeconfig", filepath.Join(dir, "kubeconfig")}, tt.args...)...)
			c.Env = testkube.Env(os.Environ(), dir)
			out, err := c.CombinedOutput()
			reqs := api.Requests()[before:]
			if len(reqs) == 0 {
				t.Fatalf("kubectl sent no request: %v\n%s", err, out)
			}
			if tt.wantOK {
				if err != nil || !strings.Contains(string(out), tt.wantOut) {
					t.Fatalf("kubectl: %v\n%s", err, out)
				}
				for _, r := range reqs {
					if r.Username != api.Username(testop.Subject) {
						t.Errorf("%s %s: user %q (%s)", r.Method, r.Path, r.Username, r.Error)
					}
				}
				return
			}
			if err == nil || !strings.Contains(string(out), "Unauthorized") {
				t.Errorf("kubectl: %v, want Unauthorized\n%s", err, out)
			}
			for _, r := range reqs {
				if r.Status != http.StatusUnauthorized || r.Username != "" {
					t.Errorf("%s %s: status %d, user %q", r.Method, r.Path, r.Status, r.Username)
				}
			}
		})
	}
}
