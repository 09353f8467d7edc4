// Package storetest is the contract every keyring.Store passes: the
// behaviour the commands rely on, checked the same way against the
// in-memory store, the OS keychain and Vault. Backend-specific behaviour
// (keychain chunking, Vault versions and leases) is tested next to each
// backend. It is imported only from _test.go files.
package storetest

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/keyring"
)

// NewStore returns an empty store for one subtest; it must not share keys
// with the stores of other subtests.
type NewStore func(t *testing.T) keyring.Store

// Run runs the contract against stores from newStore, one per subtest.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, st keyring.Store)
	}{
		{"RoundTrip", testRoundTrip},
		{"NotFound", testNotFound},
		{"Overwrite", testOverwrite},
		{"Delete", testDelete},
		{"Copies", testCopies},
		{"KeysAreDistinct", testKeysAreDistinct},
		{"BigRecord", testBigRecord},
		{"ClientSecret", testClientSecret},
		{"Concurrent", testConcurrent},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.fn(t, newStore(t))
		})
	}
}

// Record returns a plausible token set with obviously fake values.
func Record(tag string) *keyring.Record {
	return &keyring.Record{
		AccessToken:   "fake-at-" + tag,
		RefreshToken:  "fake-rt-" + tag,
		IDToken:       "fake.idtoken." + tag,
		TokenType:     "Bearer",
		Expiry:        time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC),
		RefreshExpiry: time.Date(2031, 6, 1, 0, 0, 0, 0, time.UTC),
		Scopes:        []string{"openid", "email", "offline_access"},
	}
}

// Account returns an account index entry of provider with made-up
// endpoints and client ID.
func Account(provider, account string) keyring.Account {
	return keyring.Account{Provider: provider, Account: account, TokenURL: "https://" + provider + ".example/token",
		ClientID: "client-" + provider, Scopes: []string{"openid"}}
}

// BigRecord is a token set of about size bytes of JSON, shaped like a real
// one (JWTs are base64url text), with fake values.
func BigRecord(size int, tag string) *keyring.Record {
	fill := func(prefix string, n int) string {
		var b strings.Builder
		b.WriteString(prefix)
		for i := 0; b.Len() < n; i++ {
			b.WriteString(strconv.Itoa(i % 10))
			b.WriteByte("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_"[i%54])
		}
		return b.String()
	}
	r := Record(tag)
	r.AccessToken = fill("fake-at-"+tag+"-", size*35/100)
	r.IDToken = fill("fake.idtoken."+tag+"-", size*6/10)
	return r
}

func load(t *testing.T, st keyring.Store, key keyring.Key) *keyring.Record {
	t.Helper()
	got, err := st.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load(%s): %v", key, err)
	}
	return got
}

func save(t *testing.T, st keyring.Store, key keyring.Key, rec *keyring.Record) {
	t.Helper()
	if err := st.Save(t.Context(), key, rec); err != nil {
		t.Fatalf("Save(%s): %v", key, err)
	}
}

// testRoundTrip: what Save stored, Load returns, every field intact.
func testRoundTrip(t *testing.T, st keyring.Store) {
	key := keyring.Key{Provider: "github", Account: "octocat"}
	rec := Record("roundtrip")
	save(t, st, key, rec)
	if diff := cmp.Diff(rec, load(t, st, key)); diff != "" {
		t.Errorf("Load after Save (-want +got):\n%s", diff)
	}
	minimal := &keyring.Record{AccessToken: "fake-at-minimal"}
	key2 := keyring.Key{Provider: "github", Account: "minimal"}
	save(t, st, key2, minimal)
	if diff := cmp.Diff(minimal, load(t, st, key2)); diff != "" {
		t.Errorf("Load of a minimal record (-want +got):\n%s", diff)
	}
}

// testNotFound: nothing stored is ErrNotFound, never another error.
func testNotFound(t *testing.T, st keyring.Store) {
	_, err := st.Load(t.Context(), keyring.Key{Provider: "gitlab", Account: "nobody"})
	if !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load of nothing: got %v, want ErrNotFound", err)
	}
	if errors.Is(err, keyring.ErrUnavailable) || errors.Is(err, keyring.ErrCorrupt) {
		t.Errorf("Load of nothing also matches another sentinel: %v", err)
	}
}

// testOverwrite: a second Save replaces the record whole, also with a
// smaller one (no field of the old one survives).
func testOverwrite(t *testing.T, st keyring.Store) {
	key := keyring.Key{Provider: "google", Account: "alice@example.com"}
	save(t, st, key, BigRecord(6_000, "first"))
	small := &keyring.Record{AccessToken: "fake-at-second", TokenType: "Bearer"}
	save(t, st, key, small)
	if diff := cmp.Diff(small, load(t, st, key)); diff != "" {
		t.Errorf("Load after overwrite (-want +got):\n%s", diff)
	}
	third := Record("third")
	save(t, st, key, third)
	if diff := cmp.Diff(third, load(t, st, key)); diff != "" {
		t.Errorf("Load after the second overwrite (-want +got):\n%s", diff)
	}
}

// testDelete: Delete removes the record, is idempotent, and touches no
// other account.
func testDelete(t *testing.T, st keyring.Store) {
	ctx := t.Context()
	a := keyring.Key{Provider: "microsoft", Account: "bob"}
	b := keyring.Key{Provider: "microsoft", Account: "carol"}
	save(t, st, a, Record("a"))
	save(t, st, b, Record("b"))
	if err := st.Delete(ctx, a); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := st.Load(ctx, a); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load after Delete: got %v, want ErrNotFound", err)
	}
	if err := st.Delete(ctx, a); err != nil {
		t.Errorf("second Delete: got %v, want nil", err)
	}
	if err := st.Delete(ctx, keyring.Key{Provider: "microsoft", Account: "never"}); err != nil {
		t.Errorf("Delete of a missing record: got %v, want nil", err)
	}
	if diff := cmp.Diff(Record("b"), load(t, st, b)); diff != "" {
		t.Errorf("the other account after Delete (-want +got):\n%s", diff)
	}
	save(t, st, a, Record("again"))
	if diff := cmp.Diff(Record("again"), load(t, st, a)); diff != "" {
		t.Errorf("Load after Save over a deleted record (-want +got):\n%s", diff)
	}
}

// testCopies: the store keeps its own copy; callers may change what they
// passed in or got back.
func testCopies(t *testing.T, st keyring.Store) {
	key := keyring.Key{Provider: "okta", Account: "dave"}
	rec := Record("copies")
	save(t, st, key, rec)
	rec.Scopes[0] = "mutated"
	rec.AccessToken = "mutated"
	got := load(t, st, key)
	if diff := cmp.Diff(Record("copies"), got); diff != "" {
		t.Errorf("Load after mutating the saved record (-want +got):\n%s", diff)
	}
	got.Scopes[0] = "mutated"
	if again := load(t, st, key); again.Scopes[0] != "openid" {
		t.Error("Load returned the stored record itself, not a copy")
	}
}

// testKeysAreDistinct: accounts whose names look like paths, separators,
// escapes or each other never collide, and client secrets never collide
// with records.
func testKeysAreDistinct(t *testing.T, st keyring.Store) {
	ctx := t.Context()
	names := []string{"alice@example.com", "Alice Example", "日本語", "a/b", "a~2Fb", "a%2Fb", "..", ".", "a b", "a", "A", "-", "~"}
	for i, n := range names {
		save(t, st, keyring.Key{Provider: "p", Account: n}, Record(strconv.Itoa(i)))
	}
	save(t, st, keyring.Key{Provider: "p-a", Account: "b"}, Record("p-a"))
	for i, n := range names {
		key := keyring.Key{Provider: "p", Account: n}
		if got := load(t, st, key); got.AccessToken != "fake-at-"+strconv.Itoa(i) {
			t.Errorf("Load(%q) = the record of %q", n, strings.TrimPrefix(got.AccessToken, "fake-at-"))
		}
	}
	if err := st.SetClientSecret(ctx, "p", "fake-secret-p"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Load(ctx, keyring.Key{Provider: "p", Account: "p"}); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load of a record named like the client secret: got %v, want ErrNotFound", err)
	}
	if got := load(t, st, keyring.Key{Provider: "p", Account: "a"}); got.AccessToken != "fake-at-9" {
		t.Errorf("a client secret replaced a record")
	}
	_ = st.DeleteClientSecret(ctx, "p")
}

// testBigRecord: a 20 KB token set (JWT access and ID tokens) survives
// whole.
func testBigRecord(t *testing.T, st keyring.Store) {
	key := keyring.Key{Provider: "microsoft", Account: "big"}
	rec := BigRecord(20_000, "big")
	save(t, st, key, rec)
	if diff := cmp.Diff(rec, load(t, st, key)); diff != "" {
		t.Errorf("Load of a big record (-want +got):\n%s", diff)
	}
}

// testClientSecret: stored, replaced, read, deleted; missing is
// ErrNotFound; deleting a missing one is no error.
func testClientSecret(t *testing.T, st keyring.Store) {
	ctx := t.Context()
	if _, err := st.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("ClientSecret before Set: got %v, want ErrNotFound", err)
	}
	if err := st.SetClientSecret(ctx, "google", "fake-secret-1"); err != nil {
		t.Fatalf("SetClientSecret: %v", err)
	}
	if err := st.SetClientSecret(ctx, "google", "fake-secret-2"); err != nil {
		t.Fatalf("SetClientSecret again: %v", err)
	}
	if err := st.SetClientSecret(ctx, "gitlab", "fake-secret-gitlab"); err != nil {
		t.Fatalf("SetClientSecret gitlab: %v", err)
	}
	if got, err := st.ClientSecret(ctx, "google"); err != nil || got != "fake-secret-2" {
		t.Fatalf("ClientSecret = %q, %v; want fake-secret-2", got, err)
	}
	if err := st.DeleteClientSecret(ctx, "google"); err != nil {
		t.Fatalf("DeleteClientSecret: %v", err)
	}
	if _, err := st.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("ClientSecret after Delete: got %v, want ErrNotFound", err)
	}
	if err := st.DeleteClientSecret(ctx, "google"); err != nil {
		t.Errorf("DeleteClientSecret of a missing secret: got %v, want nil", err)
	}
	if got, err := st.ClientSecret(ctx, "gitlab"); err != nil || got != "fake-secret-gitlab" {
		t.Errorf("the other provider's secret = %q, %v", got, err)
	}
	_ = st.DeleteClientSecret(ctx, "gitlab")
}

// testConcurrent: saves of different accounts from several goroutines all
// land; concurrent saves of one account leave one of the written records,
// whole.
func testConcurrent(t *testing.T, st keyring.Store) {
	ctx := t.Context()
	const n = 6
	var wg sync.WaitGroup
	errs := make(chan error, 2*n)
	for i := range n {
		wg.Go(func() {
			if err := st.Save(ctx, keyring.Key{Provider: "conc", Account: fmt.Sprint("acct-", i)}, Record(fmt.Sprint("own-", i))); err != nil {
				errs <- err
			}
		})
		wg.Go(func() {
			if err := st.Save(ctx, keyring.Key{Provider: "conc", Account: "shared"}, Record(fmt.Sprint("shared-", i))); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent Save: %v", err)
	}
	for i := range n {
		got := load(t, st, keyring.Key{Provider: "conc", Account: fmt.Sprint("acct-", i)})
		if diff := cmp.Diff(Record(fmt.Sprint("own-", i)), got); diff != "" {
			t.Errorf("acct-%d (-want +got):\n%s", i, diff)
		}
	}
	got := load(t, st, keyring.Key{Provider: "conc", Account: "shared"})
	tag := strings.TrimPrefix(got.AccessToken, "fake-at-")
	if diff := cmp.Diff(Record(tag), got); diff != "" || !strings.HasPrefix(tag, "shared-") {
		t.Errorf("the shared account holds a mixed record (-want +got):\n%s", diff)
	}
}
