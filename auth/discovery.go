package auth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
)

// Metadata is the part of an OpenID Provider's discovery document (OIDC
// Discovery §3, RFC 8414 §2) that oauthctl uses.
type Metadata struct {
	Issuer                string `json:"issuer"`
	AuthorizationEndpoint string `json:"authorization_endpoint"`
	TokenEndpoint         string `json:"token_endpoint"`
	DeviceEndpoint        string `json:"device_authorization_endpoint"`
	RevocationEndpoint    string `json:"revocation_endpoint"`
	UserinfoEndpoint      string `json:"userinfo_endpoint"`
	JWKSURI               string `json:"jwks_uri"`

	CodeChallengeMethods []string `json:"code_challenge_methods_supported"`
	TokenAuthMethods     []string `json:"token_endpoint_auth_methods_supported"`
	// IssParameterSupported is RFC 9207's flag: the provider puts `iss` in
	// every authorization response, so a response without one is refused.
	IssParameterSupported bool `json:"authorization_response_iss_parameter_supported"`
}

// Discover fetches issuer's OpenID Provider configuration from
// {issuer}/.well-known/openid-configuration with client. The document is
// used only if its `issuer` equals the configured issuer exactly (OIDC
// Discovery §4.3, RFC 8414 §3.3): a document that names another issuer could
// point codes and tokens anywhere. Every endpoint it lists must be https (or
// http on a loopback host). Errors: ErrConfig for an issuer that is not a
// URL, a mismatched issuer or an endpoint that is not https; ErrUnavailable
// for network failures, non-200 answers and malformed documents.
func Discover(ctx context.Context, client *http.Client, issuer string) (*Metadata, error) {
	if strings.Contains(issuer, TenantIDPlaceholder) {
		return nil, fmt.Errorf("%w: the multi-tenant issuer %s cannot be discovered", ErrConfig, issuer)
	}
	if err := CheckEndpointURL(issuer); err != nil {
		return nil, fmt.Errorf("%w: issuer %s", ErrConfig, err)
	}
	wellKnown := strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, wellKnown, nil)
	if err != nil {
		return nil, fmt.Errorf("%w: issuer is not a valid URL", ErrConfig)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := CapBodies(client).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, &UnavailableError{Msg: "discovery: " + describeNetErr(err), Err: err}
	}
	defer resp.Body.Close()
	body, err := readBody(resp, "discovery")
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		msg := fmt.Sprintf("discovery: %s answered HTTP %d", Sanitize(wellKnown, 200), resp.StatusCode)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			msg += " (redirects are not followed)"
		}
		return nil, &UnavailableError{Msg: msg, Status: resp.StatusCode, RetryAfter: retryAfter(resp)}
	}
	var md Metadata
	if err := json.Unmarshal(body, &md); err != nil {
		return nil, &UnavailableError{Msg: "discovery: malformed document from " + Sanitize(wellKnown, 200)}
	}
	if md.Issuer != issuer {
		return nil, fmt.Errorf("%w: discovery document of %s names issuer %q; it must be identical (check `issuer` in providers.yaml)",
			ErrConfig, issuer, Sanitize(md.Issuer, 200))
	}
	for _, f := range []struct{ name, val string }{
		{"authorization_endpoint", md.AuthorizationEndpoint}, {"token_endpoint", md.TokenEndpoint},
		{"device_authorization_endpoint", md.DeviceEndpoint}, {"revocation_endpoint", md.RevocationEndpoint},
		{"userinfo_endpoint", md.UserinfoEndpoint}, {"jwks_uri", md.JWKSURI},
	} {
		if f.val == "" {
			continue
		}
		if err := CheckEndpointURL(f.val); err != nil {
			return nil, fmt.Errorf("%w: the discovery document's %s %s", ErrConfig, f.name, err)
		}
	}
	return &md, nil
}

// ResolveEndpoints returns a copy of p with the endpoints it lacks filled in
// from discovery, and the discovery document (nil when none was fetched).
// Discovery runs only for entries that need it (a user entry with just an
// `issuer`, p.NeedsDiscovery); endpoints the entry names itself are kept.
// The token endpoint (and, for the browser login, the authorization
// endpoint) must be known afterwards.
func ResolveEndpoints(ctx context.Context, client *http.Client, p *Provider) (*Provider, *Metadata, error) {
	cp := *p
	cp.Scopes = slices.Clone(p.Scopes)
	if !p.NeedsDiscovery {
		return &cp, nil, nil
	}
	md, err := Discover(ctx, client, p.Issuer)
	if err != nil {
		// Discover's errors start with "discovery: ".
		return nil, nil, fmt.Errorf("cannot find %s's endpoints: %w", p.Name, err)
	}
	fill := func(dst *string, v string) {
		if *dst == "" {
			*dst = v
		}
	}
	fill(&cp.AuthURL, md.AuthorizationEndpoint)
	fill(&cp.TokenURL, md.TokenEndpoint)
	fill(&cp.DeviceAuthURL, md.DeviceEndpoint)
	fill(&cp.RevocationURL, md.RevocationEndpoint)
	fill(&cp.UserinfoURL, md.UserinfoEndpoint)
	fill(&cp.JWKSURL, md.JWKSURI)
	cp.NeedsDiscovery = false
	if cp.TokenURL == "" {
		return nil, nil, fmt.Errorf("%w: %s's discovery document has no token_endpoint", ErrConfig, p.Name)
	}
	if cp.Grant == GrantAuthorizationCode && cp.AuthURL == "" {
		return nil, nil, fmt.Errorf("%w: %s's discovery document has no authorization_endpoint", ErrConfig, p.Name)
	}
	return &cp, md, nil
}

// errNoJWKS means neither the provider entry nor discovery names a JWKS URL.
var errNoJWKS = errors.New("no jwks_url to verify the ID token's signature with")
