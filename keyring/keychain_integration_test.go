package keyring_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dbus "github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"
	gokeyring "github.com/zalando/go-keyring"

	"github.com/oauthctl/oauthctl/cmd"
	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/keyring/storetest"
)

// helperEnv, when set, makes the test binary act as a tiny oauthctl that
// reads or writes one record in the keychain and exits with cmd.ExitCode of
// the result (see helperMain), or, for "lock:PATH", holds a lock until it is
// killed (see lockHolder). Tests run it with the environment of a broken
// session, because godbus keeps the first session-bus connection of a
// process.
const helperEnv = "OAUTHCTL_KEYRING_TEST_HELPER"

// helperTimeoutEnv sets the helper's keychain timeout (default 5s).
const helperTimeoutEnv = "OAUTHCTL_KEYRING_TEST_TIMEOUT"

func TestMain(m *testing.M) {
	if op := os.Getenv(kcacheChildEnv); op != "" {
		os.Exit(kcacheChild(op))
	}
	if op := os.Getenv(helperEnv); op != "" {
		os.Exit(helperMain(op))
	}
	os.Exit(testkeyring.Main(m))
}

// helperMain loads or saves a record through the real OS keychain with a
// short timeout and reports like oauthctl's top level: "oauthctl: <error>"
// on stderr and the mapped exit code.
func helperMain(op string) int {
	if path, ok := strings.CutPrefix(op, "lock:"); ok {
		return lockHolder(path)
	}
	kc := keyring.NewKeychain()
	kc.Timeout = 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv(helperTimeoutEnv)); err == nil {
		kc.Timeout = d
	}
	ctx := context.Background()
	key := keyring.Key{Provider: "example", Account: "alice"}
	var err error
	switch op {
	case "load":
		_, err = kc.Load(ctx, key)
	case "save":
		err = kc.Save(ctx, key, &keyring.Record{AccessToken: "fake-access-token"})
	default:
		err = fmt.Errorf("unknown helper op %q", op)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "oauthctl: %v\n", err)
		fmt.Fprintf(os.Stderr, "unavailable=%t\n", errors.Is(err, keyring.ErrUnavailable))
	}
	return cmd.ExitCode(err)
}

// newTestKeychain returns a Keychain on the private gnome-keyring under a
// service name of its own, so tests do not see each other's items.
func newTestKeychain(t *testing.T, chunkSize int) *keyring.Keychain {
	t.Helper()
	testkeyring.Require(t)
	service := "oauthctl-test-" + strings.NewReplacer("/", "-", " ", "-").Replace(t.Name())
	return &keyring.Keychain{Backend: keyring.OSBackend{}, Service: service, Timeout: 10 * time.Second, ChunkSize: chunkSize}
}

func recordJSONLen(t *testing.T, rec *keyring.Record) int {
	t.Helper()
	data, err := json.Marshal(rec)
	if err != nil {
		t.Fatal(err)
	}
	return len(data)
}

// itemNames lists the usernames of kc's items in the real Secret Service.
func itemNames(t *testing.T, kc *keyring.Keychain) []string {
	t.Helper()
	users, err := testkeyring.Users(kc.Service)
	if err != nil {
		t.Fatalf("listing items: %v", err)
	}
	return users
}

// manifest reads the main item of key raw, bypassing the Store.
func manifest(t *testing.T, kc *keyring.Keychain, key keyring.Key) (gen string, chunks int) {
	t.Helper()
	raw, err := gokeyring.Get(kc.Service, key.String())
	if err != nil {
		t.Fatalf("reading the main item: %v", err)
	}
	var env struct {
		V      int    `json:"v"`
		Gen    string `json:"gen"`
		Chunks int    `json:"chunks"`
	}
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		t.Fatalf("main item is not JSON: %v", err)
	}
	return env.Gen, env.Chunks
}

func chunkNames(key keyring.Key, gen string, n int) []string {
	names := make([]string, n)
	for i := range n {
		names[i] = fmt.Sprintf("%s#%s-%d", key, gen, i+1)
	}
	return names
}

func sorted(s ...[]string) []string {
	out := slices.Concat(s...)
	slices.Sort(out)
	return out
}

// TestKeychainChunkedRoundTrip stores a ~10 KB token set with a 1000-byte
// chunk size in the real Secret Service (docs/security.md §6) and reads it back.
func TestKeychainChunkedRoundTrip(t *testing.T) {
	kc := newTestKeychain(t, 1000)
	ctx := t.Context()
	key := keyring.Key{Provider: "google", Account: "alice@example.com"}
	rec := storetest.BigRecord(10_000, "one")
	size := recordJSONLen(t, rec)
	if size < 9_500 || size > 11_000 {
		t.Fatalf("test record is %d bytes, want ~10 KB", size)
	}

	if err := kc.Save(ctx, key, rec); err != nil {
		t.Fatalf("Save: %v", err)
	}
	gen, n := manifest(t, kc, key)
	if want := (size + 999) / 1000; n != want {
		t.Errorf("manifest names %d chunks, want %d for %d bytes", n, want, size)
	}
	want := sorted([]string{key.String()}, chunkNames(key, gen, n))
	if diff := cmp.Diff(want, itemNames(t, kc)); diff != "" {
		t.Errorf("items in the keychain (-want +got):\n%s", diff)
	}
	for _, name := range chunkNames(key, gen, n) {
		part, err := gokeyring.Get(kc.Service, name)
		if err != nil {
			t.Fatalf("reading chunk %s: %v", name, err)
		}
		if len(part) > 1000 {
			t.Errorf("chunk %s is %d bytes, over the 1000-byte chunk size", name, len(part))
		}
	}

	got, err := kc.Load(ctx, key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("Load after Save (-want +got):\n%s", diff)
	}

	if err := kc.Delete(ctx, key); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if names := itemNames(t, kc); len(names) != 0 {
		t.Errorf("items left after Delete: %q", names)
	}
	if _, err := kc.Load(ctx, key); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load after Delete: got %v, want ErrNotFound", err)
	}
}

// TestKeychainOverwrite replaces a chunked record with an inline one and then
// with a bigger chunked one: each Save leaves exactly the items of the new
// record.
func TestKeychainOverwrite(t *testing.T) {
	kc := newTestKeychain(t, 1000)
	ctx := t.Context()
	key := keyring.Key{Provider: "microsoft", Account: "bob"}

	if err := kc.Save(ctx, key, storetest.BigRecord(10_000, "first")); err != nil {
		t.Fatalf("Save chunked: %v", err)
	}

	small := &keyring.Record{AccessToken: "fake-small-at", TokenType: "Bearer"}
	if err := kc.Save(ctx, key, small); err != nil {
		t.Fatalf("Save inline: %v", err)
	}
	if diff := cmp.Diff([]string{key.String()}, itemNames(t, kc)); diff != "" {
		t.Errorf("items after the inline overwrite (-want +got):\n%s", diff)
	}
	if _, n := manifest(t, kc, key); n != 0 {
		t.Errorf("inline record has a manifest with %d chunks", n)
	}
	got, err := kc.Load(ctx, key)
	if err != nil {
		t.Fatalf("Load inline: %v", err)
	}
	if diff := cmp.Diff(small, got); diff != "" {
		t.Errorf("Load inline (-want +got):\n%s", diff)
	}

	if err := kc.Save(ctx, key, storetest.BigRecord(10_000, "second")); err != nil {
		t.Fatalf("Save chunked again: %v", err)
	}
	oldGen, _ := manifest(t, kc, key)
	bigger := storetest.BigRecord(20_000, "third")
	if err := kc.Save(ctx, key, bigger); err != nil {
		t.Fatalf("Save bigger: %v", err)
	}
	gen, n := manifest(t, kc, key)
	if gen == oldGen {
		t.Fatalf("the new chunked record reused generation %q", gen)
	}
	want := sorted([]string{key.String()}, chunkNames(key, gen, n))
	if diff := cmp.Diff(want, itemNames(t, kc)); diff != "" {
		t.Errorf("items after the bigger overwrite; the old chunks must be gone (-want +got):\n%s", diff)
	}
	got, err = kc.Load(ctx, key)
	if err != nil {
		t.Fatalf("Load bigger: %v", err)
	}
	if diff := cmp.Diff(bigger, got); diff != "" {
		t.Errorf("Load bigger (-want +got):\n%s", diff)
	}
}

// TestKeychainCorrupt damages stored items behind the Store's back (row 45):
// every kind of damage reads as ErrCorrupt (exit 4, "stored credentials
// unreadable"), and a new Save (what login does) repairs the record.
func TestKeychainCorrupt(t *testing.T) {
	key := keyring.Key{Provider: "gitlab", Account: "carol"}
	tests := []struct {
		name    string
		damage  func(t *testing.T, kc *keyring.Keychain)
		wantMsg string
	}{
		{
			name: "chunk content replaced",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				gen, _ := manifest(t, kc, key)
				name := chunkNames(key, gen, 2)[1]
				part, err := gokeyring.Get(kc.Service, name)
				if err != nil {
					t.Fatal(err)
				}
				flipped := []byte(part)
				flipped[10] ^= 0x01 // same length, different bytes
				if err := gokeyring.Set(kc.Service, name, string(flipped)); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: digest mismatch",
		},
		{
			name: "chunk truncated",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				gen, _ := manifest(t, kc, key)
				name := chunkNames(key, gen, 1)[0]
				if err := gokeyring.Set(kc.Service, name, "short"); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: digest mismatch",
		},
		{
			name: "chunk missing",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				gen, n := manifest(t, kc, key)
				if err := gokeyring.Delete(kc.Service, chunkNames(key, gen, n)[n-1]); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: a chunk of gitlab:carol is missing",
		},
		{
			name: "main item not JSON",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				if err := gokeyring.Set(kc.Service, key.String(), "{not json"); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: not a JSON envelope",
		},
		{
			name: "unknown version",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				if err := gokeyring.Set(kc.Service, key.String(), `{"v":2,"record":{"access_token":"fake"}}`); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: unknown version 2",
		},
		{
			name: "inline record of the wrong shape",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				if err := gokeyring.Set(kc.Service, key.String(), `{"v":1,"record":"fake-token"}`); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: bad record",
		},
		{
			name: "bad chunk count",
			damage: func(t *testing.T, kc *keyring.Keychain) {
				if err := gokeyring.Set(kc.Service, key.String(), `{"v":1,"gen":"x","chunks":-1}`); err != nil {
					t.Fatal(err)
				}
			},
			wantMsg: "stored credentials unreadable: gitlab:carol: bad chunk count",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kc := newTestKeychain(t, 1000)
			ctx := t.Context()
			t.Cleanup(func() { _ = kc.Delete(context.Background(), key) })
			if err := kc.Save(ctx, key, storetest.BigRecord(5_000, "corrupt")); err != nil {
				t.Fatalf("Save: %v", err)
			}
			tt.damage(t, kc)

			_, err := kc.Load(ctx, key)
			if !errors.Is(err, keyring.ErrCorrupt) {
				t.Fatalf("Load: got %v, want ErrCorrupt", err)
			}
			if err.Error() != tt.wantMsg {
				t.Errorf("Load error = %q, want %q", err, tt.wantMsg)
			}
			if code := cmd.ExitCode(err); code != cmd.ExitSignIn {
				t.Errorf("exit code = %d, want %d", code, cmd.ExitSignIn)
			}

			// A new login overwrites the damaged record.
			fresh := storetest.BigRecord(3_000, "fresh")
			if err := kc.Save(ctx, key, fresh); err != nil {
				t.Fatalf("Save over the damaged record: %v", err)
			}
			got, err := kc.Load(ctx, key)
			if err != nil {
				t.Fatalf("Load after repair: %v", err)
			}
			if diff := cmp.Diff(fresh, got); diff != "" {
				t.Errorf("Load after repair (-want +got):\n%s", diff)
			}
		})
	}
}

// TestKeychainClientSecret stores, replaces, reads and deletes a client
// secret, which lives under its own service so no account can collide with it.
func TestKeychainClientSecret(t *testing.T) {
	kc := newTestKeychain(t, 0)
	ctx := t.Context()
	t.Cleanup(func() { _ = kc.DeleteClientSecret(context.Background(), "google") })

	if _, err := kc.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Fatalf("ClientSecret before Set: got %v, want ErrNotFound", err)
	}
	if err := kc.SetClientSecret(ctx, "google", "fake-secret-1"); err != nil {
		t.Fatalf("SetClientSecret: %v", err)
	}
	if err := kc.SetClientSecret(ctx, "google", "fake-secret-2"); err != nil {
		t.Fatalf("SetClientSecret again: %v", err)
	}
	got, err := kc.ClientSecret(ctx, "google")
	if err != nil || got != "fake-secret-2" {
		t.Fatalf("ClientSecret = %q, %v; want fake-secret-2", got, err)
	}
	secrets, err := testkeyring.Users(kc.Service + "-client-secret")
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"google"}, secrets); diff != "" {
		t.Errorf("client secret items (-want +got):\n%s", diff)
	}
	if names := itemNames(t, kc); len(names) != 0 {
		t.Errorf("client secret leaked into the token service: %q", names)
	}
	if _, err := kc.Load(ctx, keyring.Key{Provider: "google", Account: "google"}); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("Load of a record named like the secret: got %v, want ErrNotFound", err)
	}

	if err := kc.DeleteClientSecret(ctx, "google"); err != nil {
		t.Fatalf("DeleteClientSecret: %v", err)
	}
	if _, err := kc.ClientSecret(ctx, "google"); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("ClientSecret after Delete: got %v, want ErrNotFound", err)
	}
	if err := kc.DeleteClientSecret(ctx, "google"); err != nil {
		t.Errorf("DeleteClientSecret of a missing secret: got %v, want nil", err)
	}
}

// TestKeychainContract runs the Store contract against the real Secret
// Service, with the platform chunk size and with a small one that splits
// every record.
func TestKeychainContract(t *testing.T) {
	t.Run("platform", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) keyring.Store { return newTestKeychain(t, keyring.PlatformChunkSize()) })
	})
	t.Run("chunked", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) keyring.Store { return newTestKeychain(t, 300) })
	})
}

// TestKeychainInlineRoundTrip stores a small record in one item with the
// platform chunk size.
func TestKeychainInlineRoundTrip(t *testing.T) {
	kc := newTestKeychain(t, keyring.PlatformChunkSize())
	ctx := t.Context()
	key := keyring.Key{Provider: "github", Account: "octocat"}
	t.Cleanup(func() { _ = kc.Delete(context.Background(), key) })
	rec := &keyring.Record{AccessToken: "fake-gho-token", RefreshToken: "fake-ghr-token", TokenType: "Bearer",
		Expiry: time.Date(2031, 2, 3, 4, 5, 6, 0, time.UTC), Scopes: []string{"read:user"}}
	if err := kc.Save(ctx, key, rec); err != nil {
		t.Fatalf("Save: %v", err)
	}
	if diff := cmp.Diff([]string{key.String()}, itemNames(t, kc)); diff != "" {
		t.Errorf("items (-want +got):\n%s", diff)
	}
	got, err := kc.Load(ctx, key)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if diff := cmp.Diff(rec, got); diff != "" {
		t.Errorf("Load (-want +got):\n%s", diff)
	}
}

// TestKeychainUnavailable runs the keychain in a subprocess against broken
// sessions (row 43; row 44 with a locked keyring whose unlock prompt is
// dismissed): each fails with ErrUnavailable, exit 6, a message that names
// the fix, nothing on stdout, and no plaintext file written anywhere.
func TestKeychainUnavailable(t *testing.T) {
	testkeyring.Require(t)
	bareEnv, stopBare, err := testkeyring.StartBus()
	if err != nil {
		t.Fatalf("StartBus: %v", err)
	}
	t.Cleanup(stopBare)
	lockedEnv, stopLocked, err := testkeyring.StartLocked()
	if err != nil {
		t.Fatalf("StartLocked: %v", err)
	}
	t.Cleanup(stopLocked)
	missing := "unix:path=" + filepath.Join(t.TempDir(), "no-such-bus")
	state := testkeyring.StateEnv + "=error: broken on purpose"

	tests := []struct {
		name string
		env  []string
		op   string
		want string // the first stderr line
	}{
		{
			name: "no session bus address",
			env:  []string{state},
			op:   "load",
			want: "oauthctl: secure storage unavailable: read: no D-Bus session bus (log in to a desktop session, or start one with `dbus-run-session -- $SHELL` and unlock gnome-keyring: `printf '%s' \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`)",
		},
		{
			name: "session bus address points nowhere",
			env:  []string{testkeyring.BusEnv + "=" + missing, state},
			op:   "load",
			want: "oauthctl: secure storage unavailable: read: cannot connect to the D-Bus session bus (check DBUS_SESSION_BUS_ADDRESS, or start a session with `dbus-run-session -- $SHELL` and unlock gnome-keyring)",
		},
		{
			name: "bus without a Secret Service",
			env:  bareEnv,
			op:   "load",
			want: "oauthctl: secure storage unavailable: read: no Secret Service on the session bus (install and unlock gnome-keyring or KeePassXC (with its Secret Service integration on))",
		},
		{
			name: "bus without a Secret Service, write",
			env:  bareEnv,
			op:   "save",
			want: "oauthctl: secure storage unavailable: read: no Secret Service on the session bus (install and unlock gnome-keyring or KeePassXC (with its Secret Service integration on))",
		},
		{
			name: "locked keyring, unlock dismissed",
			env:  lockedEnv,
			op:   "load",
			want: "oauthctl: secure storage unavailable: read: the keychain is locked (unlock it (e.g. gnome-keyring or KeePassXC) and try again)",
		},
		{
			name: "locked keyring, unlock dismissed, write",
			env:  lockedEnv,
			op:   "save",
			want: "oauthctl: secure storage unavailable: read: the keychain is locked (unlock it (e.g. gnome-keyring or KeePassXC) and try again)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			home := t.TempDir()
			c := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
			// PATH is empty so godbus cannot autolaunch a bus through
			// dbus-launch (dbus-x11) even where it is installed.
			c.Env = append([]string{helperEnv + "=" + tt.op, "HOME=" + home, "XDG_RUNTIME_DIR=" + home, "PATH="}, tt.env...)
			var stdout, stderr strings.Builder
			c.Stdout, c.Stderr = &stdout, &stderr
			err := c.Run()
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				t.Fatalf("helper: got %v, want an exit status; stderr:\n%s", err, stderr.String())
			}
			if code := ee.ExitCode(); code != cmd.ExitStorage {
				t.Errorf("exit code = %d, want %d", code, cmd.ExitStorage)
			}
			if stdout.Len() != 0 {
				t.Errorf("stdout = %q, want nothing", stdout.String())
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			if lines[0] != tt.want {
				t.Errorf("stderr first line:\n got %s\nwant %s", lines[0], tt.want)
			}
			if len(lines) != 2 || lines[1] != "unavailable=true" {
				t.Errorf("error does not match keyring.ErrUnavailable; stderr:\n%s", stderr.String())
			}
			if entries, _ := os.ReadDir(home); len(entries) != 0 {
				t.Errorf("the helper wrote %d files into HOME; no plaintext fallback allowed", len(entries))
			}
		})
	}
}

// hungSecrets owns org.freedesktop.secrets but never answers: the
// Properties.Get that go-keyring sends first blocks until release is closed,
// like a Secret Service stuck behind an unlock prompt nobody sees.
type hungSecrets struct{ release chan struct{} }

func (h hungSecrets) Get(iface, prop string) (dbus.Variant, *dbus.Error) {
	<-h.release
	return dbus.Variant{}, dbus.MakeFailedError(errors.New("released"))
}

// TestKeychainHungSecretService (row 44) runs the keychain in a subprocess
// against a Secret Service that never answers: the read ends with exit 6
// after the keychain timeout, instead of hanging the caller.
func TestKeychainHungSecretService(t *testing.T) {
	testkeyring.Require(t)
	env, stop, err := testkeyring.StartBus()
	if err != nil {
		t.Fatalf("StartBus: %v", err)
	}
	t.Cleanup(stop)
	conn, err := dbus.Connect(strings.TrimPrefix(env[0], testkeyring.BusEnv+"="))
	if err != nil {
		t.Fatal(err)
	}
	h := hungSecrets{release: make(chan struct{})}
	t.Cleanup(func() { close(h.release); conn.Close() })
	if err := conn.Export(h, "/org/freedesktop/secrets", "org.freedesktop.DBus.Properties"); err != nil {
		t.Fatal(err)
	}
	if reply, err := conn.RequestName("org.freedesktop.secrets", dbus.NameFlagDoNotQueue); err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("owning org.freedesktop.secrets: %v %v", reply, err)
	}

	home := t.TempDir()
	c := exec.CommandContext(t.Context(), os.Args[0], "-test.run=^$")
	c.Env = append([]string{helperEnv + "=load", helperTimeoutEnv + "=1s", "HOME=" + home, "PATH="}, env...)
	var stdout, stderr strings.Builder
	c.Stdout, c.Stderr = &stdout, &stderr
	err = c.Run()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != cmd.ExitStorage {
		t.Fatalf("helper: got %v, want exit %d; stderr:\n%s", err, cmd.ExitStorage, stderr.String())
	}
	want := "oauthctl: secure storage unavailable: read: the keychain did not answer within 1s (unlock your keychain (e.g. gnome-keyring or KeePassXC) and try again)\nunavailable=true\n"
	if stderr.String() != want || stdout.Len() != 0 {
		t.Errorf("stdout %q, stderr:\n got %q\nwant %q", stdout.String(), stderr.String(), want)
	}
}
