package keyring_test

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
)

// acct is an index entry with made-up endpoints.
var acct = storetest.Account

// TestIndexPutDefaults: the first account of a provider becomes its default;
// later ones do not; Put of an existing account replaces it in place.
func TestIndexPutDefaults(t *testing.T) {
	ix := &keyring.Index{}
	ix.Put(acct("google", "alice"))
	ix.Put(acct("google", "bob"))
	ix.Put(acct("github", "octocat"))
	changed := acct("google", "alice")
	changed.Scopes = []string{"openid", "email"}
	changed.LoginRequired = true
	ix.Put(changed)

	if diff := cmp.Diff(map[string]string{"google": "alice", "github": "octocat"}, ix.Defaults); diff != "" {
		t.Errorf("defaults (-want +got):\n%s", diff)
	}
	if len(ix.Accounts) != 3 {
		t.Fatalf("%d accounts, want 3: %+v", len(ix.Accounts), ix.Accounts)
	}
	if diff := cmp.Diff(&changed, ix.Find("google", "alice")); diff != "" {
		t.Errorf("replaced account (-want +got):\n%s", diff)
	}
	if ix.Find("google", "carol") != nil {
		t.Error("Find of a missing account returned one")
	}
}

// TestIndexRemove: removing the default promotes the first remaining account
// by name; removing the last one clears the default; others stay untouched.
func TestIndexRemove(t *testing.T) {
	ix := &keyring.Index{}
	for _, a := range []string{"mallory", "carol", "bob"} {
		ix.Put(acct("google", a))
	}
	ix.Put(acct("github", "octocat"))
	if ix.Defaults["google"] != "mallory" {
		t.Fatalf("default = %q, want mallory (the first one put)", ix.Defaults["google"])
	}

	ix.Remove("google", "carol") // not the default
	if ix.Defaults["google"] != "mallory" {
		t.Errorf("after removing a non-default: default = %q, want mallory", ix.Defaults["google"])
	}
	ix.Remove("google", "mallory") // the default: bob is first by name
	if ix.Defaults["google"] != "bob" {
		t.Errorf("after removing the default: default = %q, want bob", ix.Defaults["google"])
	}
	ix.Remove("google", "bob")
	if _, ok := ix.Defaults["google"]; ok {
		t.Errorf("after removing the last account: default %q still set", ix.Defaults["google"])
	}
	ix.Remove("google", "nobody") // no-op
	if diff := cmp.Diff([]keyring.Account{acct("github", "octocat")}, ix.Accounts); diff != "" {
		t.Errorf("accounts left (-want +got):\n%s", diff)
	}
	if ix.Defaults["github"] != "octocat" {
		t.Errorf("github default = %q, want octocat", ix.Defaults["github"])
	}
}

// TestIndexResolve covers what `token [PROVIDER] [--account NAME]` finds.
func TestIndexResolve(t *testing.T) {
	one := &keyring.Index{}
	one.Put(acct("google", "alice"))
	many := &keyring.Index{}
	many.Put(acct("google", "alice"))
	many.Put(acct("google", "bob"))
	many.Put(acct("github", "bob"))
	many.Put(acct("gitlab", "carol"))
	sameProvider := &keyring.Index{}
	sameProvider.Put(acct("google", "alice"))
	sameProvider.Put(acct("google", "bob"))
	empty := &keyring.Index{}

	tests := []struct {
		name     string
		ix       *keyring.Index
		provider string
		account  string
		want     string // "provider/account" or ""
		wantErr  error
		wantMsg  string
	}{
		{name: "nothing stored", ix: empty, wantErr: keyring.ErrNotFound, wantMsg: "no stored credentials: no account is logged in"},
		{name: "the only account", ix: one, want: "google/alice"},
		{name: "the only account by name", ix: one, account: "alice", want: "google/alice"},
		{name: "the only account, wrong name", ix: one, account: "bob", wantErr: keyring.ErrNotFound, wantMsg: `no stored credentials: no account "bob"`},
		{name: "several accounts, no provider", ix: many, wantErr: keyring.ErrAmbiguous,
			wantMsg: "more than one stored account (github: bob; gitlab: carol; google: alice, bob): name a provider, and add --account NAME for one that is not its default"},
		{name: "several accounts of one provider, no provider", ix: sameProvider, wantErr: keyring.ErrAmbiguous,
			wantMsg: "more than one stored account (google: alice, bob): name the provider for its default account, or add --account NAME"},
		{name: "no provider, unique account name", ix: many, account: "carol", want: "gitlab/carol"},
		{name: "no provider, shared account name", ix: many, account: "bob", wantErr: keyring.ErrAmbiguous,
			wantMsg: "more than one stored account (github: bob; google: bob): name a provider, and add --account NAME for one that is not its default"},
		{name: "provider default", ix: many, provider: "google", want: "google/alice"},
		{name: "provider and account", ix: many, provider: "google", account: "bob", want: "google/bob"},
		{name: "provider not logged in", ix: many, provider: "microsoft", wantErr: keyring.ErrNotFound, wantMsg: "no stored credentials: not logged in to microsoft"},
		{name: "provider, unknown account", ix: many, provider: "github", account: "alice", wantErr: keyring.ErrNotFound,
			wantMsg: `no stored credentials: no account "alice" for github`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Saving sorts the accounts, as a loaded index is.
			path := filepath.Join(t.TempDir(), "accounts.json")
			if err := tt.ix.Save(path); err != nil {
				t.Fatal(err)
			}
			ix, err := keyring.LoadIndex(path)
			if err != nil {
				t.Fatal(err)
			}
			got, err := ix.Resolve(tt.provider, tt.account)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || err.Error() != tt.wantMsg {
					t.Fatalf("Resolve = %v, %v; want error %q (%v)", got, err, tt.wantMsg, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if s := got.Provider + "/" + got.Account; s != tt.want {
				t.Errorf("Resolve = %s, want %s", s, tt.want)
			}
			got.Scopes = append(got.Scopes, "mutated")
			got.ClientID = "mutated"
			if a := ix.Find(got.Provider, got.Account); a.ClientID == "mutated" {
				t.Error("Resolve returned the index's own entry, not a copy")
			}
		})
	}
}

// TestIndexSaveLoad: Save writes a 0600 file in a 0700 directory atomically
// (no temp file left), sorted, and LoadIndex reads it back.
func TestIndexSaveLoad(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "oauthctl")
	path := filepath.Join(dir, "accounts.json")
	ix := &keyring.Index{}
	b := acct("google", "bob")
	b.Expiry = time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	b.Subject = "1234"
	ix.Put(b)
	ix.Put(acct("github", "octocat"))
	ix.Put(acct("google", "alice"))
	if err := ix.Save(path); err != nil {
		t.Fatalf("Save: %v", err)
	}

	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("index mode = %04o, want 0600", fi.Mode().Perm())
	}
	di, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if di.Mode().Perm() != 0o700 {
		t.Errorf("index directory mode = %04o, want 0700", di.Mode().Perm())
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only accounts.json (no temp files)", len(entries))
	}

	got, err := keyring.LoadIndex(path)
	if err != nil {
		t.Fatalf("LoadIndex: %v", err)
	}
	want := &keyring.Index{Version: 1, Defaults: map[string]string{"google": "bob", "github": "octocat"},
		Accounts: []keyring.Account{acct("github", "octocat"), acct("google", "alice"), b}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("LoadIndex after Save (-want +got):\n%s", diff)
	}
	data, _ := os.ReadFile(path)
	for _, secretish := range []string{"access_token", "refresh_token", "id_token"} {
		if strings.Contains(string(data), secretish) {
			t.Errorf("index file mentions %s", secretish)
		}
	}
}

// TestIndexSaveReplacesAtomically: an existing file is replaced, never
// truncated in place; a reader holding the old file keeps the old content.
func TestIndexSaveReplacesAtomically(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts.json")
	first := &keyring.Index{}
	first.Put(acct("google", "alice"))
	if err := first.Save(path); err != nil {
		t.Fatal(err)
	}
	old, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer old.Close()
	oldStat, _ := old.Stat()

	second := &keyring.Index{}
	second.Put(acct("github", "octocat"))
	if err := second.Save(path); err != nil {
		t.Fatal(err)
	}
	newStat, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if os.SameFile(oldStat, newStat) {
		t.Error("Save rewrote the file in place instead of renaming a new one over it")
	}
	oldData := make([]byte, 4096)
	n, _ := old.Read(oldData)
	if !strings.Contains(string(oldData[:n]), `"alice"`) {
		t.Errorf("the old file changed under its reader: %s", oldData[:n])
	}
}

func TestLoadIndexErrors(t *testing.T) {
	dir := t.TempDir()
	missing, err := keyring.LoadIndex(filepath.Join(dir, "none.json"))
	if err != nil {
		t.Fatalf("LoadIndex of a missing file: %v", err)
	}
	if diff := cmp.Diff(&keyring.Index{Version: 1, Defaults: map[string]string{}}, missing); diff != "" {
		t.Errorf("missing file (-want +got):\n%s", diff)
	}

	tests := []struct {
		name    string
		content string
		want    string
	}{
		{"damaged", "{not json", "account index %s is damaged (invalid character 'n' looking for beginning of object key string); move it away and log in again"},
		{"unknown version", `{"version": 9, "accounts": []}`, "account index %s has unknown version 9"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, tt.name+".json")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := keyring.LoadIndex(path)
			if want := fmt.Sprintf(tt.want, path); err == nil || err.Error() != want {
				t.Errorf("LoadIndex = %v, want %q", err, want)
			}
		})
	}
}

// TestUpdateIndexConcurrent: many concurrent read-modify-write updates under
// the index lock lose none of each other's changes.
func TestUpdateIndexConcurrent(t *testing.T) {
	dir := t.TempDir()
	paths := keyring.Paths{Index: filepath.Join(dir, "state", "accounts.json"), LockDir: filepath.Join(dir, "locks")}
	const n = 24
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			errs <- keyring.UpdateIndex(t.Context(), paths, func(ix *keyring.Index) error {
				ix.Put(acct("google", fmt.Sprintf("user%02d", i)))
				return nil
			})
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatalf("UpdateIndex: %v", err)
		}
	}
	ix, err := keyring.LoadIndex(paths.Index)
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Accounts) != n {
		t.Errorf("index holds %d accounts after %d concurrent updates", len(ix.Accounts), n)
	}
	for i := range n {
		if ix.Find("google", fmt.Sprintf("user%02d", i)) == nil {
			t.Errorf("update %d was lost", i)
		}
	}
}

// TestUpdateIndexFnError: an error from fn leaves the file untouched.
func TestUpdateIndexFnError(t *testing.T) {
	dir := t.TempDir()
	paths := keyring.Paths{Index: filepath.Join(dir, "accounts.json"), LockDir: filepath.Join(dir, "locks")}
	if err := keyring.UpdateIndex(t.Context(), paths, func(ix *keyring.Index) error {
		ix.Put(acct("google", "alice"))
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(paths.Index)
	boom := errors.New("boom")
	err := keyring.UpdateIndex(t.Context(), paths, func(ix *keyring.Index) error {
		ix.Remove("google", "alice")
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("UpdateIndex = %v, want the fn's error", err)
	}
	after, _ := os.ReadFile(paths.Index)
	if string(before) != string(after) {
		t.Errorf("the index changed although fn failed:\n%s", after)
	}
}
