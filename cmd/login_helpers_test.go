package cmd

import (
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/iostreams"
	"github.com/oauthctl/oauthctl/keyring"
)

// syncBuffer is a buffer that several goroutines may write and that a test
// can wait on for some text to appear (the login prints its URL while it
// runs).
type syncBuffer struct {
	mu      sync.Mutex
	b       bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{})} }

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	n, err := s.b.Write(p)
	close(s.changed)
	s.changed = make(chan struct{})
	return n, err
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// waitFor returns the first match of re in the buffer, waiting for it to
// be written. The 30 s bound only turns a hang into a failure.
func (s *syncBuffer) waitFor(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(30 * time.Second)
	for {
		s.mu.Lock()
		m := re.FindStringSubmatch(s.b.String())
		ch := s.changed
		s.mu.Unlock()
		if m != nil {
			return m
		}
		select {
		case <-ch:
		case <-deadline:
			t.Fatalf("timed out waiting for %q in:\n%s", re, s.String())
			return nil
		}
	}
}

// loginEnv is a private environment for login tests: a state directory, a
// lock directory and a providers.yaml, all under t.TempDir().
type loginEnv struct {
	dir  string
	vars map[string]string
	mu   sync.Mutex
}

func newLoginEnv(t *testing.T, providersYAML string) *loginEnv {
	t.Helper()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "providers.yaml")
	if err := os.WriteFile(cfg, []byte(providersYAML), 0o600); err != nil {
		t.Fatal(err)
	}
	runtime := filepath.Join(dir, "run")
	if err := os.MkdirAll(runtime, 0o700); err != nil {
		t.Fatal(err)
	}
	return &loginEnv{dir: dir, vars: map[string]string{
		"OAUTHCTL_CONFIG":    cfg,
		"OAUTHCTL_STATE_DIR": filepath.Join(dir, "state"),
		"OAUTHCTL_LOCK_DIR":  runtime,
		"HOME":               dir,
	}}
}

func (e *loginEnv) getenv(k string) string {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.vars[k]
}

func (e *loginEnv) set(k, v string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.vars[k] = v
}

// environ is the environment for a subprocess: the test process's own
// (which carries the private keyring's bus) plus the login variables.
func (e *loginEnv) environ() []string {
	e.mu.Lock()
	defer e.mu.Unlock()
	env := os.Environ()
	for k, v := range e.vars {
		env = append(env, k+"="+v)
	}
	return env
}

// loginFactory builds a Factory over env with the given store and browser,
// the production HTTP client and catalogue loading (without built-in
// presets). It returns the factory, stdout and stderr.
func loginFactory(env *loginEnv, store keyring.Store, open browser.Opener, stdin io.Reader) (*Factory, *syncBuffer, *syncBuffer) {
	out, errOut := newSyncBuffer(), newSyncBuffer()
	ios := &iostreams.IOStreams{In: stdin, Out: out, ErrOut: errOut}
	if ios.In == nil {
		ios.In = &bytes.Buffer{}
	}
	f := &Factory{
		IO: ios, Getenv: env.getenv, Now: time.Now, Version: "test",
		HTTPClient: NewHTTPClient,
		Browser:    open,
		Store:      func() (keyring.Store, error) { return store, nil },
		Paths:      func() (keyring.Paths, error) { return keyring.DefaultPaths(env.getenv) },
		Catalogue: func() (*auth.Catalogue, error) {
			user, err := readUserConfig(env.getenv)
			if err != nil {
				return nil, err
			}
			return auth.LoadCatalogue(auth.ConfigSource{Path: "builtin"}, user, env.getenv)
		},
	}
	return f, out, errOut
}

// loadIndex reads env's account index.
func (e *loginEnv) loadIndex(t *testing.T) *keyring.Index {
	t.Helper()
	paths, err := keyring.DefaultPaths(e.getenv)
	if err != nil {
		t.Fatal(err)
	}
	ix, err := keyring.LoadIndex(paths.Index)
	if err != nil {
		t.Fatal(err)
	}
	return ix
}

// noBrowser is an opener that must not be called.
func noBrowser(t *testing.T) browser.Opener {
	return func(context.Context, string) error {
		t.Errorf("the browser was opened")
		return nil
	}
}
