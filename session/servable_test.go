package session

import (
	"errors"
	"testing"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestCheckServable: a stored record is handed to token, exec, whoami,
// git-credential and kube-credential only when its access token, and its
// ID token if any, are visible ASCII (docs/security.md §4.2).
func TestCheckServable(t *testing.T) {
	acct := &keyring.Account{Provider: "acme", Account: "alice"}
	tests := []struct {
		name    string
		rec     keyring.Record
		wantErr bool
	}{
		{name: "well formed", rec: keyring.Record{AccessToken: "fake-at", IDToken: "a.b.c"}},
		{name: "no ID token", rec: keyring.Record{AccessToken: "fake-at"}},
		{name: "CR LF in the access token", rec: keyring.Record{AccessToken: "fake-at\r\nX-Injected: 1"}, wantErr: true},
		{name: "escape in the ID token", rec: keyring.Record{AccessToken: "fake-at", IDToken: "a.b\x1b]8;;x\x07.c"}, wantErr: true},
		{name: "space in the access token", rec: keyring.Record{AccessToken: "fake at"}, wantErr: true},
		{name: "empty access token", rec: keyring.Record{}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkServable(&tt.rec, acct)
			if got := err != nil; got != tt.wantErr {
				t.Fatalf("checkServable: %v, want error %v", err, tt.wantErr)
			}
			if err == nil {
				return
			}
			var he *HintError
			if !errors.Is(err, auth.ErrReauthRequired) || !errors.As(err, &he) || he.Hint != "run: oauthctl login acme --account alice" {
				t.Errorf("error %v (hint %v), want sign-in required with the login hint", err, he)
			}
		})
	}
}
