// Package testkube stands in for a Kubernetes API server in end-to-end tests
// of `oauthctl kube-credential`: an HTTPS server on 127.0.0.1 that, like an
// API server started with --oidc-issuer-url and --oidc-client-id, accepts a
// bearer token only if it is an ID token that go-oidc verifies against the
// issuer's JWKS (signature, issuer, audience = client ID, expiry), and then
// serves just enough of the API for the real kubectl: discovery (/api,
// /apis, /version) and SelfSubjectReview (`kubectl auth whoami`). It also
// finds the kubectl binary and writes kubeconfigs that point at the server.
// It is imported only from _test.go files.
package testkube

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
)

// Request is one request the API server received.
type Request struct {
	Method string
	Path   string
	// Username is the user the ID token authenticated ("ISSUER#SUB", the
	// API server's default for --oidc-username-claim=sub), or "" when the
	// request was refused.
	Username string
	// Status is the response's status code.
	Status int
	// Error says why the token was refused.
	Error string
}

// APIServer is a running stand-in API server.
type APIServer struct {
	// URL is https://127.0.0.1:PORT.
	URL string
	// CAData is the PEM certificate a kubeconfig's
	// certificate-authority-data must carry to trust the server.
	CAData []byte

	verifier *oidc.IDTokenVerifier
	issuer   string

	mu       sync.Mutex
	requests []Request
}

// StartAPIServer starts an API server that trusts ID tokens of issuer for
// clientID, with keys from jwksURL, and stops it when the test ends.
// httpClient fetches the keys.
func StartAPIServer(t testing.TB, issuer, jwksURL, clientID string, httpClient *http.Client) *APIServer {
	t.Helper()
	// The key set outlives single requests: its context only carries the
	// HTTP client.
	ctx := oidc.ClientContext(context.WithoutCancel(t.Context()), httpClient)
	s := &APIServer{
		issuer:   issuer,
		verifier: oidc.NewVerifier(issuer, oidc.NewRemoteKeySet(ctx, jwksURL), &oidc.Config{ClientID: clientID}),
	}
	srv := httptest.NewUnstartedServer(http.HandlerFunc(s.serve))
	srv.StartTLS() // on 127.0.0.1 with a certificate for 127.0.0.1
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	s.CAData = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return s
}

// Requests returns the requests received so far.
func (s *APIServer) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Usernames returns the users of the authenticated requests, in order.
func (s *APIServer) Usernames() []string {
	var out []string
	for _, r := range s.Requests() {
		if r.Username != "" {
			out = append(out, r.Username)
		}
	}
	return out
}

// Username is what the server calls the user with subject sub.
func (s *APIServer) Username(sub string) string { return s.issuer + "#" + sub }

func (s *APIServer) record(r Request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.requests = append(s.requests, r)
}

// serve authenticates the request like kube-apiserver's OIDC authenticator
// and answers the few endpoints kubectl needs.
func (s *APIServer) serve(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path}
	defer func() { s.record(rec) }()

	raw, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	if !ok {
		rec.Status, rec.Error = http.StatusUnauthorized, "no bearer token"
		writeStatus(w, rec.Status, "Unauthorized")
		return
	}
	tok, err := s.verifier.Verify(r.Context(), raw)
	if err != nil {
		rec.Status, rec.Error = http.StatusUnauthorized, err.Error()
		writeStatus(w, rec.Status, "Unauthorized")
		return
	}
	rec.Username = s.Username(tok.Subject)

	var body any
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/api":
		body = map[string]any{"kind": "APIVersions", "versions": []string{"v1"},
			"serverAddressByClientCIDRs": []map[string]string{{"clientCIDR": "0.0.0.0/0", "serverAddress": r.Host}}}
	case r.Method == http.MethodGet && r.URL.Path == "/apis":
		body = map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}}
	case r.Method == http.MethodGet && r.URL.Path == "/version":
		body = map[string]string{"major": "1", "minor": "32", "gitVersion": "v1.32.0-standin", "platform": "linux/amd64"}
	case r.Method == http.MethodPost && r.URL.Path == "/apis/authentication.k8s.io/v1/selfsubjectreviews":
		body = map[string]any{"kind": "SelfSubjectReview", "apiVersion": "authentication.k8s.io/v1",
			"metadata": map[string]any{"creationTimestamp": nil},
			"status": map[string]any{"userInfo": map[string]any{
				"username": rec.Username, "groups": []string{"system:authenticated"}}}}
	default:
		rec.Status = http.StatusNotFound
		writeStatus(w, rec.Status, "NotFound")
		return
	}
	rec.Status = http.StatusOK
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
}

// writeStatus writes a Kubernetes Status object, which kubectl turns into
// its usual messages ("You must be logged in to the server").
func writeStatus(w http.ResponseWriter, code int, reason string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"kind": "Status", "apiVersion": "v1", "metadata": map[string]any{},
		"status": "Failure", "message": reason, "reason": reason, "code": code,
	})
}

// Kubeconfig is the YAML of a kubeconfig with one cluster, the server, and
// one context that uses the kubeconfig user named user (which the test adds,
// e.g. with `oauthctl setup-kube`).
func (s *APIServer) Kubeconfig(user string) string {
	return fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: standin
  cluster:
    server: %s
    certificate-authority-data: %s
contexts:
- name: standin
  context:
    cluster: standin
    user: %s
current-context: standin
preferences: {}
`, s.URL, base64.StdEncoding.EncodeToString(s.CAData), user)
}

// Kubectl is the kubectl binary tests run.
type Kubectl struct {
	Path string
	// Major and Minor are its client version.
	Major, Minor int
}

// RequireKubectl finds kubectl on PATH. Without it the test is skipped, or
// fails when CI=true: CI installs it (Debian's kubernetes-client).
func RequireKubectl(t testing.TB) *Kubectl {
	t.Helper()
	path, err := exec.LookPath("kubectl")
	if err != nil {
		msg := "kubectl not found (Debian: apt-get install kubernetes-client)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + "; CI=true requires it")
		}
		t.Skip(msg)
	}
	out, err := exec.CommandContext(t.Context(), path, "version", "--client", "-o", "json").Output()
	if err != nil {
		t.Fatalf("%s version: %v", path, err)
	}
	var v struct {
		ClientVersion struct{ Major, Minor string } `json:"clientVersion"`
	}
	if err := json.Unmarshal(out, &v); err != nil {
		t.Fatalf("%s version: %v", path, err)
	}
	k := &Kubectl{Path: path, Major: leadingInt(v.ClientVersion.Major), Minor: leadingInt(v.ClientVersion.Minor)}
	if k.Major != 1 || k.Minor < 11 {
		t.Fatalf("%s: client version %s.%s is too old for exec plugins", path, v.ClientVersion.Major, v.ClientVersion.Minor)
	}
	return k
}

// AtLeast reports whether kubectl is version 1.minor or newer.
func (k *Kubectl) AtLeast(minor int) bool { return k.Major > 1 || k.Minor >= minor }

// SupportsV1 reports whether kubectl speaks client.authentication.k8s.io/v1
// to exec plugins (Kubernetes 1.22 and later; Debian 12's kubectl 1.20
// speaks only v1beta1).
func (k *Kubectl) SupportsV1() bool { return k.AtLeast(22) }

// leadingInt parses "32+" as 32.
func leadingInt(s string) int {
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	n, _ := strconv.Atoi(s[:end])
	return n
}

// Env is the environment for running kubectl: env with HOME set to dir and
// without KUBECONFIG or KUBECACHEDIR, so that neither the kubeconfig nor
// the discovery cache of the person running the tests is read or written.
func Env(env []string, dir string) []string {
	out := make([]string, 0, len(env)+1)
	for _, kv := range env {
		switch k, _, _ := strings.Cut(kv, "="); k {
		case "HOME", "KUBECONFIG", "KUBECACHEDIR":
			continue
		}
		out = append(out, kv)
	}
	return append(out, "HOME="+dir)
}
