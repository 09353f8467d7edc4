package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// Identity is who a login signed in as. Subject (with Issuer) is the stable
// key of the account (OIDC Core §5.7: never the email); the other fields are
// for people.
type Identity struct {
	// Issuer is the ID token's issuer (the concrete tenant's for Entra ID),
	// empty for a provider without ID tokens.
	Issuer  string
	Subject string
	Email   string
	// PreferredUsername is OIDC's preferred_username (Entra's UPN, GitLab's
	// username).
	PreferredUsername string
	// Login is GitHub's user name.
	Login string
	Name  string
	// Note is a non-fatal problem met while finding the identity (the
	// userinfo endpoint failed), for the caller to show as a warning.
	Note string
}

// Display is the name oauthctl gives the account by default: the email,
// else preferred_username, else the login, else the subject; "" when the
// provider said nothing about the user.
func (i *Identity) Display() string {
	if i == nil {
		return ""
	}
	for _, s := range []string{i.Email, i.PreferredUsername, i.Login, i.Subject} {
		if s != "" {
			return s
		}
	}
	return ""
}

// IdentityRequest says how to establish the identity behind a token response.
type IdentityRequest struct {
	// Provider has its endpoints resolved (ResolveEndpoints).
	Provider *Provider
	ClientID string
	// OIDC is true when `openid` was requested from a provider with an
	// issuer: the response must then carry a valid ID token.
	OIDC bool
	// Nonce is the nonce sent with the authorization request ("" for the
	// device grant, which has none).
	Nonce string
	// Metadata is the discovery document if one was fetched; its jwks_uri
	// is used when the entry names no jwks_url.
	Metadata *Metadata
	Now      func() time.Time
}

// ResolveIdentity verifies the token response's ID token and finds out who
// signed in. Its steps:
//  1. OIDC: the ID token must be present and valid (VerifyIDToken: JWKS
//     signature, iss, aud, azp, exp/iat with leeway, nonce); its keys come
//     from the entry's jwks_url, else discovery's jwks_uri;
//  2. when the ID token names no email or preferred_username (or there is
//     none, e.g. GitHub), ask the userinfo endpoint with the access token;
//     OIDC userinfo is used only if its `sub` equals the ID token's (OIDC
//     Core §5.3.2), GitHub's /user gives `login` and the numeric `id`.
//
// A failing userinfo call is not fatal: it is reported in Identity.Note. An
// invalid or missing ID token is an *IDTokenError (exit 3).
func ResolveIdentity(ctx context.Context, client *http.Client, req IdentityRequest, tok *Token) (*Identity, error) {
	p := req.Provider
	id := &Identity{}
	if req.OIDC && tok.IDToken == "" {
		return nil, &IDTokenError{Reason: "the provider returned no ID token although openid was requested"}
	}
	if tok.IDToken != "" && p.Issuer != "" {
		jwks := p.JWKSURL
		if jwks == "" && req.Metadata != nil {
			jwks = req.Metadata.JWKSURI
		}
		if jwks == "" && !strings.Contains(p.Issuer, TenantIDPlaceholder) {
			md, err := Discover(ctx, client, p.Issuer)
			if err != nil {
				return nil, fmt.Errorf("finding the keys to verify the ID token: %w", err)
			}
			jwks = md.JWKSURI
		}
		claims, err := VerifyIDToken(ctx, client, tok.IDToken, IDTokenCheck{
			Issuer: p.Issuer, ClientID: req.ClientID, Nonce: req.Nonce, JWKSURL: jwks, Now: req.Now,
		})
		if err != nil {
			return nil, err
		}
		id.Issuer, id.Subject = claims.Issuer, claims.Subject
		id.Email, id.PreferredUsername, id.Name = claims.Email, claims.PreferredUsername, claims.Name
	}
	if id.Email != "" || id.PreferredUsername != "" || p.UserinfoURL == "" {
		return id, nil
	}
	info, err := FetchUserInfo(ctx, client, p, tok.AccessToken)
	if err != nil {
		if errors.Is(err, context.Canceled) {
			return nil, err
		}
		id.Note = "could not read the account's name from the userinfo endpoint: " + err.Error()
		return id, nil
	}
	if id.Subject != "" && info.String("sub") != id.Subject {
		id.Note = "ignoring the userinfo answer: its sub differs from the ID token's"
		return id, nil
	}
	if id.Subject == "" {
		id.Subject = info.Subject()
	}
	id.Email = info.String("email")
	id.PreferredUsername = info.String("preferred_username")
	id.Login = info.String("login")
	if id.Name == "" {
		id.Name = info.String("name")
	}
	if id.PreferredUsername == "" && id.Login == "" {
		id.PreferredUsername = info.String("username") // GitLab's /api/v4/user
	}
	return id, nil
}
