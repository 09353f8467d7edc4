package session

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestBindEndpoints checks which endpoints an account's tokens may be sent
// to (docs/security.md §3.6): recorded endpoints must match the configuration,
// unrecorded ones (old index entries) only on the token endpoint's host or
// in an unmodified built-in preset, issuer-only entries use what the login
// discovered, and a refusal matches auth.ErrReauthRequired. {B} is the
// provider's server, {O} another origin.
func TestBindEndpoints(t *testing.T) {
	t.Parallel()
	type endpoints struct{ Token, Revocation, Grant, Userinfo string }
	tests := []struct {
		name string
		// cfg is the current configuration; acct the index entry.
		cfg   auth.Provider
		acct  keyring.Account
		kinds []EndpointKind
		// discovered is the discovery document's revocation_endpoint.
		discovered    string
		discoveryFail bool
		want          *endpoints
		wantErr       string // substring; the error must match ErrReauthRequired unless wantOther
		wantOther     bool
		wantDiscovery int
	}{
		{name: "recorded and unchanged",
			cfg:   auth.Provider{RevocationURL: "{B}/revoke", UserinfoURL: "{B}/userinfo"},
			acct:  keyring.Account{RevocationURL: "{B}/revoke", UserinfoURL: "{B}/userinfo"},
			kinds: []EndpointKind{EndpointRevocation, EndpointUserinfo},
			want:  &endpoints{Token: "{B}/token", Revocation: "{B}/revoke", Userinfo: "{B}/userinfo"}},
		{name: "recorded revocation endpoint moved to another host",
			cfg: auth.Provider{RevocationURL: "{O}/revoke"}, acct: keyring.Account{RevocationURL: "{B}/revoke"},
			kinds:   []EndpointKind{EndpointRevocation},
			wantErr: "sign-in required: the configuration changed since acme:alice logged in (revocation endpoint {B}/revoke, now {O}/revoke); no token was sent"},
		{name: "recorded revocation endpoint changed on the same host",
			cfg: auth.Provider{RevocationURL: "{B}/revoke2"}, acct: keyring.Account{RevocationURL: "{B}/revoke"},
			kinds: []EndpointKind{EndpointRevocation}, wantErr: "(revocation endpoint {B}/revoke, now {B}/revoke2)"},
		{name: "recorded grant revocation endpoint changed",
			cfg:     auth.Provider{GrantRevocationURL: "{O}/applications/{client_id}/grant"},
			acct:    keyring.Account{GrantRevocationURL: "{B}/applications/{client_id}/grant"},
			kinds:   []EndpointKind{EndpointRevocation, EndpointGrantRevocation},
			wantErr: "grant revocation endpoint {B}/applications/{client_id}/grant, now {O}/applications/{client_id}/grant"},
		{name: "recorded userinfo endpoint changed",
			cfg: auth.Provider{UserinfoURL: "{O}/userinfo"}, acct: keyring.Account{UserinfoURL: "{B}/userinfo"},
			kinds: []EndpointKind{EndpointUserinfo}, wantErr: "userinfo endpoint {B}/userinfo, now {O}/userinfo"},
		{name: "an endpoint not asked for is not checked, and cleared",
			cfg:   auth.Provider{RevocationURL: "{B}/revoke", UserinfoURL: "{O}/userinfo", GrantRevocationURL: "{O}/grant"},
			acct:  keyring.Account{RevocationURL: "{B}/revoke", UserinfoURL: "{B}/userinfo"},
			kinds: []EndpointKind{EndpointRevocation},
			want:  &endpoints{Token: "{B}/token", Revocation: "{B}/revoke"}},
		{name: "endpoint removed from the configuration: nothing to send to",
			cfg: auth.Provider{}, acct: keyring.Account{RevocationURL: "{B}/revoke"},
			kinds: []EndpointKind{EndpointRevocation}, want: &endpoints{Token: "{B}/token"}},
		{name: "not recorded, on the token endpoint's host",
			cfg: auth.Provider{RevocationURL: "{B}/revoke", UserinfoURL: "{B}/userinfo"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointRevocation, EndpointUserinfo},
			want:  &endpoints{Token: "{B}/token", Revocation: "{B}/revoke", Userinfo: "{B}/userinfo"}},
		{name: "not recorded, on another host",
			cfg: auth.Provider{RevocationURL: "{O}/revoke"}, acct: keyring.Account{},
			kinds:   []EndpointKind{EndpointRevocation},
			wantErr: "(revocation endpoint {O}/revoke was not recorded at login and is not on the token endpoint's host)"},
		{name: "not recorded, same host and another port",
			cfg: auth.Provider{UserinfoURL: "{B}1/userinfo"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointUserinfo}, wantErr: "userinfo endpoint {B}1/userinfo was not recorded"},
		{name: "not recorded, another host, unmodified built-in preset",
			cfg: auth.Provider{Source: auth.SourceBuiltin, UserinfoURL: "{O}/userinfo"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointUserinfo}, want: &endpoints{Token: "{B}/token", Userinfo: "{O}/userinfo"}},
		{name: "not recorded, another host, preset overridden by the user",
			cfg: auth.Provider{Source: auth.SourceOverride, UserinfoURL: "{O}/userinfo"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointUserinfo}, wantErr: "userinfo endpoint {O}/userinfo was not recorded"},
		{name: "recorded endpoint changed in a built-in preset (a newer oauthctl)",
			cfg: auth.Provider{Source: auth.SourceBuiltin, RevocationURL: "{O}/revoke"}, acct: keyring.Account{RevocationURL: "{B}/revoke"},
			kinds: []EndpointKind{EndpointRevocation}, wantErr: "revocation endpoint {B}/revoke, now {O}/revoke"},
		{name: "token endpoint changed: checkBinding refuses",
			cfg: auth.Provider{TokenURL: "{O}/token", RevocationURL: "{B}/revoke"}, acct: keyring.Account{RevocationURL: "{B}/revoke"},
			kinds:   []EndpointKind{EndpointRevocation},
			wantErr: "sign-in required: the stored credentials of acme:alice were issued for another configuration (token endpoint {B}/token, now {O}/token)"},
		{name: "issuer only: the recorded endpoint, no discovery",
			cfg:   auth.Provider{NeedsDiscovery: true, TokenURL: "-"},
			acct:  keyring.Account{RevocationURL: "{B}/revoke-at-login"},
			kinds: []EndpointKind{EndpointRevocation}, discovered: "{O}/revoke",
			want: &endpoints{Token: "{B}/token", Revocation: "{B}/revoke-at-login"}},
		{name: "issuer only, logout's kinds: the recorded endpoint, no discovery (provider down)",
			cfg:   auth.Provider{NeedsDiscovery: true, TokenURL: "-"},
			acct:  keyring.Account{RevocationURL: "{B}/revoke-at-login"},
			kinds: []EndpointKind{EndpointRevocation, EndpointGrantRevocation}, discoveryFail: true,
			want: &endpoints{Token: "{B}/token", Revocation: "{B}/revoke-at-login"}},
		{name: "issuer only, other endpoints recorded: none recorded means none, no discovery",
			cfg:   auth.Provider{NeedsDiscovery: true, TokenURL: "-"},
			acct:  keyring.Account{UserinfoURL: "{B}/userinfo"},
			kinds: []EndpointKind{EndpointRevocation, EndpointGrantRevocation}, discovered: "{B}/revoke", discoveryFail: true,
			want: &endpoints{Token: "{B}/token"}},
		{name: "issuer only, not recorded: discovered on the token endpoint's host",
			cfg: auth.Provider{NeedsDiscovery: true, TokenURL: "-"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointRevocation}, discovered: "{B}/revoke", wantDiscovery: 1,
			want: &endpoints{Token: "{B}/token", Revocation: "{B}/revoke"}},
		{name: "issuer only, not recorded: discovered on another host",
			cfg: auth.Provider{NeedsDiscovery: true, TokenURL: "-"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointRevocation}, discovered: "{O}/revoke", wantDiscovery: 1,
			wantErr: "revocation endpoint {O}/revoke was not recorded"},
		{name: "issuer only, not recorded, nothing discovered",
			cfg: auth.Provider{NeedsDiscovery: true, TokenURL: "-"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointRevocation}, wantDiscovery: 1, want: &endpoints{Token: "{B}/token"}},
		{name: "issuer only, explicit endpoint differs from the recorded one",
			cfg:   auth.Provider{NeedsDiscovery: true, TokenURL: "-", RevocationURL: "{O}/revoke"},
			acct:  keyring.Account{RevocationURL: "{B}/revoke"},
			kinds: []EndpointKind{EndpointRevocation}, wantErr: "revocation endpoint {B}/revoke, now {O}/revoke"},
		{name: "issuer only, not recorded, discovery fails",
			cfg: auth.Provider{NeedsDiscovery: true, TokenURL: "-"}, acct: keyring.Account{},
			kinds: []EndpointKind{EndpointRevocation}, discoveryFail: true, wantDiscovery: 1,
			wantErr: "answered HTTP 500", wantOther: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var mu sync.Mutex
			discoveries := 0
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				mu.Lock()
				discoveries++
				mu.Unlock()
				if r.URL.Path != "/.well-known/openid-configuration" || tt.discoveryFail {
					http.Error(w, "no", http.StatusInternalServerError)
					return
				}
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":%q,"token_endpoint":%q,"revocation_endpoint":%q}`,
					srv.URL, srv.URL+"/authorize", srv.URL+"/token", expand(tt.discovered, srv.URL))
			}))
			t.Cleanup(srv.Close)
			b := srv.URL

			p := tt.cfg
			p.Name, p.Issuer, p.ClientID = "acme", b, "acme-client"
			if p.Source == "" {
				p.Source = auth.SourceUser
			}
			switch p.TokenURL {
			case "":
				p.TokenURL = b + "/token"
			case "-": // issuer only
				p.TokenURL = ""
			default:
				p.TokenURL = expand(p.TokenURL, b)
			}
			p.RevocationURL, p.GrantRevocationURL, p.UserinfoURL = expand(p.RevocationURL, b), expand(p.GrantRevocationURL, b), expand(p.UserinfoURL, b)
			a := tt.acct
			a.Provider, a.Account, a.Issuer, a.TokenURL, a.ClientID = "acme", "alice", b, b+"/token", "acme-client"
			a.RevocationURL, a.GrantRevocationURL, a.UserinfoURL = expand(a.RevocationURL, b), expand(a.GrantRevocationURL, b), expand(a.UserinfoURL, b)
			before := p

			got, err := BindEndpoints(t.Context(), srv.Client(), &a, &p, tt.kinds...)
			if tt.wantErr != "" {
				if got != nil || err == nil || !strings.Contains(err.Error(), expand(tt.wantErr, b)) {
					t.Fatalf("got %+v, %v; want an error with %q", got, err, expand(tt.wantErr, b))
				}
				var be *BindingError
				if isBinding := errors.Is(err, auth.ErrReauthRequired) && errors.As(err, &be); isBinding == tt.wantOther {
					t.Errorf("error %v: matches ErrReauthRequired and *BindingError = %v, want %v", err, isBinding, !tt.wantOther)
				}
				if be != nil && (be.Detail() == "" || strings.HasPrefix(be.Detail(), "sign-in required")) {
					t.Errorf("detail = %q", be.Detail())
				}
			} else {
				if err != nil {
					t.Fatal(err)
				}
				w := *tt.want
				want := endpoints{expand(w.Token, b), expand(w.Revocation, b), expand(w.Grant, b), expand(w.Userinfo, b)}
				if diff := cmp.Diff(want, endpoints{got.TokenURL, got.RevocationURL, got.GrantRevocationURL, got.UserinfoURL}); diff != "" {
					t.Errorf("bound endpoints (-want +got):\n%s", diff)
				}
				if got.NeedsDiscovery || got == &p {
					t.Errorf("not a resolved copy: %+v", got)
				}
			}
			if diff := cmp.Diff(before, p); diff != "" {
				t.Errorf("the configuration was changed (-before +after):\n%s", diff)
			}
			mu.Lock()
			defer mu.Unlock()
			if discoveries != tt.wantDiscovery {
				t.Errorf("%d discovery requests, want %d", discoveries, tt.wantDiscovery)
			}
		})
	}
}

// expand replaces {B} with base and {O} with an origin that is not base's.
func expand(s, base string) string {
	return strings.NewReplacer("{B}", base, "{O}", "http://127.0.0.2:9").Replace(s)
}
