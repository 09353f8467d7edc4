package auth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/clock"
)

// ClientCreds authenticate oauthctl as an OAuth client at a provider
// endpoint. Secret is empty for a public client, which then sends only its
// client_id (RFC 6749 §2.3, RFC 7009 §2.1).
type ClientCreds struct {
	ID     string
	Secret string
	// Auth is the account's client authentication (ChooseClientAuth);
	// ClientAuthAuto decides from the provider entry, and then tries HTTP
	// Basic before the form.
	Auth ClientAuth
}

// Token type hints of a revocation request (RFC 7009 §2.1).
const (
	HintRefreshToken = "refresh_token"
	HintAccessToken  = "access_token"
)

// ErrNoRevocationEndpoint means the provider publishes no way to revoke a
// token (Entra ID), or none that fits the token (GitHub cannot revoke a
// single refresh token).
var ErrNoRevocationEndpoint = errors.New("the provider has no token revocation endpoint")

// revokeMaxRetryAfter bounds how long a revocation honours a 503's Retry-After:
// logout should not hang on a provider that asks for minutes.
const revokeMaxRetryAfter = 5 * time.Second

// revokeRetryDefault is the pause before the one retry of a 503 that sent no
// Retry-After.
const revokeRetryDefault = time.Second

// Revoke asks p's RFC 7009 revocation endpoint to revoke one token, with
// client authentication. hint is HintRefreshToken, HintAccessToken or "".
// Its steps:
//  1. POST token and token_type_hint with the client's credentials the
//     account's way (creds.Auth, else ChooseClientAuth: the entry's
//     token_endpoint_auth_method; a public client sends only client_id);
//  2. when the method is unknown, HTTP Basic first (client_secret_basic,
//     which every server must support, RFC 6749 §2.3.1) and, if the server
//     answers invalid_client or 401, once more with the secret in the form;
//  3. on 503, wait for Retry-After (at most 5 s, 1 s without the header)
//     and retry once (RFC 7009 §2.2.1).
//
// Any 2xx is success, even for a token the server does not know (RFC 7009
// §2.2). An OAuth error answer is a *ProviderError (unsupported_token_type
// among them: the caller may then revoke the access token instead); 5xx, 429
// and transport failures match ErrUnavailable. Errors never carry the token
// or the secret. A provider without an endpoint gives ErrNoRevocationEndpoint.
func Revoke(ctx context.Context, client *http.Client, p *Provider, creds ClientCreds, token, hint string) error {
	if p.RevocationURL == "" {
		return ErrNoRevocationEndpoint
	}
	if err := CheckEndpointURL(p.RevocationURL); err != nil {
		return fmt.Errorf("%w: revocation_url %s", ErrConfig, err)
	}
	if token == "" {
		return errors.New("revoking a token: the token is empty")
	}
	// The same choice as at the token endpoint (ChooseClientAuth): the
	// built-in presets take the secret in the form (Google and GitHub
	// refuse HTTP Basic), an unknown method gets Basic first.
	method := creds.Auth
	if method == ClientAuthAuto || creds.Secret == "" {
		method = ChooseClientAuth(p, creds.Secret, nil, creds.Auth)
	}
	probe := method == ClientAuthAuto
	if probe {
		method = ClientAuthBasic
	}
	retried503 := false
	for {
		wait, err := postRevocation(ctx, client, p.RevocationURL, creds, token, hint, method)
		var pe *ProviderError
		var ue *UnavailableError
		switch {
		case probe && errors.As(err, &pe) && (pe.Code == "invalid_client" || pe.Status == http.StatusUnauthorized && pe.Code == ""):
			method, probe = ClientAuthPost, false
			continue
		case !retried503 && errors.As(err, &ue) && ue.Status == http.StatusServiceUnavailable:
			if wait > revokeMaxRetryAfter {
				return err
			}
			retried503 = true
			if err := clock.Sleep(ctx, wait); err != nil {
				return err
			}
			continue
		}
		return err
	}
}

// postRevocation sends one revocation request. For a 503 it also returns
// how long to wait before a retry: the Retry-After, or revokeRetryDefault
// without one.
func postRevocation(ctx context.Context, client *http.Client, endpoint string, creds ClientCreds, token, hint string, method ClientAuth) (time.Duration, error) {
	form := url.Values{"token": {token}}
	if hint != "" {
		form.Set("token_type_hint", hint)
	}
	basic := method == ClientAuthBasic
	if !basic {
		form.Set("client_id", creds.ID)
		if method == ClientAuthPost {
			form.Set("client_secret", creds.Secret)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, strings.NewReader(form.Encode()))
	if err != nil {
		return 0, fmt.Errorf("revocation request: %w", ErrConfig)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if basic {
		// RFC 6749 §2.3.1: both parts are form-encoded before Base64.
		req.SetBasicAuth(url.QueryEscape(creds.ID), url.QueryEscape(creds.Secret))
	}
	resp, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, &UnavailableError{Msg: "revocation endpoint: " + describeNetErr(err), Err: err}
	}
	defer resp.Body.Close()
	body, rerr := readBody(resp, "revocation endpoint")
	if resp.StatusCode >= 200 && resp.StatusCode < 300 {
		return 0, nil // the status decides (RFC 7009 §2.2); the body is not needed
	}
	if rerr != nil {
		return 0, rerr
	}
	wait := revokeRetryDefault
	if resp.Header.Get("Retry-After") != "" {
		wait = retryAfter(resp)
	}
	return wait, revocationError("revocation endpoint", resp, body)
}

// revocationError classifies a failed revocation answer.
func revocationError(what string, resp *http.Response, body []byte) error {
	status := resp.StatusCode
	var oe struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Message     string `json:"message"` // GitHub's API errors
	}
	_ = json.Unmarshal(body, &oe)
	if status >= 500 || status == http.StatusTooManyRequests {
		msg := fmt.Sprintf("%s answered HTTP %d", what, status)
		if oe.Error != "" {
			msg += " (" + Sanitize(oe.Error, 64) + ")"
		}
		return &UnavailableError{Msg: msg, Status: status, RetryAfter: retryAfter(resp)}
	}
	if oe.Error != "" || status == http.StatusUnauthorized {
		return &ProviderError{Code: Sanitize(oe.Error, 64), Description: Sanitize(oe.Description, 200), Status: status}
	}
	msg := fmt.Sprintf("%s answered HTTP %d", what, status)
	switch {
	case status >= 300 && status < 400:
		msg += " (redirect to " + Sanitize(resp.Header.Get("Location"), 100) + " not followed)"
	case oe.Message != "":
		msg += ": " + Sanitize(oe.Message, 200)
	case len(body) > 0 && !bytes.HasPrefix(bytes.TrimSpace(body), []byte("<")):
		msg += ": " + Sanitize(string(body), 200)
	}
	return errors.New(msg)
}

// RevokeGrant revokes what a logout leaves behind at the provider. Its steps:
//  1. with an RFC 7009 endpoint: the refresh token (hint refresh_token),
//     which revokes the whole grant on most servers; if the server answers
//     unsupported_token_type, or there is no refresh token, the access token
//     instead; after a revoked refresh token, the access token too, since
//     RFC 7009 §2.1 only says a server SHOULD revoke it along, except when
//     p.RevocationRevokesGrant says the grant is already gone (Google,
//     which answers invalid_token for the dead access token); an
//     invalid_token answer for the access token after a revoked refresh
//     token counts as success too;
//  2. without one but with a grant revocation URL (GitHub): delete the
//     app's grant for the user with the access token;
//  3. neither: ErrNoRevocationEndpoint.
//
// It returns nil only when the provider confirmed every revocation.
func RevokeGrant(ctx context.Context, client *http.Client, p *Provider, creds ClientCreds, refreshToken, accessToken string) error {
	switch {
	case p.RevocationURL != "":
	case p.GrantRevocationURL != "":
		if accessToken == "" {
			return errors.New("no access token is stored to identify the grant")
		}
		return DeleteGitHubGrant(ctx, client, p, creds, accessToken)
	default:
		return ErrNoRevocationEndpoint
	}
	rtRevoked := false
	if refreshToken != "" {
		err := Revoke(ctx, client, p, creds, refreshToken, HintRefreshToken)
		var pe *ProviderError
		switch {
		case errors.As(err, &pe) && pe.Code == "unsupported_token_type":
			// The server revokes only access tokens (RFC 7009 §2.2.1).
		case err != nil:
			return fmt.Errorf("revoking the refresh token: %w", err)
		case p.RevocationRevokesGrant:
			return nil // the whole grant is gone, the access token with it
		default:
			rtRevoked = true
		}
	}
	if accessToken == "" {
		return nil
	}
	err := Revoke(ctx, client, p, creds, accessToken, HintAccessToken)
	var pe *ProviderError
	if rtRevoked && errors.As(err, &pe) && pe.Code == "invalid_token" {
		// The server revoked the access token along with the refresh token
		// (RFC 7009 §2.1) and no longer knows it.
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoking the access token: %w", err)
	}
	return nil
}

// DeleteGitHubGrant deletes the OAuth app's authorization for the user that
// accessToken belongs to (GitHub REST API: DELETE
// /applications/{client_id}/grant, HTTP Basic with the client ID and
// secret). This revokes every token of that app for that user, on every
// machine: GitHub has no RFC 7009 endpoint and no way to revoke a single
// refresh token. 204 is success.
func DeleteGitHubGrant(ctx context.Context, client *http.Client, p *Provider, creds ClientCreds, accessToken string) error {
	if p.GrantRevocationURL == "" {
		return ErrNoRevocationEndpoint
	}
	if creds.Secret == "" {
		return fmt.Errorf("deleting the grant needs the client secret (set %s or run: oauthctl client set %s)", ClientSecretEnv(p.Name), p.Name)
	}
	endpoint := strings.ReplaceAll(p.GrantRevocationURL, "{client_id}", url.PathEscape(creds.ID))
	if err := CheckEndpointURL(endpoint); err != nil {
		return fmt.Errorf("%w: grant_revocation_url %s", ErrConfig, err)
	}
	body, _ := json.Marshal(map[string]string{"access_token": accessToken})
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, endpoint, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("grant revocation request: %w", ErrConfig)
	}
	req.Header.Set("Accept", "application/vnd.github+json")
	req.Header.Set("X-GitHub-Api-Version", "2022-11-28")
	req.Header.Set("Content-Type", "application/json")
	req.SetBasicAuth(creds.ID, creds.Secret)
	resp, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return &UnavailableError{Msg: "grant revocation: " + describeNetErr(err), Err: err}
	}
	defer resp.Body.Close()
	data, rerr := readBody(resp, "grant revocation")
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode == http.StatusNotFound:
		// GitHub answers 404 both for an unknown grant and for wrong client
		// credentials, so it cannot count as success.
		return errors.New("GitHub found no such grant (already revoked, or the client ID or secret is wrong)")
	case resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("GitHub refused the client credentials (HTTP %d)", resp.StatusCode)
	case rerr != nil:
		return rerr
	}
	return revocationError("grant revocation", resp, data)
}
