package front

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// serveEnv is a state directory with an account index naming acme/alice,
// and a memory keychain holding rec for it.
func serveEnv(t *testing.T, rec *keyring.Record) (Deps, *keyring.Memory) {
	t.Helper()
	dir := t.TempDir()
	paths := keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}
	ix := &keyring.Index{}
	ix.Put(keyring.Account{Provider: "acme", Account: "alice", ClientID: "cid", Scopes: []string{"read"}})
	if err := ix.Save(paths.Index); err != nil {
		t.Fatal(err)
	}
	st := keyring.NewMemory()
	if rec != nil {
		if err := st.Save(context.Background(), keyring.Key{Provider: "acme", Account: "alice"}, rec); err != nil {
			t.Fatal(err)
		}
	}
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	return Deps{
		Getenv:   func(string) string { return "" },
		Now:      func() time.Time { return now },
		Paths:    func() (keyring.Paths, error) { return paths, nil },
		Keychain: func() keyring.Store { return st },
	}, st
}

// TestServe covers what front.Serve answers from one keychain read and
// that it writes nothing when it leaves the request to the full program.
func TestServe(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	fresh := &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: now.Add(time.Hour)}
	tests := []struct {
		name       string
		rec        *keyring.Record
		req        Request
		noKeychain bool
		noIndex    bool
		wantServed bool
		wantOut    string
		wantErrOut string
	}{
		{name: "plain", rec: fresh, req: Request{Provider: "acme", MinTTL: time.Minute}, wantServed: true, wantOut: "fake-at\n"},
		{name: "default account", rec: fresh, req: Request{MinTTL: time.Minute}, wantServed: true, wantOut: "fake-at\n"},
		{name: "header", rec: fresh, req: Request{Provider: "acme", Account: "alice", MinTTL: time.Minute, Header: true}, wantServed: true,
			wantOut: "Authorization: Bearer fake-at\n"},
		{name: "json", rec: fresh, req: Request{Provider: "acme", MinTTL: time.Minute, JSON: true}, wantServed: true,
			wantOut: `{"access_token":"fake-at","token_type":"Bearer","expiry":"2026-12-03T13:00:00Z","expires_in":3600,"scopes":["read"]}` + "\n"},
		{name: "with the refresh expiry warning", rec: &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: now.Add(time.Hour), RefreshExpiry: now.Add(36 * time.Hour)},
			req: Request{Provider: "acme", MinTTL: time.Minute}, wantServed: true, wantOut: "fake-at\n",
			wantErrOut: "warning: the refresh token of acme:alice expires in 1d12h; run: oauthctl login acme\n"},
		{name: "needs a refresh", rec: &keyring.Record{AccessToken: "fake-at", RefreshToken: "fake-rt", Expiry: now.Add(30 * time.Second)},
			req: Request{Provider: "acme", MinTTL: time.Minute}},
		{name: "--min-ttl beyond the expiry", rec: fresh, req: Request{Provider: "acme", MinTTL: 2 * time.Hour, MinTTLSet: true}},
		{name: "nothing stored", req: Request{Provider: "acme", MinTTL: time.Minute}},
		{name: "unknown provider", rec: fresh, req: Request{Provider: "other", MinTTL: time.Minute}},
		{name: "unknown account", rec: fresh, req: Request{Provider: "acme", Account: "bob", MinTTL: time.Minute}},
		{name: "no store to read (Vault)", rec: fresh, req: Request{Provider: "acme", MinTTL: time.Minute}, noKeychain: true},
		{name: "no account index", rec: fresh, req: Request{Provider: "acme", MinTTL: time.Minute}, noIndex: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			d, _ := serveEnv(t, tt.rec)
			if tt.noKeychain {
				d.Keychain = nil
			}
			if tt.noIndex {
				p, _ := d.Paths()
				if err := os.Remove(p.Index); err != nil {
					t.Fatal(err)
				}
			}
			var out, errOut bytes.Buffer
			served, index, err := Serve(context.Background(), d, tt.req, &out, &errOut)
			if err != nil {
				t.Fatalf("Serve: %v", err)
			}
			if served != tt.wantServed {
				t.Fatalf("served = %v, want %v", served, tt.wantServed)
			}
			if out.String() != tt.wantOut || errOut.String() != tt.wantErrOut {
				t.Errorf("stdout %q, stderr %q; want %q, %q", out.String(), errOut.String(), tt.wantOut, tt.wantErrOut)
			}
			if served && index == nil {
				t.Error("served without returning the index bytes it read")
			}
		})
	}
}

// failWriter fails every write, like a closed pipe.
type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, os.ErrClosed }

// TestServeWriteError: a token that cannot be written is an error of a
// served request (the full program must not run and print it again).
func TestServeWriteError(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 12, 3, 12, 0, 0, 0, time.UTC)
	d, _ := serveEnv(t, &keyring.Record{AccessToken: "fake-at", Expiry: now.Add(time.Hour)})
	served, _, err := Serve(context.Background(), d, Request{Provider: "acme", MinTTL: time.Minute}, failWriter{}, &bytes.Buffer{})
	if !served || err == nil || err.Error() != "writing the token: "+os.ErrClosed.Error() {
		t.Fatalf("Serve = %v, %v; want served with the write error", served, err)
	}
}
