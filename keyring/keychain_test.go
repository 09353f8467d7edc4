package keyring_test

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/oauthctl/oauthctl/cmd"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
)

// fakeBackend is an in-memory keychain with the failure modes of real ones:
// a size limit (ErrSetDataTooBig, as on Windows and macOS), a failing Set
// after some calls, a hook run on Get, and an error for every call.
type fakeBackend struct {
	mu    sync.Mutex
	items map[string]string // service + "\x00" + user -> secret
	// maxSize, when > 0, rejects larger secrets with ErrSetDataTooBig.
	maxSize int
	// failSetAt, when > 0, makes the Set with that number (counting from
	// 1 since it was set) and all later ones fail.
	failSetAt int
	sets      int
	// onGet runs (without the lock) before each Get.
	onGet func(service, user string)
	// err, when set, is returned by every call.
	err error
}

func newFakeBackend() *fakeBackend { return &fakeBackend{items: map[string]string{}} }

func (b *fakeBackend) Get(service, user string) (string, error) {
	if b.onGet != nil {
		b.onGet(service, user)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return "", b.err
	}
	v, ok := b.items[service+"\x00"+user]
	if !ok {
		return "", gokeyring.ErrNotFound
	}
	return v, nil
}

func (b *fakeBackend) Set(service, user, password string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	if b.maxSize > 0 && len(password) > b.maxSize {
		return gokeyring.ErrSetDataTooBig
	}
	b.sets++
	if b.failSetAt > 0 && b.sets >= b.failSetAt {
		return errors.New("org.freedesktop.DBus.Error.NoReply: write failed")
	}
	b.items[service+"\x00"+user] = password
	return nil
}

func (b *fakeBackend) Delete(service, user string) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return b.err
	}
	k := service + "\x00" + user
	if _, ok := b.items[k]; !ok {
		return gokeyring.ErrNotFound
	}
	delete(b.items, k)
	return nil
}

// users lists the item names of one service, sorted.
func (b *fakeBackend) users(service string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for k := range maps.Keys(b.items) {
		if s, u, _ := strings.Cut(k, "\x00"); s == service {
			out = append(out, u)
		}
	}
	slices.Sort(out)
	return out
}

func (b *fakeBackend) values(service string) map[string]string {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]string{}
	for k, v := range b.items {
		if s, u, _ := strings.Cut(k, "\x00"); s == service {
			out[u] = v
		}
	}
	return out
}

func fakeKeychain(b keyring.Backend, chunk int) *keyring.Keychain {
	return &keyring.Keychain{Backend: b, Service: "oauthctl-test", Timeout: 5 * time.Second, ChunkSize: chunk}
}

// inlineLen is the size of the inline envelope Save writes for rec.
func inlineLen(t *testing.T, rec *keyring.Record) int {
	t.Helper()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	env, err := json.Marshal(struct {
		V      int             `json:"v"`
		Record json.RawMessage `json:"record"`
	}{1, data})
	if err != nil {
		t.Fatal(err)
	}
	return len(env)
}

// TestKeychainChunkBoundaries checks where Save switches from one inline
// item to chunks, and that chunks never exceed the chunk size, never split a
// UTF-8 sequence and never come out empty.
func TestKeychainChunkBoundaries(t *testing.T) {
	key := keyring.Key{Provider: "p", Account: "a"}
	base := &keyring.Record{AccessToken: "fake-" + strings.Repeat("x", 400), TokenType: "Bearer"}
	// multiple3 pads the access token until the record's JSON splits into
	// three equal chunks.
	multiple3 := base.Clone()
	for len(mustJSON(t, multiple3))%3 != 0 {
		multiple3.AccessToken += "y"
	}
	utf := &keyring.Record{AccessToken: "fake-" + strings.Repeat("é€𝄞", 120), Scopes: []string{"ümlaut", "日本語"}}

	tests := []struct {
		name       string
		rec        *keyring.Record
		chunk      func(t *testing.T, rec *keyring.Record) int
		wantChunks int // 0: inline; -1: any number
	}{
		{name: "inline envelope exactly at the limit", rec: base, chunk: inlineLen, wantChunks: 0},
		{name: "one byte over the limit", rec: base, chunk: func(t *testing.T, r *keyring.Record) int { return inlineLen(t, r) - 1 }, wantChunks: 1},
		{name: "data an exact multiple of the chunk size", rec: multiple3, chunk: func(t *testing.T, r *keyring.Record) int { return len(mustJSON(t, r)) / 3 }, wantChunks: 3},
		{name: "multi-byte UTF-8 across boundaries", rec: utf, chunk: func(*testing.T, *keyring.Record) int { return 101 }, wantChunks: -1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			size := tt.chunk(t, tt.rec)
			b := newFakeBackend()
			kc := fakeKeychain(b, size)
			if err := kc.Save(t.Context(), key, tt.rec); err != nil {
				t.Fatalf("Save: %v", err)
			}
			items := b.values(kc.Service)
			var env struct {
				Chunks int `json:"chunks"`
			}
			if err := json.Unmarshal([]byte(items[key.String()]), &env); err != nil {
				t.Fatalf("main item: %v", err)
			}
			if tt.wantChunks >= 0 && env.Chunks != tt.wantChunks {
				t.Errorf("chunks = %d, want %d", env.Chunks, tt.wantChunks)
			}
			if len(items) != env.Chunks+1 {
				t.Errorf("%d items for %d chunks", len(items), env.Chunks)
			}
			for name, v := range items {
				if name == key.String() {
					continue
				}
				if len(v) == 0 || len(v) > size {
					t.Errorf("chunk %s is %d bytes, want 1..%d", name, len(v), size)
				}
				if !utf8.ValidString(v) {
					t.Errorf("chunk %s splits a UTF-8 sequence", name)
				}
			}
			got, err := kc.Load(t.Context(), key)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(tt.rec, got); diff != "" {
				t.Errorf("round trip (-want +got):\n%s", diff)
			}
		})
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	data, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// TestKeychainHalvesOnTooBig: a backend that rejects big items
// (ErrSetDataTooBig, Windows' 2560 bytes) makes Save halve the chunk size
// until the items fit.
func TestKeychainHalvesOnTooBig(t *testing.T) {
	b := newFakeBackend()
	b.maxSize = 700
	kc := fakeKeychain(b, 4000)
	key := keyring.Key{Provider: "microsoft", Account: "dave"}
	rec := storetest.BigRecord(3000, "halve")
	if err := kc.Save(t.Context(), key, rec); err != nil {
		t.Fatalf("Save: %v", err)
	}
	for name, v := range b.values(kc.Service) {
		if len(v) > 700 {
			t.Errorf("item %s is %d bytes, over the backend's 700", name, len(v))
		}
	}
	got, err := kc.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
}

// TestKeychainTooBigEverywhere: a backend that takes nothing bigger than a
// few bytes fails the Save with ErrUnavailable (exit 6) and leaves no items.
func TestKeychainTooBigEverywhere(t *testing.T) {
	b := newFakeBackend()
	b.maxSize = 10
	kc := fakeKeychain(b, 2000)
	err := kc.Save(t.Context(), keyring.Key{Provider: "p", Account: "a"}, storetest.BigRecord(3000, "x"))
	if !errors.Is(err, keyring.ErrUnavailable) {
		t.Fatalf("Save: got %v, want ErrUnavailable", err)
	}
	if code := cmd.ExitCode(err); code != cmd.ExitStorage {
		t.Errorf("exit code = %d, want %d", code, cmd.ExitStorage)
	}
	if items := b.users(kc.Service); len(items) != 0 {
		t.Errorf("items left behind: %q", items)
	}
}

// TestKeychainFailedWriteKeepsOldRecord: a write that fails halfway (a chunk,
// or the manifest) leaves the previous record readable and no new chunks.
func TestKeychainFailedWriteKeepsOldRecord(t *testing.T) {
	key := keyring.Key{Provider: "google", Account: "erin"}
	newRec := storetest.BigRecord(3500, "new")
	n := (len(mustJSON(t, newRec)) + 999) / 1000
	if n < 3 {
		t.Fatalf("new record makes %d chunks, want at least 3", n)
	}
	for _, tc := range []struct {
		name   string
		failAt int
	}{{"first chunk", 1}, {"middle chunk", 2}, {"last chunk", n}, {"manifest", n + 1}} {
		t.Run(tc.name, func(t *testing.T) {
			b := newFakeBackend()
			kc := fakeKeychain(b, 1000)
			old := storetest.BigRecord(2500, "old")
			if err := kc.Save(t.Context(), key, old); err != nil {
				t.Fatalf("Save old: %v", err)
			}
			before := b.users(kc.Service)
			b.mu.Lock()
			b.sets, b.failSetAt = 0, tc.failAt
			b.mu.Unlock()
			err := kc.Save(t.Context(), key, newRec)
			if !errors.Is(err, keyring.ErrUnavailable) {
				t.Fatalf("Save new: got %v, want ErrUnavailable", err)
			}
			if diff := cmp.Diff(before, b.users(kc.Service)); diff != "" {
				t.Errorf("items after the failed write (-want +got):\n%s", diff)
			}
			got, err := kc.Load(t.Context(), key)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if diff := cmp.Diff(old, got); diff != "" {
				t.Errorf("the old record changed (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeychainLoadRetriesOnConcurrentSave: a Load that reads a manifest
// whose chunks a concurrent Save replaced meanwhile reads again and returns
// the new record, instead of calling it corrupt.
func TestKeychainLoadRetriesOnConcurrentSave(t *testing.T) {
	b := newFakeBackend()
	kc := fakeKeychain(b, 1000)
	key := keyring.Key{Provider: "google", Account: "frank"}
	if err := kc.Save(t.Context(), key, storetest.BigRecord(3000, "before")); err != nil {
		t.Fatal(err)
	}
	after := storetest.BigRecord(3000, "after")
	var once sync.Once
	b.onGet = func(_, user string) {
		if strings.Contains(user, "#") {
			once.Do(func() {
				// Another process saves between our manifest and chunk reads.
				other := fakeKeychain(b, 1000)
				if err := other.Save(context.Background(), key, after); err != nil {
					t.Errorf("concurrent Save: %v", err)
				}
			})
		}
	}
	got, err := kc.Load(t.Context(), key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(after, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

// blockingBackend never answers, like go-keyring waiting for a Secret
// Service prompt that nobody dismisses (zalando/go-keyring#88).
type blockingBackend struct{ release chan struct{} }

func (b blockingBackend) Get(string, string) (string, error) {
	<-b.release
	return "", errors.New("released")
}
func (b blockingBackend) Set(string, string, string) error {
	<-b.release
	return errors.New("released")
}
func (b blockingBackend) Delete(string, string) error { <-b.release; return errors.New("released") }

// TestKeychainHungBackend (row 44): every Store call on a keychain that
// never answers ends with ErrUnavailable after the timeout, naming the
// wait and the fix; a cancelled context ends it at once.
func TestKeychainHungBackend(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	kc := &keyring.Keychain{Backend: blockingBackend{release}, Service: "oauthctl", Timeout: 50 * time.Millisecond}
	key := keyring.Key{Provider: "google", Account: "grace"}
	calls := []struct {
		name string
		op   string
		call func(ctx context.Context) error
	}{
		{"Load", "read", func(ctx context.Context) error { _, err := kc.Load(ctx, key); return err }},
		{"Save", "read", func(ctx context.Context) error { return kc.Save(ctx, key, &keyring.Record{AccessToken: "fake"}) }},
		{"Delete", "read", func(ctx context.Context) error { return kc.Delete(ctx, key) }},
		{"ClientSecret", "read", func(ctx context.Context) error { _, err := kc.ClientSecret(ctx, "google"); return err }},
		{"SetClientSecret", "write", func(ctx context.Context) error { return kc.SetClientSecret(ctx, "google", "fake") }},
		{"DeleteClientSecret", "delete", func(ctx context.Context) error { return kc.DeleteClientSecret(ctx, "google") }},
	}
	for _, c := range calls {
		t.Run(c.name, func(t *testing.T) {
			err := c.call(t.Context())
			if !errors.Is(err, keyring.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			want := "secure storage unavailable: " + c.op + ": the keychain did not answer within 50ms (unlock your keychain (e.g. gnome-keyring or KeePassXC) and try again)"
			if err.Error() != want {
				t.Errorf("error = %q, want %q", err, want)
			}
			if code := cmd.ExitCode(err); code != cmd.ExitStorage {
				t.Errorf("exit code = %d, want %d", code, cmd.ExitStorage)
			}
		})
	}
	t.Run("cancelled context", func(t *testing.T) {
		slow := &keyring.Keychain{Backend: blockingBackend{release}, Service: "oauthctl", Timeout: time.Hour}
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		_, err := slow.Load(ctx, key)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("got %v, want context.Canceled", err)
		}
	})
}

// TestKeychainClassify maps backend errors to what the user reads.
func TestKeychainClassify(t *testing.T) {
	tests := []struct {
		name    string
		backend error
		want    string
	}{
		{
			name:    "godbus without dbus-launch",
			backend: errors.New(`exec: "dbus-launch": executable file not found in $PATH`),
			want:    "secure storage unavailable: read: no D-Bus session bus (log in to a desktop session, or start one with `dbus-run-session -- $SHELL` and unlock gnome-keyring: `printf '%s' \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`)",
		},
		{
			name:    "dbus-launch without X11",
			backend: exitError(t),
			want:    "secure storage unavailable: read: no D-Bus session bus (log in to a desktop session, or start one with `dbus-run-session -- $SHELL` and unlock gnome-keyring: `printf '%s' \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`)",
		},
		{
			name:    "unknown failure",
			backend: errors.New("org.freedesktop.DBus.Error.NoReply: timeout"),
			want:    "secure storage unavailable: read: org.freedesktop.DBus.Error.NoReply: timeout (check that a Secret Service such as gnome-keyring is running and unlocked)",
		},
		{
			name:    "autolaunch X11 error",
			backend: errors.New("Autolaunch error: X11 initialization failed."),
			want:    "secure storage unavailable: read: no D-Bus session bus (log in to a desktop session, or start one with `dbus-run-session -- $SHELL` and unlock gnome-keyring: `printf '%s' \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`)",
		},
		{
			name:    "stale bus address",
			backend: errors.New("dial unix /run/user/1000/bus: connect: no such file or directory"),
			want:    "secure storage unavailable: read: cannot connect to the D-Bus session bus (check DBUS_SESSION_BUS_ADDRESS, or start a session with `dbus-run-session -- $SHELL` and unlock gnome-keyring)",
		},
		{
			name:    "no secret service",
			backend: errors.New("The name org.freedesktop.secrets was not provided by any .service files"),
			want:    "secure storage unavailable: read: no Secret Service on the session bus (install and unlock gnome-keyring or KeePassXC (with its Secret Service integration on))",
		},
		{
			name:    "unlock dismissed",
			backend: errors.New("failed to unlock correct collection '/org/freedesktop/secrets/collection/login'"),
			want:    "secure storage unavailable: read: the keychain is locked (unlock it (e.g. gnome-keyring or KeePassXC) and try again)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := newFakeBackend()
			b.err = tt.backend
			_, err := fakeKeychain(b, 0).Load(t.Context(), keyring.Key{Provider: "p", Account: "a"})
			if !errors.Is(err, keyring.ErrUnavailable) {
				t.Fatalf("got %v, want ErrUnavailable", err)
			}
			if !errors.Is(err, tt.backend) {
				t.Errorf("the backend error is not wrapped")
			}
			if err.Error() != tt.want {
				t.Errorf("error:\n got %s\nwant %s", err, tt.want)
			}
		})
	}
}

// exitError is what godbus returns when dbus-launch (dbus-x11) exits with an
// error, typically because there is no X display to autolaunch a bus for.
func exitError(t *testing.T) error {
	t.Helper()
	err := exec.Command("sh", "-c", "exit 1").Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		t.Fatalf("sh -c 'exit 1': got %v, want an *exec.ExitError", err)
	}
	return err
}

// TestKeychainNotFound: ErrNotFound from the backend is ErrNotFound (exit 4),
// for records and client secrets.
func TestKeychainNotFound(t *testing.T) {
	kc := fakeKeychain(newFakeBackend(), 0)
	_, err := kc.Load(t.Context(), keyring.Key{Provider: "p", Account: "a"})
	if !errors.Is(err, keyring.ErrNotFound) || cmd.ExitCode(err) != cmd.ExitSignIn {
		t.Errorf("Load: got %v (exit %d), want ErrNotFound (exit %d)", err, cmd.ExitCode(err), cmd.ExitSignIn)
	}
	_, err = kc.ClientSecret(t.Context(), "p")
	if !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("ClientSecret: got %v, want ErrNotFound", err)
	}
}

// TestKeychainNoSecretsInErrors: no error of the store carries a token.
func TestKeychainNoSecretsInErrors(t *testing.T) {
	b := newFakeBackend()
	kc := fakeKeychain(b, 500)
	key := keyring.Key{Provider: "p", Account: "a"}
	rec := storetest.BigRecord(2000, "secretive")
	if err := kc.Save(t.Context(), key, rec); err != nil {
		t.Fatal(err)
	}
	// Damage the inline form and a chunk so the loader sees token bytes.
	items := b.values(kc.Service)
	for name := range items {
		if name != key.String() {
			b.mu.Lock()
			b.items[kc.Service+"\x00"+name] = "{" + rec.AccessToken
			b.mu.Unlock()
		}
	}
	_, err := kc.Load(t.Context(), key)
	if !errors.Is(err, keyring.ErrCorrupt) {
		t.Fatalf("Load: got %v, want ErrCorrupt", err)
	}
	if strings.Contains(err.Error(), "fake-at-") || strings.Contains(err.Error(), "fake-rt-") {
		t.Errorf("error carries token material: %q", err)
	}
	b.mu.Lock()
	b.items[kc.Service+"\x00"+key.String()] = `{"v":1,"record":{"access_token":` + rec.AccessToken + `}}`
	b.mu.Unlock()
	_, err = kc.Load(t.Context(), key)
	if !errors.Is(err, keyring.ErrCorrupt) || strings.Contains(err.Error(), "fake-at-") {
		t.Errorf("Load of a broken inline record: got %v, want ErrCorrupt without token material", err)
	}
}
