package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"slices"
	"time"

	"golang.org/x/oauth2"
)

// GrantRejectedError is a refresh token the provider refused: invalid_grant
// (revoked, expired, already rotated, password changed), or GitHub's
// bad_refresh_token. It matches ErrReauthRequired (exit 4). The caller decides
// whether another process rotated the token meanwhile (docs/security.md §6).
type GrantRejectedError struct{ *ProviderError }

func (e *GrantRejectedError) Error() string {
	return "the provider rejected the refresh token (" + e.ProviderError.Error() + ")"
}

// Unwrap returns the provider error.
func (e *GrantRejectedError) Unwrap() error { return e.ProviderError }

// Is makes every GrantRejectedError match ErrReauthRequired.
func (e *GrantRejectedError) Is(target error) bool { return target == ErrReauthRequired }

// ClientAuthError is a provider refusing the client itself: invalid_client
// (missing, wrong or rotated client secret, unknown client ID),
// unauthorized_client (the client may not use this grant) or GitHub's
// incorrect_client_credentials. It matches ErrConfig (exit 2): the fix is in
// the client configuration, not a new login.
type ClientAuthError struct {
	*ProviderError
	// Tried lists the client authentication methods the refused requests
	// used, so the message can say which one the provider did not accept.
	Tried []ClientAuth
}

func (e *ClientAuthError) Error() string {
	msg := "the provider rejected the client credentials (" + e.ProviderError.Error()
	if t := describeTried(e.Tried); t != "" {
		msg += "; " + t
	}
	return msg + ")"
}

// Unwrap returns the provider error.
func (e *ClientAuthError) Unwrap() error { return e.ProviderError }

// Is makes every ClientAuthError match ErrConfig.
func (e *ClientAuthError) Is(target error) bool { return target == ErrConfig }

// RetryPolicy bounds the retries of a token request after a transient
// failure (network error, 5xx, 429, temporarily_unavailable;
// docs/security.md §5). The zero value means the defaults.
type RetryPolicy struct {
	// Attempts is the total number of requests, first one included (default 3).
	Attempts int
	// Backoff is the wait before the second attempt, doubled for each later
	// one (default 500 ms). A Retry-After from the provider is honoured when
	// it asks for longer.
	Backoff time.Duration
	// MaxWait is the longest single wait (default 5 s). A provider that asks
	// for a longer Retry-After is not retried: waiting that long would hold
	// every other oauthctl process of the account behind the refresh lock.
	MaxWait time.Duration
	// Budget bounds all attempts and waits together (default 45 s), well
	// under the 60 s that other processes wait for the refresh lock.
	Budget time.Duration
}

// Default retry bounds.
const (
	DefaultAttempts = 3
	DefaultBackoff  = 500 * time.Millisecond
	DefaultMaxWait  = 5 * time.Second
	DefaultBudget   = 45 * time.Second
)

func (p RetryPolicy) withDefaults() RetryPolicy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Backoff <= 0 {
		p.Backoff = DefaultBackoff
	}
	if p.MaxWait <= 0 {
		p.MaxWait = DefaultMaxWait
	}
	if p.Budget <= 0 {
		p.Budget = DefaultBudget
	}
	return p
}

// RefreshRequest is a refresh_token grant (RFC 6749 §6).
type RefreshRequest struct {
	TokenURL     string
	ClientID     string
	ClientSecret string
	// ClientAuth is how the client authenticates (ChooseClientAuth).
	ClientAuth   ClientAuth
	RefreshToken string
}

// Refresh redeems a refresh token at the token endpoint with client (our
// client: timeouts, no redirects) and returns the new token set. The
// returned Token's RefreshToken is the rotated one, or the one sent when the
// provider returned none (RFC 6749 §6 lets it keep the old one). Expiry is
// computed from now() + expires_in, so the clock that later judges it is the
// same one that set it.
//
// Errors: *GrantRejectedError (exit 4), *ClientAuthError (exit 2), an
// ErrUnavailable error (exit 5) after at most policy.Attempts requests, the
// context's error, or a *ProviderError for any other OAuth error code.
//
// A request that timed out is not repeated: the provider may have processed
// it and rotated the refresh token, and presenting the old one again would
// trip reuse detection (RFC 9700 §4.14.2) and revoke the whole grant.
func Refresh(ctx context.Context, client *http.Client, req RefreshRequest, now func() time.Time, policy RetryPolicy) (*Token, error) {
	if req.RefreshToken == "" {
		return nil, errors.New("refreshing the token: no refresh token")
	}
	att := &clientAuthAttempt{method: req.ClientAuth, secret: req.ClientSecret}
	return retryToken(ctx, client, now, policy, att, func(ctx context.Context, style oauth2.AuthStyle, secret string) (*oauth2.Token, error) {
		cfg := &oauth2.Config{
			ClientID:     req.ClientID,
			ClientSecret: secret,
			Endpoint:     oauth2.Endpoint{TokenURL: req.TokenURL, AuthStyle: style},
		}
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: req.RefreshToken}).Token()
	}, classifyRefreshError)
}

// rejectsClient reports whether a token endpoint error says the client
// authentication failed, so that another style may work.
func rejectsClient(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return false
	}
	switch re.ErrorCode {
	case "invalid_client", "unauthorized_client", "incorrect_client_credentials":
		return true
	case "":
		return re.Response != nil && re.Response.StatusCode == http.StatusUnauthorized
	}
	return false
}

// retryToken runs one token request with the retry policy and converts the
// result. Steps:
//  1. bound everything by the policy's budget;
//  2. request; on success convert the token (Bearer only) and return it;
//  3. classify the error; anything but a retryable unavailability is final;
//  4. wait max(backoff, Retry-After) unless that exceeds MaxWait or the
//     budget, double the backoff and go to 2.
//
// att picks the client authentication of each request (see
// clientAuthAttempt); the token reports the method that worked, and a
// *ClientAuthError the methods tried. classify turns an OAuth error into
// what the grant's caller acts on.
func retryToken(ctx context.Context, client *http.Client, now func() time.Time, policy RetryPolicy, att *clientAuthAttempt,
	do func(context.Context, oauth2.AuthStyle, string) (*oauth2.Token, error), classify func(error) error) (*Token, error) {
	policy = policy.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, policy.Budget)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, CapBodies(client))
	backoff := policy.Backoff
	for attempt := 1; ; attempt++ {
		t, err := att.run(ctx, do)
		if err == nil {
			tok, cerr := FromOAuth2(t, now())
			if cerr != nil {
				return nil, cerr
			}
			tok.ClientAuth = att.method
			return tok, nil
		}
		err = classify(ClassifyTokenError(err))
		var cae *ClientAuthError
		if errors.As(err, &cae) {
			cae.Tried = slices.Clone(att.tried)
		}
		wait, retry := retryWait(err, backoff)
		if !retry || attempt >= policy.Attempts || wait > policy.MaxWait {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait+time.Second {
			return nil, err
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil, ctx.Err()
			}
			return nil, err
		case <-timer.C:
		}
		backoff *= 2
	}
}

// retryWait says whether err is worth another attempt and how long to wait
// first (max(backoff, Retry-After)): a 5xx, a 429, an OAuth
// temporarily_unavailable or server_error, or a transport failure other than
// a timeout. A malformed answer or a redirect is not retried: it will not
// change, and the provider may already have rotated the refresh token.
func retryWait(err error, backoff time.Duration) (time.Duration, bool) {
	var ue *UnavailableError
	if !errors.As(err, &ue) {
		return 0, false
	}
	var pe *ProviderError
	var ne *url.Error
	switch {
	case ue.Status >= 500, ue.Status == http.StatusTooManyRequests, errors.As(ue.Err, &pe):
	case errors.As(ue.Err, &ne) && !isTimeout(ue.Err):
	default:
		return 0, false
	}
	return max(backoff, ue.RetryAfter), true
}

func isTimeout(err error) bool {
	if err == nil {
		return false
	}
	var ne net.Error
	return errors.Is(err, context.DeadlineExceeded) || errors.As(err, &ne) && ne.Timeout()
}

// classifyGrantError turns the OAuth error codes that callers act on into
// typed errors; it branches on the `error` code (and, for an answer without
// one, the HTTP status) only, never on the description.
func classifyGrantError(err error) error {
	var ue *UnavailableError
	var pe *ProviderError
	if errors.As(err, &ue) || !errors.As(err, &pe) {
		return err
	}
	switch pe.Code {
	case "invalid_grant", "bad_refresh_token":
		return &GrantRejectedError{pe}
	case "invalid_client", "unauthorized_client", "incorrect_client_credentials":
		return &ClientAuthError{ProviderError: pe}
	case "":
		if pe.Status == http.StatusUnauthorized {
			return &ClientAuthError{ProviderError: pe}
		}
	}
	return fmt.Errorf("token request refused: %w", pe)
}

// classifyRefreshError is classifyGrantError for a refresh: besides the
// client errors (401, invalid_client: exit 2), every refusal is a rejected
// grant (exit 4, log in again), whatever its code, and also a 4xx without
// an OAuth error body. Only network errors, timeouts, 5xx and 429 are
// "unavailable" (exit 5): treating a 400 with an empty body as an outage
// made scripts retry a dead refresh token forever.
func classifyRefreshError(err error) error {
	err = classifyGrantError(err)
	var cae *ClientAuthError
	var pe *ProviderError
	var ue *UnavailableError
	if errors.As(err, &cae) || errors.Is(err, ErrReauthRequired) || errors.As(err, &ue) || !errors.As(err, &pe) {
		return err
	}
	return &GrantRejectedError{pe}
}
