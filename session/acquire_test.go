package session

import (
	"encoding/base64"
	"encoding/json"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// idClaims are the claims of fakeAccount's ID token, expiring at exp.
func idClaims(exp time.Time) map[string]any {
	return map[string]any{"iss": "https://issuer.example", "sub": "id1", "aud": []string{"fake-client"},
		"iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix()}
}

// with returns a copy of c with the given claims replaced (a nil value
// deletes the claim).
func with(c map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

func fakeAccount(tokenURL string) keyring.Account {
	return keyring.Account{Provider: "fake", Account: "me@example.com", Issuer: "https://issuer.example", TokenURL: tokenURL,
		ClientID: "fake-client", Scopes: []string{"openid"}, Refreshable: true, Grant: auth.GrantAuthorizationCode}
}

// TestCheckRefreshedIDToken covers the OIDC Core §12.2 claim checks on a
// refreshed ID token's payload.
func TestCheckRefreshedIDToken(t *testing.T) {
	t.Parallel()
	exp := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	enc := base64.RawURLEncoding.EncodeToString
	jwt := func(c map[string]any) string {
		b, _ := json.Marshal(c)
		return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(b) + ".sig"
	}
	base := idClaims(exp)
	acct := fakeAccount("https://t.example/token")
	acct.Subject = "id1"
	noSubject := acct
	noSubject.Subject = ""
	tests := []struct {
		name string
		raw  string
		prev string
		acct keyring.Account
		want string // "" for accepted
	}{
		{name: "same claims", raw: jwt(base), prev: jwt(base), acct: acct},
		{name: "aud as a string, no previous ID token: the account's issuer and subject", raw: jwt(with(base, "aud", "fake-client")), acct: acct},
		{name: "aud list with another audience and azp", raw: jwt(with(base, "aud", []string{"api", "fake-client"}, "azp", "fake-client")), prev: jwt(base), acct: acct},
		{name: "previous ID token wins over the account", raw: jwt(with(base, "sub", "id2")), prev: jwt(with(base, "sub", "id2")), acct: acct},
		{name: "no subject recorded anywhere", raw: jwt(base), acct: noSubject},
		{name: "another subject", raw: jwt(with(base, "sub", "id2")), prev: jwt(base), acct: acct, want: "has another subject than the original (another user)"},
		{name: "another subject than the account", raw: jwt(with(base, "sub", "id2")), acct: acct, want: "has another subject than the original (another user)"},
		{name: "no subject", raw: jwt(with(base, "sub", nil)), prev: jwt(base), acct: acct, want: "has no subject"},
		{name: "another issuer", raw: jwt(with(base, "iss", "https://evil.example")), prev: jwt(base), acct: acct, want: "has another issuer than the original"},
		{name: "no issuer", raw: jwt(with(base, "iss", nil)), prev: jwt(base), acct: acct, want: "has no issuer to compare with the original's"},
		{name: "another client", raw: jwt(with(base, "aud", "other")), prev: jwt(base), acct: acct, want: "is not issued to this client (aud)"},
		{name: "no aud", raw: jwt(with(base, "aud", nil)), prev: jwt(base), acct: acct, want: "is not issued to this client (aud)"},
		{name: "azp of another client", raw: jwt(with(base, "azp", "other")), prev: jwt(base), acct: acct, want: "is issued to another client (azp)"},
		{name: "no exp", raw: jwt(with(base, "exp", nil)), prev: jwt(base), acct: acct, want: "has no exp claim"},
		{name: "not a JWT", raw: "opaque", prev: jwt(base), acct: acct, want: "is not a readable JWT"},
		{name: "payload not JSON", raw: enc([]byte("{}")) + "." + enc([]byte("nope")) + ".sig", prev: jwt(base), acct: acct, want: "is not a readable JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			err := checkRefreshedIDToken(tt.raw, tt.prev, &tt.acct)
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("checkRefreshedIDToken = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestIssuerMatches(t *testing.T) {
	t.Parallel()
	tmpl := "https://login.microsoftonline.com/{tenantid}/v2.0"
	tests := []struct {
		configured, stored string
		want               bool
	}{
		{"https://accounts.google.com", "https://accounts.google.com", true},
		{"https://accounts.google.com", "https://accounts.google.com/", false},
		{"", "", true},
		{tmpl, "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0", true},
		{tmpl, "https://login.microsoftonline.com//v2.0", false},
		{tmpl, "https://login.microsoftonline.com/a/b/v2.0", false},
		{tmpl, "https://evil.example/x/v2.0", false},
	}
	for _, tt := range tests {
		if got := issuerMatches(tt.configured, tt.stored); got != tt.want {
			t.Errorf("issuerMatches(%q, %q) = %v, want %v", tt.configured, tt.stored, got, tt.want)
		}
	}
}
