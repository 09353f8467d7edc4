package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
)

// UserInfo is what a provider's userinfo endpoint says about the signed-in
// user: OIDC claims (OIDC Core §5.3), or GitHub's /user object.
type UserInfo struct {
	// Raw is the JSON object exactly as the provider sent it.
	Raw json.RawMessage
	// Claims is Raw decoded.
	Claims map[string]any
}

// ErrNoUserinfo means the provider has no userinfo endpoint configured.
var ErrNoUserinfo = errors.New("the provider has no userinfo endpoint")

// FetchUserInfo calls p's userinfo endpoint (OIDC userinfo, or GitHub's
// /user API) with accessToken as a Bearer token. Its errors:
//   - 401 and 403 match ErrReauthRequired: the token was revoked, or lacks
//     the scope the endpoint needs;
//   - 5xx, 429, transport failures and a response that is not a JSON object
//     match ErrUnavailable;
//   - other statuses are plain errors naming the status.
//
// Provider text in errors is sanitized; the token never appears.
func FetchUserInfo(ctx context.Context, client *http.Client, p *Provider, accessToken string) (*UserInfo, error) {
	if p.UserinfoURL == "" {
		return nil, ErrNoUserinfo
	}
	if err := CheckEndpointURL(p.UserinfoURL); err != nil {
		return nil, fmt.Errorf("%w: userinfo_url %s", ErrConfig, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.UserinfoURL, nil)
	if err != nil {
		return nil, fmt.Errorf("userinfo request: %w", ErrConfig)
	}
	req.Header.Set("Authorization", "Bearer "+accessToken)
	req.Header.Set("Accept", "application/json")
	if p.GrantRevocationURL != "" { // GitHub's REST API
		req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	}
	resp, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{Msg: "userinfo: " + describeNetErr(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := readBody(resp, "userinfo")
	if err != nil {
		return nil, err
	}
	switch s := resp.StatusCode; {
	case s == http.StatusUnauthorized || s == http.StatusForbidden:
		msg := fmt.Sprintf("the provider refused the access token at its userinfo endpoint (HTTP %d", s)
		if code := bearerErrorCode(resp.Header.Get("WWW-Authenticate")); code != "" {
			msg += ", " + code
		}
		return nil, fmt.Errorf("%w: %s)", ErrReauthRequired, msg)
	case s >= 500 || s == http.StatusTooManyRequests:
		return nil, &UnavailableError{Msg: fmt.Sprintf("userinfo endpoint answered HTTP %d", s), Status: s, RetryAfter: retryAfter(resp)}
	case s < 200 || s > 299:
		return nil, fmt.Errorf("userinfo endpoint answered HTTP %d", s)
	}
	if ct, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); ct == "application/jwt" {
		return nil, &UnavailableError{Msg: "userinfo endpoint answered with a signed JWT, which oauthctl does not support"}
	}
	trimmed := bytes.TrimSpace(body)
	claims := map[string]any{}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	dec.UseNumber()
	if len(trimmed) == 0 || trimmed[0] != '{' || dec.Decode(&claims) != nil {
		return nil, &UnavailableError{Msg: "malformed userinfo response: not a JSON object"}
	}
	return &UserInfo{Raw: json.RawMessage(trimmed), Claims: claims}, nil
}

// bearerErrorCode extracts error="..." from a WWW-Authenticate: Bearer
// challenge (RFC 6750 §3), sanitized.
func bearerErrorCode(h string) string {
	i := strings.Index(h, `error="`)
	if i < 0 {
		return ""
	}
	rest := h[i+len(`error="`):]
	if j := strings.IndexByte(rest, '"'); j >= 0 {
		return Sanitize(rest[:j], 40)
	}
	return ""
}

// String returns claim name as text: strings as they are, numbers in
// decimal (GitHub's numeric id), "" for anything else. The value is
// sanitized for the terminal.
func (u *UserInfo) String(name string) string {
	switch v := u.Claims[name].(type) {
	case string:
		return Sanitize(v, 200)
	case json.Number:
		if _, err := strconv.ParseInt(v.String(), 10, 64); err == nil {
			return v.String()
		}
	}
	return ""
}

// Subject is the user's stable identifier: the OIDC `sub`, else GitHub's
// numeric `id`.
func (u *UserInfo) Subject() string {
	if s := u.String("sub"); s != "" {
		return s
	}
	return u.String("id")
}

// Identity is the human name of the account, as oauthctl names accounts by
// default: email, else preferred_username, else GitHub's login, else the
// subject.
func (u *UserInfo) Identity() string {
	for _, c := range []string{"email", "preferred_username", "login"} {
		if s := u.String(c); s != "" {
			return s
		}
	}
	return u.Subject()
}
