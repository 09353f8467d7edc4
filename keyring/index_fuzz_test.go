package keyring

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzLoadIndex: the account index is read from a file another tool (or a
// careless edit) may have damaged. Whatever it holds, LoadIndex never
// panics, and an index it accepts resolves and saves again
// (docs/security.md §8).
func FuzzLoadIndex(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"defaults":{"fake":"alice"},"accounts":[{"provider":"fake","account":"alice","token_url":"https://as.example/t","client_id":"c","scopes":["a"]}]}`,
		`{"version":2}`, `{"version":1,"defaults":null,"accounts":null}`, `{"version":1,"accounts":[{}]}`,
		`{"version":1,"accounts":[{"provider":"a","account":"x"},{"provider":"a","account":"x"}],"defaults":{"a":"y"}}`,
		`[]`, `null`, ``, "{\"version\":1,\"accounts\":[{\"provider\":\"\u001b[2J\",\"expiry\":\"not a time\"}]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dir := t.TempDir()
		path := filepath.Join(dir, "accounts.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		ix, err := LoadIndex(path)
		if err != nil {
			if ix != nil {
				t.Fatal("an index with an error")
			}
			return
		}
		for _, a := range ix.Accounts {
			_ = ix.Find(a.Provider, a.Account)
			_, _ = ix.Resolve(a.Provider, "")
		}
		_, _ = ix.Resolve("", "")
		if err := ix.Save(path); err != nil {
			t.Fatalf("Save of a loaded index: %v", err)
		}
		if _, err := LoadIndex(path); err != nil {
			t.Fatalf("the saved index does not load: %v", err)
		}
	})
}

// FuzzLoadClients: the client registrations file decides which client ID a
// secret is sent with. Whatever it holds, LoadClients never panics, and
// what it accepts saves and loads again.
func FuzzLoadClients(f *testing.F) {
	for _, s := range []string{
		`{"version":1,"providers":{"google":{"client_id":"c","secret_stored":true}}}`,
		`{"version":1,"providers":{"x":{"secret_client_id":"\u202e"}}}`, `{"version":0}`, `{"providers":[]}`, `{}`, `nul`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "clients.json")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		c, err := LoadClients(path)
		if err != nil {
			return
		}
		for _, r := range c.Providers {
			_ = r.SecretOwner()
		}
		if err := c.Save(path); err != nil {
			t.Fatalf("Save of loaded registrations: %v", err)
		}
		if _, err := LoadClients(path); err != nil {
			t.Fatalf("the saved registrations do not load: %v", err)
		}
	})
}
