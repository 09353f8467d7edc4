package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	jose "github.com/go-jose/go-jose/v4"
)

// IDTokenLeeway is the clock skew allowed when checking an ID token's exp,
// iat and nbf (OIDC Core §3.1.3.7 allows "a few minutes"; docs/security.md
// §4.4 caps it at 5).
const IDTokenLeeway = 5 * time.Minute

// signingAlgs are the JWS algorithms accepted for ID tokens: the asymmetric
// ones of RFC 7518 and EdDSA. Never "none" and never HMAC (whose key would be
// the client secret, which a public client does not keep secret).
var signingAlgs = []string{
	oidc.RS256, oidc.RS384, oidc.RS512, oidc.ES256, oidc.ES384, oidc.ES512,
	oidc.PS256, oidc.PS384, oidc.PS512, oidc.EdDSA,
}

// IDTokenCheck is what an ID token must satisfy.
type IDTokenCheck struct {
	// Issuer is the configured issuer. Entra ID's multi-tenant template
	// (…/{tenantid}/v2.0) is made concrete with the token's `tid` claim
	// before the exact comparison; the check itself is never skipped.
	Issuer string
	// ClientID must be in `aud`, and equal `azp` when that is present.
	ClientID string
	// Nonce is the value sent in the authorization request; empty when none
	// was sent (the device grant).
	Nonce string
	// JWKSURL is where the provider's signing keys are.
	JWKSURL string
	// Now is the clock; nil means time.Now.
	Now func() time.Time
}

// IDClaims are the verified claims of an ID token that oauthctl uses.
type IDClaims struct {
	Issuer            string
	Subject           string
	Email             string
	PreferredUsername string
	Name              string
	// TenantID is Entra ID's `tid`.
	TenantID string
	Expiry   time.Time
}

// IDTokenError is an ID token that failed verification (exit 3). Clock is
// set when the failure is about time (expired, issued in the future), where
// a wrong system clock is the likely cause.
type IDTokenError struct {
	Reason string
	Clock  bool
}

func (e *IDTokenError) Error() string { return "invalid ID token: " + e.Reason }

// Is makes every IDTokenError match ErrLoginFailed.
func (e *IDTokenError) Is(target error) bool { return target == ErrLoginFailed }

// VerifyIDToken checks an ID token as OIDC Core §3.1.3.7 asks, with
// github.com/coreos/go-oidc/v3. Its steps:
//  1. read the unverified `tid` when the issuer is Entra ID's template and
//     substitute it (a tenant ID that is not a plain token is refused);
//  2. fetch the signing keys at JWKSURL with client (the body capped at
//     MaxResponseBody); a failure there is the provider's (ErrUnavailable,
//     exit 5), not a bad token;
//  3. verify the signature with those keys, then `iss` (exact), `aud`
//     (contains ClientID);
//  4. check exp, iat and nbf with IDTokenLeeway of skew;
//  5. require `azp` when there are several audiences, check it if present,
//     and `nonce` (in constant time) if one was sent.
//
// Failures are *IDTokenError, or an *UnavailableError for the key fetch.
func VerifyIDToken(ctx context.Context, client *http.Client, raw string, c IDTokenCheck) (*IDClaims, error) {
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	if c.JWKSURL == "" {
		return nil, &IDTokenError{Reason: errNoJWKS.Error()}
	}
	if err := CheckEndpointURL(c.JWKSURL); err != nil {
		return nil, fmt.Errorf("%w: jwks_url %s", ErrConfig, err)
	}
	unverified, err := peekClaims(raw)
	if err != nil {
		return nil, &IDTokenError{Reason: err.Error()}
	}
	issuer := c.Issuer
	if strings.Contains(issuer, TenantIDPlaceholder) {
		if !validTenantID(unverified.TenantID) {
			return nil, &IDTokenError{Reason: "no valid tid claim to complete the multi-tenant issuer " + issuer}
		}
		issuer = strings.ReplaceAll(issuer, TenantIDPlaceholder, unverified.TenantID)
	}

	keys, err := fetchSigningKeys(ctx, client, c.JWKSURL)
	if err != nil {
		return nil, err
	}
	verifier := oidc.NewVerifier(issuer, keys, &oidc.Config{
		ClientID:             c.ClientID,
		SupportedSigningAlgs: signingAlgs,
		SkipExpiryCheck:      true, // checked below, with leeway on every claim
	})
	tok, err := verifier.Verify(ctx, raw)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &IDTokenError{Reason: Sanitize(strings.TrimPrefix(err.Error(), "oidc: "), 300)}
	}
	var claims struct {
		Email             string      `json:"email"`
		PreferredUsername string      `json:"preferred_username"`
		Name              string      `json:"name"`
		TenantID          string      `json:"tid"`
		AuthorizedParty   string      `json:"azp"`
		NotBefore         json.Number `json:"nbf"`
	}
	if err := tok.Claims(&claims); err != nil {
		return nil, &IDTokenError{Reason: "unreadable claims"}
	}
	t := now()
	switch {
	case tok.Expiry.IsZero():
		return nil, &IDTokenError{Reason: "no exp claim"}
	case t.After(tok.Expiry.Add(IDTokenLeeway)):
		return nil, &IDTokenError{Clock: true, Reason: fmt.Sprintf("expired at %s (now %s)",
			tok.Expiry.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))}
	case tok.IssuedAt.IsZero():
		return nil, &IDTokenError{Reason: "no iat claim"}
	case tok.IssuedAt.After(t.Add(IDTokenLeeway)):
		return nil, &IDTokenError{Clock: true, Reason: fmt.Sprintf("issued in the future, at %s (now %s)",
			tok.IssuedAt.UTC().Format(time.RFC3339), t.UTC().Format(time.RFC3339))}
	}
	if claims.NotBefore != "" {
		if nbf, err := claims.NotBefore.Float64(); err == nil && time.Unix(int64(nbf), 0).After(t.Add(IDTokenLeeway)) {
			return nil, &IDTokenError{Clock: true, Reason: "not valid yet (nbf in the future)"}
		}
	}
	// OIDC Core §3.1.3.7 (3)-(5): aud contains our client ID (go-oidc checked
	// that); a token with several audiences must name the party it was
	// issued to in azp, and azp, when present, must be us. A multi-audience
	// token without azp could have been issued to any of the others and
	// replayed here (docs/security.md §4.4).
	if len(tok.Audience) > 1 && claims.AuthorizedParty == "" {
		return nil, &IDTokenError{Reason: "several audiences and no azp claim naming this client"}
	}
	if claims.AuthorizedParty != "" && claims.AuthorizedParty != c.ClientID {
		return nil, &IDTokenError{Reason: "issued to another client (azp)"}
	}
	if c.Nonce != "" && subtle.ConstantTimeCompare([]byte(tok.Nonce), []byte(c.Nonce)) != 1 {
		return nil, &IDTokenError{Reason: "nonce does not match the sign-in request (replayed token?)"}
	}
	if tok.Subject == "" {
		return nil, &IDTokenError{Reason: "no sub claim"}
	}
	return &IDClaims{
		Issuer:            tok.Issuer,
		Subject:           tok.Subject,
		Email:             Sanitize(claims.Email, 200),
		PreferredUsername: Sanitize(claims.PreferredUsername, 200),
		Name:              Sanitize(claims.Name, 200),
		TenantID:          claims.TenantID,
		Expiry:            tok.Expiry,
	}, nil
}

// peekClaims decodes the payload of a JWS without verifying it, for the one
// claim needed before verification (Entra's tid). Nothing read here is
// trusted until VerifyIDToken has checked the signature.
func peekClaims(raw string) (*IDClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, errors.New("not a signed JWT")
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	if err != nil {
		return nil, errors.New("payload is not base64url")
	}
	var c struct {
		TenantID string `json:"tid"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, errors.New("payload is not a JSON object")
	}
	return &IDClaims{TenantID: c.TenantID}, nil
}

// fetchSigningKeys reads the provider's JWK Set (RFC 7517 §5) with client,
// through the body cap. It replaces go-oidc's remote key set, which reads
// the body without a bound and reports every fetch failure as "failed to
// verify signature" (a bad token, exit 3) when it is the provider's problem
// (exit 5). Keys of types or algorithms this program cannot use are skipped
// as RFC 7517 §5 asks; a set with no usable key is a malformed answer.
func fetchSigningKeys(ctx context.Context, client *http.Client, jwksURL string) (oidc.KeySet, error) {
	const what = "fetching the provider's signing keys (jwks_url)"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, jwksURL, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: jwks_url is not a valid URL", ErrConfig)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{Msg: what + ": " + describeNetErr(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := readBody(resp, what)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, &UnavailableError{Msg: fmt.Sprintf("%s: HTTP %d", what, resp.StatusCode), Status: resp.StatusCode, RetryAfter: retryAfter(resp)}
	}
	keys, err := parseJWKS(body)
	if err != nil {
		return nil, &UnavailableError{Msg: what + ": " + err.Error()}
	}
	return jwksKeySet{keys}, nil
}

// jwksKeySet words a signature failure for a person.
type jwksKeySet struct{ keys *oidc.StaticKeySet }

func (k jwksKeySet) VerifySignature(ctx context.Context, jwt string) ([]byte, error) {
	payload, err := k.keys.VerifySignature(ctx, jwt)
	if err != nil {
		return nil, errors.New("no key in the provider's JWKS verifies it")
	}
	return payload, nil
}

// parseJWKS decodes a JWK Set and keeps the public signature keys that
// signingAlgs can use.
func parseJWKS(body []byte) (*oidc.StaticKeySet, error) {
	var set struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, errors.New("not a JWK Set")
	}
	ks := &oidc.StaticKeySet{}
	for _, raw := range set.Keys {
		var k jose.JSONWebKey
		if json.Unmarshal(raw, &k) != nil || !k.Valid() || k.Use == "enc" {
			continue
		}
		switch pub := k.Public().Key.(type) {
		case *rsa.PublicKey, *ecdsa.PublicKey, ed25519.PublicKey:
			ks.PublicKeys = append(ks.PublicKeys, pub)
		}
	}
	if len(ks.PublicKeys) == 0 {
		return nil, errors.New("the JWK Set has no usable signing key")
	}
	return ks, nil
}
