// Package oauthval holds the few OAuth value rules that both the protocol
// package (auth) and the token hot path (session/hot, linked into the small
// `oauthctl` front binary, which must not link auth's HTTP and OIDC code)
// apply: the client_credentials grant's name, the client ID environment
// variable and the characters a token may have. auth re-exports them; the
// rules live here once.
package oauthval

import "strings"

// Grant types a provider entry may select with `grant:`.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantClientCredentials = "client_credentials"
)

// EnvName is NAME in OAUTHCTL_<NAME>_CLIENT_ID: the provider name upper-cased
// with every character other than A-Z and 0-9 replaced by '_'.
func EnvName(provider string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(provider) {
		if (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
		} else {
			b.WriteByte('_')
		}
	}
	return b.String()
}

// ClientIDEnv is the environment variable that holds the provider's client ID.
func ClientIDEnv(provider string) string { return "OAUTHCTL_" + EnvName(provider) + "_CLIENT_ID" }

// ClientSecretEnv is the environment variable that holds the provider's client secret.
func ClientSecretEnv(provider string) string {
	return "OAUTHCTL_" + EnvName(provider) + "_CLIENT_SECRET"
}

// TokenChars reports whether a token is safe to store, print and put in a
// header: RFC 6749 Appendix A.12 (access_token) and A.17 (refresh_token)
// allow only VSCHAR, %x20-7E. We refuse the space too in access and ID
// tokens: an access token travels as RFC 6750 §2.1 b64token credentials
// (no space) and is printed for `curl -H "$(oauthctl token --header)"`,
// and an ID token is a JWS compact serialization (RFC 7515 §7.1: base64url
// and dots). A refresh token is only ever form-encoded back to the token
// endpoint, so VSCHAR's space is kept for it. Anything else (CR/LF that
// would inject a header, ESC sequences for the terminal, NUL that breaks
// exec) means a broken or hostile provider (docs/security.md §4.2).
func TokenChars(s string, spaceOK bool) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c > 0x7e || c < 0x20 || c == ' ' && !spaceOK {
			return false
		}
	}
	return true
}

// WellFormedToken reports whether an access or ID token may be printed or
// put in a header: visible ASCII without spaces (see TokenChars). Tokens are
// checked when they arrive; this is for ones stored by an older oauthctl.
func WellFormedToken(s string) bool { return s != "" && TokenChars(s, false) }
