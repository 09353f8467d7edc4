// Package nodeop runs node-oidc-provider (npm package oidc-provider, pinned
// in testdata/nodeop/package.json) as a second, independent certified
// OpenID Provider for end-to-end tests, beside zitadel's in internal/testop,
// and drives its built-in login and consent pages with a Browser. It is
// imported only from _test.go files.
//
// The OP (testdata/nodeop/server.mjs) is strict where zitadel's example is
// lenient, which is the point:
//
//   - one client per client authentication method (NoneClientID,
//     BasicClientID, PostClientID); each refuses the other methods with
//     invalid_client;
//   - access and ID tokens live 60 s;
//   - a refresh token only for offline_access asked with prompt=consent;
//   - rotated refresh tokens, and reuse of a rotated one revokes the grant;
//   - refresh responses without an ID token;
//   - idle keep-alive connections closed after 5 s (node's default).
//
// Start needs node and the npm modules (npm ci --prefix testdata/nodeop, as
// .ci/run does). Without them a test skips with a message, and fails when
// the environment has CI=true.
package nodeop

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// The registered clients. Secrets are obviously fake.
const (
	// NoneClientID is a public client (token_endpoint_auth_method none,
	// PKCE required).
	NoneClientID = "oauthctl-none"
	// BasicClientID and BasicClientSecret authenticate with HTTP Basic
	// only (client_secret_basic).
	BasicClientID     = "oauthctl-basic"
	BasicClientSecret = "fake-basic-secret"
	// PostClientID and PostClientSecret authenticate with the secret in the
	// form only (client_secret_post).
	PostClientID     = "oauthctl-post"
	PostClientSecret = "fake-post-secret"

	// Scopes asks for an ID token, the email claim (userinfo) and a
	// refresh token; the refresh token comes only with prompt=consent.
	Scopes = "openid email offline_access"
	// TokenLifetime is the lifetime of access and ID tokens.
	TokenLifetime = 60 * time.Second
)

// Client is one registered client.
type Client struct {
	ID, Secret string
	// Method is its token_endpoint_auth_method.
	Method string
}

// Clients lists the registered clients, one per client authentication method.
var Clients = []Client{
	{ID: NoneClientID, Method: "none"},
	{ID: BasicClientID, Secret: BasicClientSecret, Method: "client_secret_basic"},
	{ID: PostClientID, Secret: PostClientSecret, Method: "client_secret_post"},
}

// Event is one answer of the token endpoint, as the OP reports it.
type Event struct {
	Event     string `json:"event"` // "grant" (success) or "grant_error"
	GrantType string `json:"grant_type"`
	ClientID  string `json:"client_id"`
	Error     string `json:"error"`
}

// OP is a running node-oidc-provider.
type OP struct {
	// Issuer is http://127.0.0.1:PORT.
	Issuer string

	cmd    *exec.Cmd
	stdin  io.WriteCloser
	stderr *lockedBuffer
	done   chan struct{}

	mu     sync.Mutex
	events []Event
}

// Dir is testdata/nodeop of the module that contains the working
// directory (go test runs in the package's directory).
func Dir() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return filepath.Join(dir, "testdata", "nodeop"), nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}

// Available reports why node-oidc-provider cannot run here, or "" when it
// can: node on PATH and the npm modules installed.
func Available() string {
	if _, err := exec.LookPath("node"); err != nil {
		return "node is not installed (apt-get install nodejs npm)"
	}
	dir, err := Dir()
	if err != nil {
		return err.Error()
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "oidc-provider", "package.json")); err != nil {
		return "node-oidc-provider is not installed (run: npm ci --prefix testdata/nodeop)"
	}
	return ""
}

// Require skips the test when node-oidc-provider cannot run, or fails it
// when CI=true.
func Require(t testing.TB) {
	t.Helper()
	if why := Available(); why != "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node-oidc-provider is required in CI: %s", why)
		}
		t.Skipf("skipping: %s", why)
	}
}

// Start starts the OP and stops it when the test ends. Its steps:
//  1. Require node and the modules;
//  2. run `node server.mjs` in testdata/nodeop with a pipe on stdin (the
//     server exits when it closes, so no OP outlives a crashed test);
//  3. read the issuer from the first stdout line (bounded: 30 s);
//  4. collect the later lines as Events.
func Start(t testing.TB) *OP {
	t.Helper()
	Require(t)
	dir, _ := Dir()
	node, _ := exec.LookPath("node")
	cmd := exec.Command(node, "server.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "NODE_ENV=test", "DEBUG=")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	o := &OP{cmd: cmd, stdin: stdin, stderr: &lockedBuffer{}, done: make(chan struct{})}
	cmd.Stderr = o.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting node-oidc-provider: %v", err)
	}
	go func() { _ = cmd.Wait(); close(o.done) }()
	t.Cleanup(o.stop)

	first := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for n := 0; sc.Scan(); n++ {
			if n == 0 {
				first <- sc.Text()
				continue
			}
			var ev Event
			if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Event != "" {
				o.mu.Lock()
				o.events = append(o.events, ev)
				o.mu.Unlock()
			}
		}
		close(first)
	}()
	select {
	case line, ok := <-first:
		var hello struct {
			Issuer string `json:"issuer"`
		}
		if !ok || json.Unmarshal([]byte(line), &hello) != nil || !strings.HasPrefix(hello.Issuer, "http://127.0.0.1:") {
			t.Fatalf("node-oidc-provider did not start: stdout %q, stderr:\n%s", line, o.stderr.String())
		}
		o.Issuer = hello.Issuer
	case <-time.After(30 * time.Second):
		t.Fatalf("node-oidc-provider did not start within 30 s; stderr:\n%s", o.stderr.String())
	}
	return o
}

// stop closes stdin, which ends the server, and kills it if it lingers.
func (o *OP) stop() {
	_ = o.stdin.Close()
	select {
	case <-o.done:
	case <-time.After(5 * time.Second):
		_ = o.cmd.Process.Kill()
		<-o.done
	}
}

// Events returns the token endpoint's answers so far, in order.
func (o *OP) Events() []Event {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Event(nil), o.events...)
}

// Grants returns the successful token requests of one grant type, e.g.
// "refresh_token". The event is written after the answer, so a caller that
// just got its answer may wait briefly (see WaitGrants).
func (o *OP) Grants(grantType string) []Event {
	var out []Event
	for _, ev := range o.Events() {
		if ev.Event == "grant" && ev.GrantType == grantType {
			out = append(out, ev)
		}
	}
	return out
}

// Errors returns the failed token requests (with their OAuth error codes).
func (o *OP) Errors() []Event {
	var out []Event
	for _, ev := range o.Events() {
		if ev.Event == "grant_error" {
			out = append(out, ev)
		}
	}
	return out
}

// Stderr returns what the server wrote on stderr (warnings, crashes).
func (o *OP) Stderr() string { return o.stderr.String() }

// ProviderYAML is a providers.yaml entry that discovers everything from the
// issuer, for client (its method set when method is not "").
func (o *OP) ProviderYAML(name string, c Client, method string) string {
	s := fmt.Sprintf("providers:\n  %s:\n    issuer: %s\n    client_id: %s\n    scopes: [openid, email, offline_access]\n", name, o.Issuer, c.ID)
	if method != "" {
		s += "    token_endpoint_auth_method: " + method + "\n"
	}
	return s
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() < 1<<20 {
		l.b.Write(p)
	}
	return len(p), nil
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}
