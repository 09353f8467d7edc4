package auth

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

func TestDiscover(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name    string
		doc     func(as *fakeas.Server, d map[string]any)
		issuer  func(as *fakeas.Server) string
		wantIs  error
		wantMsg string
	}{
		{name: "ok"},
		{name: "issuer differs", doc: func(as *fakeas.Server, d map[string]any) { d["issuer"] = "https://evil.example" },
			wantIs: ErrConfig, wantMsg: `names issuer "https://evil.example"; it must be identical`},
		{name: "issuer with a trailing slash", issuer: func(as *fakeas.Server) string { return as.URL + "/" },
			wantIs: ErrConfig, wantMsg: "it must be identical"},
		{name: "javascript authorization endpoint", doc: func(as *fakeas.Server, d map[string]any) { d["authorization_endpoint"] = "javascript:alert(1)" },
			wantIs: ErrConfig, wantMsg: "authorization_endpoint must be an absolute https URL"},
		{name: "plain http token endpoint", doc: func(as *fakeas.Server, d map[string]any) { d["token_endpoint"] = "http://example.com/token" },
			wantIs: ErrConfig, wantMsg: "token_endpoint must use https"},
		{name: "not JSON", doc: func(as *fakeas.Server, d map[string]any) { d["issuer"] = 42 },
			wantIs: ErrUnavailable, wantMsg: "malformed document"},
		{name: "template issuer", issuer: func(as *fakeas.Server) string { return as.URL + "/{tenantid}/v2.0" },
			wantIs: ErrConfig, wantMsg: "cannot be discovered"},
		{name: "404", issuer: func(as *fakeas.Server) string { return as.URL + "/nothing" },
			wantIs: ErrUnavailable, wantMsg: "answered HTTP 404"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			as := fakeas.Start(t)
			if tt.doc != nil {
				as.Discovery = func(d map[string]any) { tt.doc(as, d) }
			}
			issuer := as.URL
			if tt.issuer != nil {
				issuer = tt.issuer(as)
			}
			md, err := Discover(t.Context(), fakeas.Client(), issuer)
			if tt.wantIs == nil {
				if err != nil || md.TokenEndpoint != as.URL+"/token" || md.JWKSURI != as.URL+"/jwks" {
					t.Fatalf("Discover = %+v, %v", md, err)
				}
				return
			}
			if !errors.Is(err, tt.wantIs) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("err = %v, want %v with %q", err, tt.wantIs, tt.wantMsg)
			}
		})
	}
}

// TestResolveEndpoints fills what an issuer-only entry lacks and keeps what
// an entry names itself; an entry that needs no discovery sends nothing.
func TestResolveEndpoints(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	as.IssParameter = true
	p := &Provider{Name: "x", Issuer: as.URL, Grant: GrantAuthorizationCode, NeedsDiscovery: true,
		UserinfoURL: "https://userinfo.example/me", Scopes: []string{"openid"}}
	got, md, err := ResolveEndpoints(t.Context(), fakeas.Client(), p)
	if err != nil {
		t.Fatal(err)
	}
	if got.AuthURL != as.URL+"/authorize" || got.TokenURL != as.URL+"/token" || got.JWKSURL != as.URL+"/jwks" ||
		got.RevocationURL != as.URL+"/revoke" || got.UserinfoURL != "https://userinfo.example/me" || got.NeedsDiscovery {
		t.Errorf("resolved %+v", got)
	}
	if !md.IssParameterSupported || p.AuthURL != "" {
		t.Errorf("metadata %+v; the input was modified: %q", md, p.AuthURL)
	}

	offline := &Provider{Name: "y", Issuer: "https://unreachable.invalid", AuthURL: "https://a.example/auth", TokenURL: "https://a.example/token"}
	failing := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		t.Error("a request was sent for a provider that needs no discovery")
		return nil, errors.New("no")
	})}
	if got, md, err := ResolveEndpoints(t.Context(), failing, offline); err != nil || md != nil || got.TokenURL != offline.TokenURL {
		t.Errorf("ResolveEndpoints = %+v %+v %v", got, md, err)
	}

	// Unreachable: one "discovery" in the message, not "discovering x's
	// endpoints: discovery: ...".
	down := &Provider{Name: "z", Issuer: "https://127.0.0.1:1", NeedsDiscovery: true}
	refused := &http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
		return nil, errors.New("connection refused")
	})}
	_, _, err = ResolveEndpoints(t.Context(), refused, down)
	if err == nil || !strings.HasPrefix(err.Error(), "cannot find z's endpoints: discovery: ") || strings.Count(err.Error(), "discover") != 1 {
		t.Errorf("unreachable issuer: %v", err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
