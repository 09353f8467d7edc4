package auth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// ClientCredentialsRequest is a client_credentials grant (RFC 6749 §4.4): a
// machine client trading its own ID and secret for an access token, with no
// user and no refresh token.
type ClientCredentialsRequest struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// ClientAuth is how the client authenticates (ChooseClientAuth).
	ClientAuth ClientAuth
	Scopes     []string
	// Params are extra form parameters (e.g. audience or resource).
	Params url.Values
}

// ClientCredentials mints an access token with the client's own credentials.
// A secret is required. Transient failures are retried per policy; every
// attempt is safe to repeat because nothing rotates. Expiry is now() +
// expires_in. Errors are as for Refresh: *ClientAuthError (exit 2),
// ErrUnavailable (exit 5), the context's error or a *ProviderError.
func ClientCredentials(ctx context.Context, client *http.Client, req ClientCredentialsRequest, now func() time.Time, policy RetryPolicy) (*Token, error) {
	if req.ClientID == "" || req.ClientSecret == "" {
		return nil, errors.New("the client_credentials grant needs a client ID and a client secret")
	}
	att := &clientAuthAttempt{method: req.ClientAuth, secret: req.ClientSecret}
	if att.method == ClientAuthNone {
		att.method = ClientAuthAuto // a secret is required: never drop it
	}
	return retryToken(ctx, client, now, policy, att, func(ctx context.Context, style oauth2.AuthStyle, secret string) (*oauth2.Token, error) {
		cfg := &clientcredentials.Config{
			ClientID:       req.ClientID,
			ClientSecret:   secret,
			TokenURL:       req.TokenURL,
			Scopes:         req.Scopes,
			EndpointParams: req.Params,
			AuthStyle:      style,
		}
		return cfg.Token(ctx)
	}, classifyGrantError)
}
