// Package vault is keyring's shared backend: a keyring.Store,
// keyring.StateStore and keyring.Leaser over a HashiCorp Vault KV version 2
// secrets engine, for one session shared by several machines
// (OAUTHCTL_STORE=vault). It is a package of its own because it speaks
// HTTP: package keyring, which the `oauthctl token` front binary links
// (issue 14), stays free of net/http and crypto/tls.
package vault

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/clock"
	"github.com/oauthctl/oauthctl/internal/loopback"
	"github.com/oauthctl/oauthctl/keyring"
)

// Environment variables of the Vault store. The VAULT_* ones are Vault's
// own, read the way the vault CLI reads them.
const (
	AddrEnv       = "VAULT_ADDR"
	TokenEnv      = "VAULT_TOKEN"
	NamespaceEnv  = "VAULT_NAMESPACE"
	CACertEnv     = "VAULT_CACERT"
	SkipVerifyEnv = "VAULT_SKIP_VERIFY"
	MountEnv      = "OAUTHCTL_VAULT_MOUNT"
	PrefixEnv     = "OAUTHCTL_VAULT_PREFIX"
	// LeaseTTLEnv and LeaseSkewEnv tune the refresh lease (Go
	// durations); see DefaultLeaseTTL. They exist for tests and for
	// providers whose token endpoint is slow.
	LeaseTTLEnv  = "OAUTHCTL_VAULT_LEASE_TTL"
	LeaseSkewEnv = "OAUTHCTL_VAULT_LEASE_SKEW"
)

// Defaults of the Vault store.
const (
	DefaultAddr   = "https://127.0.0.1:8200" // the vault CLI's default
	DefaultMount  = "secret"
	DefaultPrefix = "oauthctl"
	// DefaultTimeout bounds each request to Vault.
	DefaultTimeout = 10 * time.Second
	// DefaultMaxVersions is the max_versions set on every key oauthctl
	// creates: old versions of a token entry hold old refresh tokens, so
	// Vault keeps only the current one and the one before (enough for
	// `vault kv rollback` after a bad write).
	DefaultMaxVersions = 2
	// maxVaultResponse bounds what is read of any answer from Vault.
	maxVaultResponse = 1 << 20
)

// Config says which Vault, which credentials and where in it.
type Config struct {
	// Addr is the server's base URL, e.g. https://vault.example.com:8200.
	Addr string
	// Token is the Vault token (VAULT_TOKEN, else ~/.vault-token).
	Token string
	// Namespace is the Vault Enterprise namespace, if any.
	Namespace string
	// CACert is a PEM file of CAs to trust for Addr (VAULT_CACERT).
	CACert string
	// SkipVerify turns off TLS verification; accepted only for loopback
	// addresses (a dev server with a self-signed certificate).
	SkipVerify bool
	// Mount is the KV version 2 secrets engine's mount path.
	Mount string
	// Prefix is the folder inside the mount that holds oauthctl's keys.
	Prefix string
	// LeaseTTL and LeaseSkew tune the refresh lease; zero means the default.
	LeaseTTL, LeaseSkew time.Duration
}

// ConfigFromEnv reads the Vault settings from the environment (see the
// *Env constants). A missing token is an error that names both places it
// is looked for.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		Addr:      getenv(AddrEnv),
		Token:     strings.TrimSpace(getenv(TokenEnv)),
		Namespace: getenv(NamespaceEnv),
		CACert:    getenv(CACertEnv),
		Mount:     getenv(MountEnv),
		Prefix:    getenv(PrefixEnv),
	}
	if c.Addr == "" {
		c.Addr = DefaultAddr
	}
	if c.Mount == "" {
		c.Mount = DefaultMount
	}
	if c.Prefix == "" {
		c.Prefix = DefaultPrefix
	}
	if s := getenv(SkipVerifyEnv); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return c, vaultConfigError("%s=%q is not a boolean", SkipVerifyEnv, s)
		}
		c.SkipVerify = b
	}
	for _, d := range []struct {
		env string
		dst *time.Duration
	}{{LeaseTTLEnv, &c.LeaseTTL}, {LeaseSkewEnv, &c.LeaseSkew}} {
		if s := getenv(d.env); s != "" {
			v, err := time.ParseDuration(s)
			if err != nil || v <= 0 {
				return c, vaultConfigError("%s=%q is not a positive duration", d.env, s)
			}
			*d.dst = v
		}
	}
	if c.Token == "" {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		if home != "" {
			if data, err := os.ReadFile(filepath.Join(home, ".vault-token")); err == nil {
				c.Token = strings.TrimSpace(string(data))
			}
		}
	}
	if c.Token == "" {
		return c, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: "configure", Msg: "no Vault token",
			Hint: "set VAULT_TOKEN or run `vault login` (which writes ~/.vault-token)"}
	}
	return c, nil
}

func vaultConfigError(format string, args ...any) error {
	return &keyring.UnavailableError{Backend: keyring.BackendVault, Op: "configure", Msg: fmt.Sprintf(format, args...)}
}

// Vault is the Store, StateStore and Leaser over a HashiCorp Vault KV
// version 2 secrets engine, shared by every machine that uses the same
// Vault, mount and prefix. It talks to Vault's HTTP API with net/http and
// encoding/json: the official client library would add over a megabyte and
// start-up work to every oauthctl run. The keys, under
// <mount>/data/<prefix>/:
//
//	tokens/<provider>/<account>  {"v":1,"record":{...},"lease_owner":"...","lease_until":"..."}
//	clients/<provider>           {"v":1,"client_secret":"..."}
//	index                        the account index (Index)
//	clients                      the client registrations (Clients)
//
// Names are escaped (see escapeSegment). Every key is created with
// metadata cas_required=true and max_versions=MaxVersions, and every write
// is a check-and-set against the version read before it.
//
// Failures (unreachable, sealed, a rejected token, a policy that denies the
// path) are *UnavailableError (exit 6) that name the path and the missing
// capability; there is no fallback to anything local.
type Vault struct {
	cfg    Config
	base   string // Addr + "/v1/" + Mount + "/"
	client *http.Client
	// Now is the wall clock written into leases (lease_until); the local
	// deadline of a held lease uses the monotonic clock instead.
	Now func() time.Time
	// MaxVersions is set on every key created.
	MaxVersions int
	// Owner names this process in the leases it takes.
	Owner string
	// LeaseTTL, LeaseSkew and LeasePoll tune leases (see DefaultLeaseTTL).
	LeaseTTL, LeaseSkew, LeasePoll time.Duration
	// LeaseWait bounds the wait for another host's lease (DefaultLockWait).
	LeaseWait time.Duration
}

// Vault implements all three of keyring's storage interfaces; session finds
// the Leaser by a type assertion, so a signature that drifted would
// silently turn the refresh lease off without this check.
var (
	_ keyring.Store      = (*Vault)(nil)
	_ keyring.StateStore = (*Vault)(nil)
	_ keyring.Leaser     = (*Vault)(nil)
)

// New checks cfg and returns the store. It does not contact Vault.
func New(cfg Config) (*Vault, error) {
	u, err := url.Parse(cfg.Addr)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.User != nil || u.RawQuery != "" {
		shown := "the value"
		if err == nil {
			shown = strconv.Quote(u.Redacted()) // never a password from the URL
		}
		return nil, vaultConfigError("%s=%s is not an http(s) URL without user info or query", AddrEnv, shown)
	}
	local := loopback.IsHost(u.Hostname())
	if u.Scheme == "http" && !local {
		return nil, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: "configure", Msg: fmt.Sprintf("%s=%s sends the Vault token and the tokens in the clear", AddrEnv, cfg.Addr),
			Hint: "use https (plain http is accepted only for a loopback address)"}
	}
	if cfg.SkipVerify && !local {
		return nil, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: "configure", Msg: fmt.Sprintf("%s is refused for %s, which is not a loopback address", SkipVerifyEnv, u.Host),
			Hint: "set VAULT_CACERT to the server's CA certificate instead"}
	}
	mount, err := cleanVaultPath(cfg.Mount)
	if err != nil {
		return nil, vaultConfigError("%s=%q: %v", MountEnv, cfg.Mount, err)
	}
	prefix, err := cleanVaultPath(cfg.Prefix)
	if err != nil {
		return nil, vaultConfigError("%s=%q: %v", PrefixEnv, cfg.Prefix, err)
	}
	cfg.Mount, cfg.Prefix = mount, prefix
	tlsConf := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: cfg.SkipVerify} //nolint:gosec // loopback only, checked above
	if cfg.CACert != "" {
		pem, err := os.ReadFile(cfg.CACert)
		if err != nil {
			return nil, vaultConfigError("reading %s: %v", CACertEnv, pathErrText(err))
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, vaultConfigError("%s=%s holds no PEM certificate", CACertEnv, cfg.CACert)
		}
		tlsConf.RootCAs = pool
	}
	tr := &http.Transport{
		Proxy:                 http.ProxyFromEnvironment,
		DialContext:           (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		TLSClientConfig:       tlsConf,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: DefaultTimeout,
		IdleConnTimeout:       30 * time.Second,
		MaxIdleConnsPerHost:   4,
		ForceAttemptHTTP2:     true,
	}
	client := &http.Client{
		Timeout:   DefaultTimeout,
		Transport: tr,
		// The Vault token goes along on a redirect (X-Vault-Token is not
		// a header Go strips for another host), so follow only to the
		// same host as VAULT_ADDR, over https or loopback, and not far. A
		// standby forwards requests to the active node itself; a redirect
		// elsewhere (an SSO page in front of Vault, another server) is
		// refused rather than handed the token.
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			if req.URL.Host != u.Host {
				return fmt.Errorf("refusing a redirect to another host (%s): point %s at the Vault server itself", req.URL.Host, AddrEnv)
			}
			if req.URL.Scheme != "https" && !loopback.IsHost(req.URL.Hostname()) {
				return fmt.Errorf("refusing a redirect to %s", req.URL.Redacted())
			}
			return nil
		},
	}
	return &Vault{
		cfg:         cfg,
		base:        strings.TrimRight(cfg.Addr, "/") + "/v1/" + mount + "/",
		client:      client,
		Now:         time.Now,
		MaxVersions: DefaultMaxVersions,
		Owner:       newLeaseOwner(),
		LeaseTTL:    cfg.LeaseTTL,
		LeaseSkew:   cfg.LeaseSkew,
	}, nil
}

// NewFromEnv is New(ConfigFromEnv(getenv)).
func NewFromEnv(getenv func(string) string) (*Vault, error) {
	cfg, err := ConfigFromEnv(getenv)
	if err != nil {
		return nil, err
	}
	return New(cfg)
}

// Location names the store for messages: "Vault ADDR (MOUNT/PREFIX)".
func (v *Vault) Location() string {
	return "Vault " + v.cfg.Addr + " (" + v.cfg.Mount + "/" + v.cfg.Prefix + ")"
}

// Config returns the configuration the store uses (token included: do not
// print it).
func (v *Vault) Config() Config { return v.cfg }

func pathErrText(err error) string {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Path + ": " + pe.Err.Error()
	}
	return err.Error()
}

// cleanVaultPath checks a mount or prefix: slash-separated segments of
// letters, digits and ._- , no "." or ".." segment; surrounding slashes
// are dropped.
func cleanVaultPath(p string) (string, error) {
	p = strings.Trim(p, "/")
	if p == "" {
		return "", errors.New("is empty")
	}
	for seg := range strings.SplitSeq(p, "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", errors.New("has an empty, . or .. segment")
		}
		for _, r := range seg {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				return "", fmt.Errorf("has the character %q (allowed: letters, digits, . _ - /)", r)
			}
		}
	}
	return p, nil
}

// escapeSegment turns a provider or account name into one path segment
// that Vault and URLs take as it is: letters, digits, '-', '_', '@' and
// '.' (not leading) stay; every other byte becomes ~XX (hex). So "a/b" is
// "a~2Fb", "." is "~2E", and distinct names give distinct segments.
func escapeSegment(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '-', c == '_', c == '@', c == '.' && i > 0:
			b.WriteByte(c)
		default:
			b.WriteString("~" + strings.ToUpper(hex.EncodeToString([]byte{c})))
		}
	}
	return b.String()
}

// Key paths, relative to the mount.
func (v *Vault) tokenPath(key keyring.Key) string {
	return v.cfg.Prefix + "/tokens/" + escapeSegment(key.Provider) + "/" + escapeSegment(key.Account)
}
func (v *Vault) secretPath(provider string) string {
	return v.cfg.Prefix + "/clients/" + escapeSegment(provider)
}
func (v *Vault) indexPath() string   { return v.cfg.Prefix + "/index" }
func (v *Vault) clientsPath() string { return v.cfg.Prefix + "/clients" }

// errCAS is a check-and-set write that lost to another writer.
var errCAS = errors.New("check-and-set version mismatch")

// kvRead is what a read of <mount>/data/<path> found.
type kvRead struct {
	data    json.RawMessage // nil when there is no current version
	version int             // the current version, 0 when the key never existed or was destroyed
}

// read returns the current version of path. A missing or deleted key is
// ErrNotFound, with the version a check-and-set must name to write it.
func (v *Vault) read(ctx context.Context, path string) (*kvRead, error) {
	var body struct {
		Data struct {
			Data     json.RawMessage `json:"data"`
			Metadata struct {
				Version int `json:"version"`
			} `json:"metadata"`
		} `json:"data"`
	}
	_, err := v.do(ctx, http.MethodGet, "data", path, nil, &body)
	if err != nil && !errors.Is(err, keyring.ErrNotFound) {
		return nil, err
	}
	r := &kvRead{data: body.Data.Data, version: body.Data.Metadata.Version}
	if err != nil || len(r.data) == 0 || string(r.data) == "null" {
		r.data = nil
		return r, keyring.ErrNotFound
	}
	return r, nil
}

// write stores data as the next version of path if the current one is cas
// (0: the key must not exist), and returns the new version. A lost
// check-and-set is errCAS. A new key first gets its metadata
// (cas_required, max_versions).
func (v *Vault) write(ctx context.Context, path string, data any, cas int) (int, error) {
	if cas == 0 {
		meta := map[string]any{"cas_required": true, "max_versions": v.maxVersions()}
		if _, err := v.do(ctx, http.MethodPost, "metadata", path, meta, nil); err != nil {
			return 0, err
		}
	}
	var body struct {
		Data struct {
			Version int `json:"version"`
		} `json:"data"`
	}
	req := map[string]any{"options": map[string]int{"cas": cas}, "data": data}
	if _, err := v.do(ctx, http.MethodPost, "data", path, req, &body); err != nil {
		return 0, err
	}
	return body.Data.Version, nil
}

func (v *Vault) maxVersions() int {
	if v.MaxVersions > 0 {
		return v.MaxVersions
	}
	return DefaultMaxVersions
}

// destroy deletes path with all its versions and metadata, so that no old
// version keeps an old refresh token. A missing key is not an error.
func (v *Vault) destroy(ctx context.Context, path string) error {
	_, err := v.do(ctx, http.MethodDelete, "metadata", path, nil, nil)
	if errors.Is(err, keyring.ErrNotFound) {
		return nil
	}
	return err
}

// update runs a read-modify-write of path with check-and-set, retrying
// when another writer got in between (at most casAttempts times, with a
// short random pause). fn gets the current data (nil when missing) and
// returns the data to write, or errSkipWrite to write nothing.
func (v *Vault) update(ctx context.Context, path string, fn func(data json.RawMessage) (any, error)) error {
	for attempt := 1; ; attempt++ {
		r, err := v.read(ctx, path)
		if err != nil && !errors.Is(err, keyring.ErrNotFound) {
			return err
		}
		out, err := fn(r.data)
		if errors.Is(err, errSkipWrite) {
			return nil
		}
		if err != nil {
			return err
		}
		_, err = v.write(ctx, path, out, r.version)
		if !errors.Is(err, errCAS) {
			return err
		}
		if attempt >= casAttempts {
			return &keyring.UnavailableError{Backend: keyring.BackendVault, Op: "write", Msg: fmt.Sprintf("%s/%s kept changing under %d attempts to update it", v.cfg.Mount, path, attempt)}
		}
		if err := clock.Sleep(ctx, jitter(50*time.Millisecond)); err != nil {
			return err
		}
	}
}

// errSkipWrite tells update that nothing needs writing.
var errSkipWrite = errors.New("nothing to write")

const casAttempts = 20

// jitter returns a random duration in [d, 2d).
func jitter(d time.Duration) time.Duration {
	var b [2]byte
	_, _ = rand.Read(b[:])
	return d + time.Duration(int64(d)*int64(uint16(b[0])<<8|uint16(b[1]))/65536)
}

// vaultErrors is the error body Vault answers with.
type vaultErrors struct {
	Errors []string `json:"errors"`
}

// do sends one request to <mount>/<api>/<path> and decodes a 2xx answer
// into out. It returns the HTTP status (0 when there was no answer) and an
// error: errCAS for a lost check-and-set, ErrNotFound-free for 404 (the
// caller decides), or an *UnavailableError that names the path and what
// the token lacks. Answers are read up to 1 MiB; no error carries a body
// of a successful answer or the token.
func (v *Vault) do(ctx context.Context, method, api, path string, in, out any) (int, error) {
	full := v.cfg.Mount + "/" + api + "/" + path
	op := vaultOp(method, api, in)
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return 0, fmt.Errorf("encoding the request to Vault: %w", err)
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, v.base+api+"/"+path, body)
	if err != nil {
		return 0, vaultConfigError("bad Vault request URL for %s", full)
	}
	req.Header.Set("X-Vault-Token", v.cfg.Token)
	req.Header.Set("X-Vault-Request", "true")
	if v.cfg.Namespace != "" {
		req.Header.Set("X-Vault-Namespace", v.cfg.Namespace)
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := v.client.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("cannot reach Vault at %s (%s)", v.cfg.Addr, transportReason(err)), Err: err,
			Hint: "check VAULT_ADDR and that Vault is running"}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxVaultResponse+1))
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("reading Vault's answer for %s: %s", full, transportReason(err)), Err: err}
	}
	if len(data) > maxVaultResponse {
		return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("Vault's answer for %s is larger than 1 MiB", full)}
	}
	if resp.StatusCode/100 == 2 {
		if out != nil && len(data) > 0 {
			if err := json.Unmarshal(data, out); err != nil {
				return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("Vault's answer for %s is not the expected JSON", full)}
			}
		}
		return resp.StatusCode, nil
	}
	var ve vaultErrors
	_ = json.Unmarshal(data, &ve)
	msgs := strings.Join(ve.Errors, "; ")
	switch resp.StatusCode {
	case http.StatusNotFound:
		if out != nil && len(ve.Errors) == 0 {
			_ = json.Unmarshal(data, out) // a deleted version still names its version
			return resp.StatusCode, keyring.ErrNotFound
		}
		if len(ve.Errors) == 0 {
			return resp.StatusCode, keyring.ErrNotFound
		}
		return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("no KV version 2 secrets engine at %s/ (%s)", v.cfg.Mount, flattenMsg(msgs)),
			Hint: fmt.Sprintf("enable one (vault secrets enable -path=%s kv-v2) or set %s", v.cfg.Mount, MountEnv)}
	case http.StatusBadRequest:
		if strings.Contains(msgs, "check-and-set") {
			return resp.StatusCode, errCAS
		}
	case http.StatusForbidden:
		if v.tokenRejected(ctx) {
			return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("Vault rejected the token (expired, revoked or wrong) when accessing %s", full),
				Hint: "set VAULT_TOKEN to a valid token or run `vault login`"}
		}
		return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("permission denied: the Vault token's policy lacks %q on %s", op.capability, full),
			Hint: "grant it in the token's policy (see the README's Vault section for a minimal policy)"}
	case http.StatusServiceUnavailable:
		if strings.Contains(strings.ToLower(msgs), "sealed") {
			return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("Vault at %s is sealed", v.cfg.Addr),
				Hint: "unseal it (vault operator unseal) and try again"}
		}
	}
	if msgs == "" {
		msgs = http.StatusText(resp.StatusCode)
	}
	return resp.StatusCode, &keyring.UnavailableError{Backend: keyring.BackendVault, Op: op.name, Msg: fmt.Sprintf("Vault answered %d for %s: %s", resp.StatusCode, full, flattenMsg(msgs))}
}

// tokenRejected asks Vault whether the token itself is bad (lookup-self is
// allowed by the default policy): after a 403 it tells an invalid token
// from a policy that denies the path.
func (v *Vault) tokenRejected(ctx context.Context) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimSuffix(v.base, v.cfg.Mount+"/")+"auth/token/lookup-self", nil)
	if err != nil {
		return false
	}
	req.Header.Set("X-Vault-Token", v.cfg.Token)
	if v.cfg.Namespace != "" {
		req.Header.Set("X-Vault-Namespace", v.cfg.Namespace)
	}
	resp, err := v.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxVaultResponse))
	resp.Body.Close()
	return resp.StatusCode == http.StatusForbidden
}

// vaultOp names a request for errors: the operation ("read", "write",
// "delete") and the policy capability it needs.
func vaultOp(method, api string, in any) struct{ name, capability string } {
	switch method {
	case http.MethodGet:
		return struct{ name, capability string }{"read", "read"}
	case http.MethodDelete:
		return struct{ name, capability string }{"delete", "delete"}
	}
	capability := "update"
	if m, ok := in.(map[string]any); ok && api == "data" {
		if o, ok := m["options"].(map[string]int); ok && o["cas"] == 0 {
			capability = "create"
		}
	} else if api == "metadata" {
		capability = "create"
	}
	return struct{ name, capability string }{"write", capability}
}

// transportReason shortens a transport error for a message: the URL is
// already named by the caller.
func transportReason(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return flattenMsg(err.Error())
}

// flattenMsg flattens and bounds a message from Vault for a one-line error.
func flattenMsg(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 200 {
		s = s[:200] + "..."
	}
	return s
}

// newLeaseOwner names this process in a lease: host, PID and a random
// part (PIDs repeat across hosts and containers).
func newLeaseOwner() string {
	host, _ := os.Hostname()
	if host == "" {
		host = "unknown-host"
	}
	var b [4]byte
	_, _ = rand.Read(b[:])
	return host + "/" + strconv.Itoa(os.Getpid()) + "/" + hex.EncodeToString(b[:])
}
