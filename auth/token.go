package auth

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/internal/oauthval"
)

// Token is a token response as oauthctl keeps it. It never goes to a log or
// an error; tests print it only through its fields.
type Token struct {
	AccessToken  string
	RefreshToken string
	IDToken      string
	TokenType    string
	// Expiry is the absolute expiry (receipt time + expires_in), zero when
	// the provider did not say.
	Expiry time.Time
	// Lifetime is expires_in as granted (bounded by MaxLifetime), zero when
	// the provider did not say: Expiry - Lifetime is the receipt time.
	Lifetime time.Duration
	// RefreshExpiry is receipt time + refresh_token_expires_in (Google,
	// GitHub), zero when unknown.
	RefreshExpiry time.Time
	// Scopes are the granted scopes from the response's `scope`, or nil when
	// the response did not list them (RFC 6749 §5.1: then they equal the
	// requested ones).
	Scopes []string
	// ClientAuth is the client authentication the token endpoint accepted
	// for this token, for the caller to remember for the account.
	ClientAuth ClientAuth
}

// FromOAuth2 converts an x/oauth2 token, reading the extra fields that
// oauthctl keeps: id_token, scope, refresh_token_expires_in. It checks the
// token type: only Bearer tokens are usable by `Authorization: Bearer`
// (RFC 6749 §7.1); a DPoP or unknown type is rejected.
func FromOAuth2(t *oauth2.Token, now time.Time) (*Token, error) {
	if t == nil || t.AccessToken == "" {
		return nil, fmt.Errorf("%w: malformed token response: no access_token", ErrUnavailable)
	}
	tt := t.TokenType
	if tt == "" {
		tt = "Bearer"
	}
	if !strings.EqualFold(tt, "bearer") {
		return nil, fmt.Errorf("%w: unsupported token_type %q (only Bearer tokens are supported)", ErrUnavailable, Sanitize(tt, 40))
	}
	for _, f := range []struct {
		name, val string
		spaceOK   bool
	}{
		{"access_token", t.AccessToken, false},
		{"refresh_token", t.RefreshToken, true},
		{"id_token", stringExtra(t, "id_token"), false},
	} {
		if !tokenChars(f.val, f.spaceOK) {
			return nil, &UnavailableError{Msg: "the provider returned a malformed token (" + f.name +
				" has characters outside visible ASCII); nothing was stored"}
		}
	}
	out := &Token{
		AccessToken:  t.AccessToken,
		RefreshToken: t.RefreshToken,
		TokenType:    "Bearer",
		Expiry:       t.Expiry.UTC(),
	}
	// Expiry is receipt time + expires_in on the caller's clock (the one that
	// later judges it), not x/oauth2's time.Now: a skewed or injected clock
	// then cannot make a fresh token look expired (docs/security.md §4.2).
	// x/oauth2 clamps a huge expires_in to 2^31 s and keeps a negative one
	// (an expiry in the past), so the raw value is read again and bounded:
	// a lifetime that is not positive is "not said" (zero Expiry), one
	// above MaxLifetime is MaxLifetime.
	if in, ok := lifetime(t.Extra("expires_in")); ok {
		out.Expiry = time.Time{}
		if in > 0 {
			out.Expiry, out.Lifetime = now.Add(in).UTC(), in
		}
	} else if t.ExpiresIn > 0 {
		out.Lifetime = min(time.Duration(min(t.ExpiresIn, maxLifetimeSeconds))*time.Second, MaxLifetime)
		out.Expiry = now.Add(out.Lifetime).UTC()
	}
	if id, ok := t.Extra("id_token").(string); ok {
		out.IDToken = id
	}
	if s, ok := t.Extra("scope").(string); ok && strings.TrimSpace(s) != "" {
		out.Scopes = splitScopes(s)
	}
	if rtx, ok := lifetime(t.Extra("refresh_token_expires_in")); ok && rtx > 0 {
		out.RefreshExpiry = now.Add(rtx).UTC()
	}
	return out, nil
}

// tokenChars is oauthval.TokenChars (the rule and why are there).
func tokenChars(s string, spaceOK bool) bool { return oauthval.TokenChars(s, spaceOK) }

// WellFormedToken reports whether an access or ID token may be printed or
// put in a header: visible ASCII without spaces (see tokenChars). Tokens are
// checked when they arrive; this is for ones stored by an older oauthctl.
func WellFormedToken(s string) bool { return oauthval.WellFormedToken(s) }

func stringExtra(t *oauth2.Token, key string) string {
	s, _ := t.Extra(key).(string)
	return s
}

// splitScopes splits a scope string on spaces; GitHub separates with commas.
func splitScopes(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ' ' || r == ',' })
}

// MaxLifetime bounds the lifetime a token response may claim (expires_in,
// refresh_token_expires_in): one year. A larger value is read as one year, so
// that 1e19 s can neither overflow time.Duration (about 292 years) nor wrap
// into an expiry in the past; the worst case is a refresh once a year.
const MaxLifetime = 365 * 24 * time.Hour

const maxLifetimeSeconds = int64(MaxLifetime / time.Second)

// lifetime reads a lifetime in seconds from a decoded token response field
// (a JSON number, or a numeric string as PayPal sends), bounded to
// [0, MaxLifetime]; a negative value is 0. ok is false when the field is
// absent or not a number.
func lifetime(v any) (d time.Duration, ok bool) {
	var f float64
	switch n := v.(type) {
	case float64:
		f = n
	case json.Number:
		var err error
		if f, err = n.Float64(); err != nil {
			return 0, false
		}
	case string:
		var err error
		if f, err = strconv.ParseFloat(strings.TrimSpace(n), 64); err != nil {
			return 0, false
		}
	default:
		return 0, false
	}
	switch {
	case math.IsNaN(f):
		return 0, false
	case f <= 0:
		return 0, true
	case f >= float64(maxLifetimeSeconds):
		return MaxLifetime, true
	}
	return time.Duration(f * float64(time.Second)), true
}

// numberExtra reads a whole number from a decoded response field, saturating
// at the int64 range (a float64 conversion beyond it is undefined in Go).
func numberExtra(v any) int64 {
	switch n := v.(type) {
	case float64:
		switch {
		case math.IsNaN(n):
			return 0
		case n >= math.MaxInt64:
			return math.MaxInt64
		case n <= math.MinInt64:
			return math.MinInt64
		}
		return int64(n)
	case string:
		var i int64
		if _, err := fmt.Sscanf(n, "%d", &i); err == nil {
			return i
		}
	}
	return 0
}

// ClassifyTokenError turns an error from a token-endpoint call into one that
// is safe to print and that the cmd package can map to an exit code:
//   - an OAuth error response becomes a *ProviderError (raw body dropped:
//     x/oauth2's RetrieveError embeds up to 1 MiB of it);
//   - a 4xx other than 429 without an OAuth error body becomes a
//     *ProviderError with an empty Code and the status;
//   - 5xx, 429, timeouts, TLS and network failures match ErrUnavailable;
//   - anything else (non-JSON 200, 3xx not followed) matches ErrUnavailable
//     with a short, sanitized status line.
func ClassifyTokenError(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.Canceled) {
		return err
	}
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		status := 0
		if re.Response != nil {
			status = re.Response.StatusCode
		}
		if re.ErrorCode != "" {
			pe := &ProviderError{Code: Sanitize(re.ErrorCode, 64), Description: Sanitize(re.ErrorDescription, 200), Status: status}
			if status >= 500 || status == http.StatusTooManyRequests || re.ErrorCode == "temporarily_unavailable" || re.ErrorCode == "server_error" {
				return &UnavailableError{Msg: "token endpoint: " + pe.Error(), Err: pe, RetryAfter: retryAfter(re.Response)}
			}
			return pe
		}
		body := Sanitize(string(re.Body), 200)
		if status >= 400 && status < 500 && status != http.StatusTooManyRequests {
			// A refusal without an OAuth error body (RFC 6749 §5.2 wants
			// one): the request was answered, so this is no outage.
			return &ProviderError{Description: body, Status: status}
		}
		msg := fmt.Sprintf("token endpoint answered HTTP %d", status)
		if status >= 300 && status < 400 && re.Response != nil {
			msg += " (redirect to " + Sanitize(re.Response.Header.Get("Location"), 100) + " not followed)"
		} else if body != "" {
			msg += ": " + body
		}
		return &UnavailableError{Msg: msg, RetryAfter: retryAfter(re.Response), Status: status}
	}
	return &UnavailableError{Msg: describeNetErr(err), Err: err}
}

// UnavailableError is a provider or network failure (exit 5), possibly
// transient. RetryAfter is the provider's Retry-After, if it sent one.
type UnavailableError struct {
	Msg        string
	Status     int
	RetryAfter time.Duration
	Err        error
}

func (e *UnavailableError) Error() string { return e.Msg }

// Unwrap returns the underlying error.
func (e *UnavailableError) Unwrap() error { return e.Err }

// Is makes every UnavailableError match ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }

func retryAfter(resp *http.Response) time.Duration {
	if resp == nil {
		return 0
	}
	v := resp.Header.Get("Retry-After")
	if v == "" {
		return 0
	}
	var secs int
	if _, err := fmt.Sscanf(v, "%d", &secs); err == nil && secs >= 0 {
		return time.Duration(secs) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil {
		if d := time.Until(t); d > 0 {
			return d
		}
	}
	return 0
}

// describeNetErr names a transport failure without echoing URLs that could
// carry proxy credentials.
func describeNetErr(err error) string {
	var (
		ue      *url.Error
		cve     *tls.CertificateVerificationError
		uae     x509.UnknownAuthorityError
		hostErr x509.HostnameError
		ne      net.Error
		dnsErr  *net.DNSError
		opErr   *net.OpError
	)
	switch {
	case errors.As(err, &cve), errors.As(err, &uae), errors.As(err, &hostErr):
		return "TLS certificate not trusted (an intercepting proxy? set SSL_CERT_FILE to its CA): " + Sanitize(innermost(err).Error(), 200)
	case errors.As(err, &dnsErr):
		return "cannot resolve " + Sanitize(dnsErr.Name, 100) + " (offline?)"
	case errors.As(err, &ne) && ne.Timeout():
		return "the provider did not answer in time"
	case errors.As(err, &opErr):
		return "cannot reach the provider: " + Sanitize(opErr.Err.Error(), 120)
	case errors.As(err, &ue):
		return "request to the provider failed: " + Sanitize(innermost(err).Error(), 200)
	}
	return "request to the provider failed: " + Sanitize(err.Error(), 200)
}

func innermost(err error) error {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err
		}
		err = next
	}
}
