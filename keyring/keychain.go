package keyring

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/oauthctl/oauthctl/internal/human"

	gokeyring "github.com/zalando/go-keyring"
)

// Service names of the keychain items. Client secrets get their own service
// so no provider or account name can collide with them.
const (
	DefaultService = "oauthctl"
	secretSuffix   = "-client-secret"
)

// DefaultTimeout bounds every keychain call: go-keyring's Secret Service
// prompt handling waits for a D-Bus signal with no timeout of its own
// (zalando/go-keyring#88), so a locked keychain would otherwise hang
// `$(oauthctl token)` forever.
const DefaultTimeout = 15 * time.Second

// Backend is the small part of go-keyring that Keychain uses; tests swap in
// a backend that blocks or fails.
type Backend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

// OSBackend is the real OS keychain through go-keyring: the Secret Service on
// Linux and BSD, the Keychain on macOS, the Credential Manager on Windows.
type OSBackend struct{}

// Get implements Backend.
func (OSBackend) Get(service, user string) (string, error) { return gokeyring.Get(service, user) }

// Set implements Backend.
func (OSBackend) Set(service, user, password string) error {
	return gokeyring.Set(service, user, password)
}

// Delete implements Backend.
func (OSBackend) Delete(service, user string) error { return gokeyring.Delete(service, user) }

// Keychain is the Store over the OS keychain. A record that fits in one item
// is stored inline in the item `<provider>:<account>`; a larger one (JWT token
// sets exceed Windows' 2560-byte and macOS' ~3000-byte limits) is split into
// items `<provider>:<account>#<generation>-<i>` with a manifest, written last
// as the commit point, in the main item (docs/security.md §6).
type Keychain struct {
	Backend Backend
	Service string
	Timeout time.Duration
	// ChunkSize is the largest secret written to one item. Tests force a
	// small size on Linux to exercise the split.
	ChunkSize int
}

// NewKeychain returns the OS keychain store with the platform's chunk size.
func NewKeychain() *Keychain {
	return &Keychain{Backend: osBackend(), Service: DefaultService, Timeout: DefaultTimeout, ChunkSize: PlatformChunkSize()}
}

// PlatformChunkSize is the largest item this platform's keychain takes
// comfortably: Windows caps a credential blob at 2560 bytes, macOS' `security
// -i` pipe at 4096 bytes of base64 command; the Secret Service has no limit.
func PlatformChunkSize() int {
	switch runtime.GOOS {
	case "windows":
		return 2000
	case "darwin":
		return 2000
	default:
		return 1 << 20
	}
}

// envelope is what the main item holds: the record inline, or a manifest.
type envelope struct {
	V      int             `json:"v"`
	Record json.RawMessage `json:"record,omitempty"`
	// Manifest of a split record.
	Gen    string `json:"gen,omitempty"`
	Chunks int    `json:"chunks,omitempty"`
	Size   int    `json:"size,omitempty"`
	SHA256 string `json:"sha256,omitempty"`
}

const envelopeVersion = 1

// Load implements Store. A record whose manifest points at a chunk that was
// replaced meanwhile by a concurrent Save is read again once.
func (k *Keychain) Load(ctx context.Context, key Key) (*Record, error) {
	rec, err := k.load(ctx, key)
	if errors.Is(err, errRetry) {
		rec, err = k.load(ctx, key)
		if errors.Is(err, errRetry) {
			err = fmt.Errorf("%w: a chunk of %s is missing", ErrCorrupt, key)
		}
	}
	return rec, err
}

var errRetry = errors.New("retry")

func (k *Keychain) load(ctx context.Context, key Key) (*Record, error) {
	raw, err := k.get(ctx, k.Service, key.String())
	if err != nil {
		return nil, err
	}
	env, err := parseEnvelope(raw)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrCorrupt, key, err)
	}
	data := []byte(env.Record)
	if env.Chunks > 0 {
		var b strings.Builder
		for i := 1; i <= env.Chunks; i++ {
			part, err := k.get(ctx, k.Service, chunkName(key, env.Gen, i))
			if errors.Is(err, ErrNotFound) {
				return nil, errRetry
			}
			if err != nil {
				return nil, err
			}
			b.WriteString(part)
		}
		data = []byte(b.String())
		sum := sha256.Sum256(data)
		if len(data) != env.Size || hex.EncodeToString(sum[:]) != env.SHA256 {
			return nil, fmt.Errorf("%w: %s: digest mismatch", ErrCorrupt, key)
		}
	}
	var rec Record
	if err := json.Unmarshal(data, &rec); err != nil {
		return nil, fmt.Errorf("%w: %s: bad record", ErrCorrupt, key)
	}
	return &rec, nil
}

func parseEnvelope(raw string) (*envelope, error) {
	var env envelope
	if err := json.Unmarshal([]byte(raw), &env); err != nil {
		return nil, errors.New("not a JSON envelope")
	}
	switch {
	case env.V != envelopeVersion:
		return nil, fmt.Errorf("unknown version %d", env.V)
	case env.Chunks < 0 || env.Chunks > 1000:
		return nil, errors.New("bad chunk count")
	case env.Chunks == 0 && len(env.Record) == 0:
		return nil, errors.New("empty envelope")
	}
	return &env, nil
}

// Save implements Store. Steps:
//  1. serialize the record; if the inline envelope fits ChunkSize, write it and
//     go to 4;
//  2. write the chunks under a fresh generation;
//  3. write the manifest to the main item (the commit point);
//  4. delete the chunks of the generation the main item named before.
//
// If the backend says an item is too big, Save halves the chunk size and
// tries again.
func (k *Keychain) Save(ctx context.Context, key Key, rec *Record) error {
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("encoding the record: %w", err)
	}
	var old *envelope
	if raw, err := k.get(ctx, k.Service, key.String()); err == nil {
		old, _ = parseEnvelope(raw)
	} else if !errors.Is(err, ErrNotFound) {
		return err
	}
	size := k.ChunkSize
	if size <= 0 {
		size = PlatformChunkSize()
	}
	for {
		err = k.save(ctx, key, data, size)
		if !errors.Is(err, gokeyring.ErrSetDataTooBig) || size < 256 {
			break
		}
		size /= 2
	}
	if errors.Is(err, gokeyring.ErrSetDataTooBig) {
		return &UnavailableError{Op: "write", Msg: "the keychain refused even a small item as too big", Err: err,
			Hint: "check the keychain's item size limit"}
	}
	if err != nil {
		return err
	}
	if old != nil && old.Chunks > 0 {
		k.deleteChunks(ctx, key, old.Gen, old.Chunks)
	}
	return nil
}

func (k *Keychain) save(ctx context.Context, key Key, data []byte, size int) error {
	inline, _ := json.Marshal(envelope{V: envelopeVersion, Record: data})
	if len(inline) <= size {
		return k.set(ctx, k.Service, key.String(), string(inline))
	}
	gen := newGeneration()
	parts := splitUTF8(data, size)
	n := len(parts)
	for i, part := range parts {
		if err := k.set(ctx, k.Service, chunkName(key, gen, i+1), string(part)); err != nil {
			k.deleteChunks(ctx, key, gen, i)
			return err
		}
	}
	sum := sha256.Sum256(data)
	manifest, _ := json.Marshal(envelope{V: envelopeVersion, Gen: gen, Chunks: n, Size: len(data), SHA256: hex.EncodeToString(sum[:])})
	if err := k.set(ctx, k.Service, key.String(), string(manifest)); err != nil {
		k.deleteChunks(ctx, key, gen, n)
		return err
	}
	return nil
}

// Delete implements Store: the main item and any chunks it names.
func (k *Keychain) Delete(ctx context.Context, key Key) error {
	raw, err := k.get(ctx, k.Service, key.String())
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := k.del(ctx, k.Service, key.String()); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	if env, perr := parseEnvelope(raw); perr == nil && env.Chunks > 0 {
		k.deleteChunks(ctx, key, env.Gen, env.Chunks)
	}
	return nil
}

func (k *Keychain) deleteChunks(ctx context.Context, key Key, gen string, n int) {
	for i := 1; i <= n; i++ {
		_ = k.del(ctx, k.Service, chunkName(key, gen, i)) // best effort: leftovers are unreferenced
	}
}

// ClientSecret implements Store.
func (k *Keychain) ClientSecret(ctx context.Context, provider string) (string, error) {
	return k.get(ctx, k.Service+secretSuffix, provider)
}

// SetClientSecret implements Store.
func (k *Keychain) SetClientSecret(ctx context.Context, provider, secret string) error {
	return k.set(ctx, k.Service+secretSuffix, provider, secret)
}

// DeleteClientSecret implements Store.
func (k *Keychain) DeleteClientSecret(ctx context.Context, provider string) error {
	err := k.del(ctx, k.Service+secretSuffix, provider)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// splitUTF8 cuts data into parts of at most size bytes without splitting a
// UTF-8 sequence, so that every part is valid text for backends that store
// secrets as strings (a record's JSON is valid UTF-8).
func splitUTF8(data []byte, size int) [][]byte {
	var parts [][]byte
	for len(data) > 0 {
		n := min(size, len(data))
		if n < len(data) {
			for c := n; c > n-utf8.UTFMax && c > 0; c-- {
				if utf8.RuneStart(data[c]) {
					n = c
					break
				}
			}
		}
		parts = append(parts, data[:n])
		data = data[n:]
	}
	return parts
}

func chunkName(key Key, gen string, i int) string {
	return key.String() + "#" + gen + "-" + strconv.Itoa(i)
}

func newGeneration() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func (k *Keychain) get(ctx context.Context, service, user string) (string, error) {
	// The result travels through a channel, not a captured variable: after
	// a timeout the abandoned backend call may still finish and write it.
	res := make(chan string, 1)
	err := k.call(ctx, "read", func() error {
		v, err := k.Backend.Get(service, user)
		res <- v
		return err
	})
	if err != nil {
		return "", err
	}
	return <-res, nil
}

func (k *Keychain) set(ctx context.Context, service, user, secret string) error {
	return k.call(ctx, "write", func() error { return k.Backend.Set(service, user, secret) })
}

func (k *Keychain) del(ctx context.Context, service, user string) error {
	return k.call(ctx, "delete", func() error { return k.Backend.Delete(service, user) })
}

// call runs one backend call with the timeout. The backend cannot be
// cancelled, so a hung call's goroutine is abandoned; the process exits soon
// after anyway.
func (k *Keychain) call(ctx context.Context, op string, fn func() error) error {
	timeout := k.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	done := make(chan error, 1)
	go func() { done <- fn() }()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case err := <-done:
		return classify(op, err)
	case <-timer.C:
		return &UnavailableError{Op: op, Msg: fmt.Sprintf("the keychain did not answer within %s", human.Duration(timeout)),
			Hint: "unlock your keychain (e.g. gnome-keyring or KeePassXC) and try again"}
	case <-ctx.Done():
		return ctx.Err()
	}
}

// classify maps backend errors to ErrNotFound, ErrSetDataTooBig (kept for
// Save's retry) or an *UnavailableError that names the fix. The patterns are
// the messages godbus and go-keyring really produce (see
// TestKeychainUnavailable): no bus address and no dbus-launch, an address
// that points nowhere, a bus without org.freedesktop.secrets, and a locked
// collection whose unlock prompt was dismissed.
func classify(op string, err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, gokeyring.ErrNotFound):
		return ErrNotFound
	case errors.Is(err, gokeyring.ErrSetDataTooBig):
		return err
	}
	msg := err.Error()
	lower := strings.ToLower(msg)
	has := func(subs ...string) bool {
		for _, s := range subs {
			if strings.Contains(lower, s) {
				return true
			}
		}
		return false
	}
	ue := &UnavailableError{Op: op, Msg: msg, Err: err}
	// The only program godbus runs is dbus-launch, to autolaunch a bus when
	// DBUS_SESSION_BUS_ADDRESS is unset; it fails without an X display.
	var exitErr *exec.ExitError
	switch {
	case runtime.GOOS != "linux" && runtime.GOOS != "freebsd" && runtime.GOOS != "openbsd" && runtime.GOOS != "netbsd" && runtime.GOOS != "dragonfly":
		ue.Hint = "check that your login keychain is unlocked"
	case errors.As(err, &exitErr), has("dbus-launch", "autolaunch", "couldn't determine address of session bus", "x11"):
		ue.Msg = "no D-Bus session bus"
		ue.Hint = "log in to a desktop session, or start one with `dbus-run-session -- $SHELL` and unlock gnome-keyring: `printf '%s' \"$PW\" | gnome-keyring-daemon --unlock --components=secrets`"
	case has("dial unix", "dial tcp", "connection refused", "dbus: authentication failed", "connection closed by user"):
		ue.Msg = "cannot connect to the D-Bus session bus"
		ue.Hint = "check DBUS_SESSION_BUS_ADDRESS, or start a session with `dbus-run-session -- $SHELL` and unlock gnome-keyring"
	case has("serviceunknown", "org.freedesktop.secrets was not provided", "name has no owner"):
		ue.Msg = "no Secret Service on the session bus"
		ue.Hint = "install and unlock gnome-keyring or KeePassXC (with its Secret Service integration on)"
	case has("unlock", "prompt", "locked", "dismissed"):
		ue.Msg = "the keychain is locked"
		ue.Hint = "unlock it (e.g. gnome-keyring or KeePassXC) and try again"
	default:
		ue.Hint = "check that a Secret Service such as gnome-keyring is running and unlocked"
	}
	return ue
}
