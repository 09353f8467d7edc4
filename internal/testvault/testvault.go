// Package testvault gives tests a real HashiCorp Vault: `vault server -dev`
// (in memory, unsealed, KV version 2 at secret/, a root token) on a free
// 127.0.0.1 port, started by the test binary and stopped with it. It is
// imported only from _test.go files.
//
// Vault is not packaged anywhere this project installs from; the binary is
// built from the Go module proxy by scripts/vault-dev.sh into
// ~/.cache/oauthctl-test/ (never into the checkout: Vault is BUSL-licensed).
// Binary finds it: $OAUTHCTL_VAULT_BIN, else that cache path. Without it the
// tests skip with a message, except under CI=true, where they fail.
//
// Typical use, in the package's TestMain:
//
//	stop := testvault.Setup()
//	code := m.Run()
//	stop()
//
// and in a test: `srv := testvault.Require(t)` (the package's shared
// server, started on first use) or `srv := testvault.Start(t)` (a private
// one the test may stop). Tests that share a server use their own key
// prefix (Server.Prefix) so they never see each other's keys.
package testvault

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// BinEnv names the Vault binary to use instead of the cached one.
const BinEnv = "OAUTHCTL_VAULT_BIN"

// Version is the Vault release scripts/vault-dev.sh builds.
const Version = "v1.21.4"

// BuildHint says how to get the binary.
const BuildHint = "build it with scripts/vault-dev.sh build (about 10 minutes cold), or set " + BinEnv

// StartTimeout bounds the wait for a dev server to answer.
const StartTimeout = 30 * time.Second

// CachePath is where scripts/vault-dev.sh caches the binary:
// ${XDG_CACHE_HOME:-$HOME/.cache}/oauthctl-test/vault-<Version>.
func CachePath() string {
	base := os.Getenv("XDG_CACHE_HOME")
	if base == "" {
		home, _ := os.UserHomeDir()
		base = filepath.Join(home, ".cache")
	}
	return filepath.Join(base, "oauthctl-test", "vault-"+Version)
}

// Binary returns the Vault binary: $OAUTHCTL_VAULT_BIN, else CachePath().
func Binary() (string, error) {
	p := os.Getenv(BinEnv)
	if p == "" {
		p = CachePath()
	}
	fi, err := os.Stat(p)
	if err != nil {
		return "", fmt.Errorf("no Vault binary at %s; %s", p, BuildHint)
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return "", fmt.Errorf("%s is not an executable", p)
	}
	return p, nil
}

// Server is a running dev server.
type Server struct {
	Addr  string // http://127.0.0.1:PORT
	Token string // the root token
	// Mount is the KV version 2 mount ("secret").
	Mount string

	cmd     *exec.Cmd
	dir     string
	done    chan struct{}
	stopped sync.Once
}

// Env returns the variables that point oauthctl at this server, with
// prefix as OAUTHCTL_VAULT_PREFIX.
func (s *Server) Env(prefix string) []string {
	return []string{"VAULT_ADDR=" + s.Addr, "VAULT_TOKEN=" + s.Token, "OAUTHCTL_VAULT_MOUNT=" + s.Mount, "OAUTHCTL_VAULT_PREFIX=" + prefix}
}

// Prefix returns a key prefix of its own for t, under which t's keys do
// not meet any other test's.
func Prefix(t testing.TB) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	if len(name) > 60 {
		name = name[:60]
	}
	return "test/" + name + "-" + hex.EncodeToString(b[:])
}

// StartServer runs `vault server -dev` on a free loopback port and waits
// until it is unsealed and serving. stop it with Stop.
func StartServer() (*Server, error) {
	bin, err := Binary()
	if err != nil {
		return nil, err
	}
	var lastErr error
	for range 3 { // the free port can be taken between the probe and Vault's bind
		s, err := startOnce(bin)
		if err == nil {
			return s, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func startOnce(bin string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "oauthctl-testvault-")
	if err != nil {
		return nil, err
	}
	var tok [12]byte
	_, _ = rand.Read(tok[:])
	s := &Server{
		Addr:  "http://127.0.0.1:" + strconv.Itoa(port),
		Token: "fake-root-" + hex.EncodeToString(tok[:]),
		Mount: "secret",
		dir:   dir,
		done:  make(chan struct{}),
	}
	logf, err := os.Create(filepath.Join(dir, "vault.log"))
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	defer logf.Close()
	c := exec.Command(bin, "server", "-dev", "-dev-listen-address=127.0.0.1:"+strconv.Itoa(port),
		"-dev-root-token-id="+s.Token, "-dev-no-store-token")
	// A clean environment: no VAULT_* of the developer's, and a home of
	// its own (dev mode would otherwise write ~/.vault-token).
	c.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH"), "VAULT_LOG_LEVEL=warn"}
	c.Stdout, c.Stderr = logf, logf
	c.Dir = dir
	setPdeathsig(c)
	if err := c.Start(); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting %s: %w", bin, err)
	}
	s.cmd = c
	go func() { _ = c.Wait(); close(s.done) }()
	if err := s.waitReady(); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "vault.log"))
		s.Stop()
		return nil, fmt.Errorf("%w; log:\n%s", err, tail(string(log), 2000))
	}
	return s, nil
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// waitReady polls /v1/sys/health until the server is active and unsealed
// (200), then until the KV mount answers.
func (s *Server) waitReady() error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(StartTimeout)
	for time.Now().Before(deadline) {
		select {
		case <-s.done:
			return errors.New("vault exited at start")
		default:
		}
		req, _ := http.NewRequest(http.MethodGet, s.Addr+"/v1/sys/mounts/"+s.Mount, nil)
		req.Header.Set("X-Vault-Token", s.Token)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("vault at %s did not answer within %s", s.Addr, StartTimeout)
}

// Stop kills the server (SIGKILL: it holds nothing on disk) and removes its
// directory. Safe to call more than once.
func (s *Server) Stop() {
	s.stopped.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			_ = s.cmd.Process.Kill()
			select {
			case <-s.done:
			case <-time.After(10 * time.Second):
			}
		}
		os.RemoveAll(s.dir)
	})
}

// Do sends one raw request to the server with the root token, for tests
// that look behind the store's back (versions, metadata, a policy).
func (s *Server) Do(ctx context.Context, method, path, body string) (*http.Response, error) {
	var rd *strings.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	var req *http.Request
	var err error
	if rd != nil {
		req, err = http.NewRequestWithContext(ctx, method, s.Addr+"/v1/"+path, rd)
	} else {
		req, err = http.NewRequestWithContext(ctx, method, s.Addr+"/v1/"+path, nil)
	}
	if err != nil {
		return nil, err
	}
	req.Header.Set("X-Vault-Token", s.Token)
	return http.DefaultClient.Do(req)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// The package's shared server, started by the first Require.
var shared struct {
	mu      sync.Mutex
	srv     *Server
	err     error
	started bool
}

// Setup prepares the package's shared server (started lazily by Require)
// and returns the function that stops it; call it from TestMain around
// m.Run.
func Setup() (stop func()) {
	return func() {
		shared.mu.Lock()
		defer shared.mu.Unlock()
		if shared.srv != nil {
			shared.srv.Stop()
		}
	}
}

// Require returns the package's shared server, starting it on first use.
// Without a Vault binary it skips the test, or fails it under CI=true;
// a server that does not start fails the test.
func Require(t testing.TB) *Server {
	t.Helper()
	shared.mu.Lock()
	if !shared.started {
		shared.started = true
		if _, err := Binary(); err != nil {
			shared.err = err
		} else {
			shared.srv, shared.err = StartServer()
			if shared.err != nil {
				shared.err = fmt.Errorf("starting vault: %w", shared.err)
			}
		}
	}
	srv, err := shared.srv, shared.err
	shared.mu.Unlock()
	if err != nil {
		skipOrFail(t, err)
	}
	return srv
}

// Start runs a private server for t, stopped when t ends (or earlier with
// Stop). It skips or fails like Require.
func Start(t testing.TB) *Server {
	t.Helper()
	if _, err := Binary(); err != nil {
		skipOrFail(t, err)
	}
	srv, err := StartServer()
	if err != nil {
		t.Fatalf("starting vault: %v", err)
	}
	t.Cleanup(srv.Stop)
	return srv
}

func skipOrFail(t testing.TB, err error) {
	t.Helper()
	var missing bool
	if _, berr := Binary(); berr != nil {
		missing = true
	}
	if missing {
		msg := "vault integration test skipped: " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true requires a real Vault)")
		}
		t.Skip(msg)
	}
	t.Fatal(err)
}
