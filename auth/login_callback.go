package auth

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
)

// CallbackParams are the parameters of an authorization response (RFC 6749
// §4.1.2, §4.1.2.1; RFC 9207 §2) as they arrived on the redirect URI. Every
// value is untrusted: Code is a credential (never printed), the error texts
// are provider text to sanitize before showing.
type CallbackParams struct {
	Code  string
	State string
	// Iss is RFC 9207's issuer identifier; HasIss tells "absent" from "empty".
	Iss    string
	HasIss bool
	// Error is the OAuth `error` code of a failed authorization.
	Error            string
	ErrorDescription string
	ErrorURI         string
}

// maxCallbackQuery bounds the query string ParseCallback accepts; real
// responses are a few hundred bytes, and the server's header limit (64 KiB)
// bounds it again.
const maxCallbackQuery = 32 << 10

// errDuplicateParam is a response parameter that occurs more than once.
var errDuplicateParam = errors.New("duplicate parameter")

// ParseCallback parses the query string of a redirect to the loopback
// listener. It rejects what RFC 6749 §3.1 forbids, parameters sent more than
// once ("Request and response parameters MUST NOT be included more than
// once"), for each parameter it reads, so that an injected second `code` or
// `state` cannot ride along with a genuine one; and it rejects a query that
// is not valid URL encoding or is unreasonably long. Unknown parameters
// (Entra's session_state, Google's authuser and scope) are ignored.
func ParseCallback(rawQuery string) (*CallbackParams, error) {
	if len(rawQuery) > maxCallbackQuery {
		return nil, fmt.Errorf("the query is longer than %d bytes", maxCallbackQuery)
	}
	q, err := url.ParseQuery(rawQuery)
	if err != nil {
		return nil, errors.New("the query is not valid URL encoding")
	}
	p := &CallbackParams{}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"code", &p.Code}, {"state", &p.State}, {"iss", &p.Iss}, {"error", &p.Error},
		{"error_description", &p.ErrorDescription}, {"error_uri", &p.ErrorURI},
	} {
		vs, ok := q[f.name]
		if !ok {
			continue
		}
		if len(vs) != 1 {
			return nil, fmt.Errorf("%w %q", errDuplicateParam, f.name)
		}
		*f.dst = vs[0]
		if f.name == "iss" {
			p.HasIss = true
		}
	}
	return p, nil
}

// issuerMatches compares an authorization response's iss with the expected
// issuer by simple string comparison (RFC 9207 §2.4). An expected issuer
// that is Entra ID's multi-tenant template (…/{tenantid}/v2.0) matches iss
// only when iss is the template with {tenantid} replaced by one tenant
// identifier; the ID token check later pins that tenant exactly.
func issuerMatches(expected, iss string) bool {
	if !strings.Contains(expected, TenantIDPlaceholder) {
		return iss == expected
	}
	prefix, suffix, _ := strings.Cut(expected, TenantIDPlaceholder)
	if !strings.HasPrefix(iss, prefix) || !strings.HasSuffix(iss, suffix) || len(iss) < len(prefix)+len(suffix) {
		return false
	}
	return validTenantID(iss[len(prefix) : len(iss)-len(suffix)])
}

// TenantIDPlaceholder is the tenant slot of Entra ID's multi-tenant issuer
// (https://login.microsoftonline.com/{tenantid}/v2.0).
const TenantIDPlaceholder = "{tenantid}"

// validTenantID accepts what may stand in an issuer's tenant slot: a GUID or
// another short token of letters, digits, '-' and '.', never a path
// separator or anything that could change the URL's meaning.
func validTenantID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '.':
		default:
			return false
		}
	}
	return s != "." && s != ".."
}
