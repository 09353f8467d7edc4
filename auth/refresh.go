package auth

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"time"

	"golang.org/x/oauth2"
)

// GrantRejectedError is a refresh token the provider refused: invalid_grant
// (revoked, expired, already rotated, password changed), or GitHub's
// bad_refresh_token. It matches ErrReauthRequired (exit 4). The caller decides
// whether another process rotated the token meanwhile (SECURITY.md B.12).
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
type ClientAuthError struct{ *ProviderError }

func (e *ClientAuthError) Error() string {
	return "the provider rejected the client credentials (" + e.ProviderError.Error() + ")"
}

// Unwrap returns the provider error.
func (e *ClientAuthError) Unwrap() error { return e.ProviderError }

// Is makes every ClientAuthError match ErrConfig.
func (e *ClientAuthError) Is(target error) bool { return target == ErrConfig }

// RetryPolicy bounds the retries of a token request after a transient
// failure (network error, 5xx, 429, temporarily_unavailable; SECURITY.md
// B.13). The zero value means the defaults.
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
	// AuthStyle is how the client authenticates; see TokenAuthStyle.
	AuthStyle    oauth2.AuthStyle
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
	return retryToken(ctx, client, now, policy, withAuthStyle(req.AuthStyle, func(ctx context.Context, style oauth2.AuthStyle) (*oauth2.Token, error) {
		cfg := &oauth2.Config{
			ClientID:     req.ClientID,
			ClientSecret: req.ClientSecret,
			Endpoint:     oauth2.Endpoint{TokenURL: req.TokenURL, AuthStyle: style},
		}
		return cfg.TokenSource(ctx, &oauth2.Token{RefreshToken: req.RefreshToken}).Token()
	}))
}

// withAuthStyle runs do with a fixed client authentication style, or, for
// oauth2.AuthStyleAutoDetect, probes like x/oauth2 but more carefully: HTTP
// Basic first, and the form only when the provider rejected the client
// (401, invalid_client, unauthorized_client). x/oauth2's own probe re-sends
// on any error, a 5xx or invalid_grant included, which would present a
// refresh token twice. The style that worked is kept for later attempts.
func withAuthStyle(style oauth2.AuthStyle, do func(context.Context, oauth2.AuthStyle) (*oauth2.Token, error)) func(context.Context) (*oauth2.Token, error) {
	probe := style == oauth2.AuthStyleAutoDetect
	if probe {
		style = oauth2.AuthStyleInHeader
	}
	return func(ctx context.Context) (*oauth2.Token, error) {
		t, err := do(ctx, style)
		if err != nil && probe && rejectsClient(err) {
			t, err = do(ctx, oauth2.AuthStyleInParams)
			if err == nil || !rejectsClient(err) {
				style = oauth2.AuthStyleInParams
			}
		}
		if err == nil || !rejectsClient(err) {
			probe = false
		}
		return t, err
	}
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
func retryToken(ctx context.Context, client *http.Client, now func() time.Time, policy RetryPolicy,
	do func(context.Context) (*oauth2.Token, error)) (*Token, error) {
	policy = policy.withDefaults()
	ctx, cancel := context.WithTimeout(ctx, policy.Budget)
	defer cancel()
	ctx = context.WithValue(ctx, oauth2.HTTPClient, client)
	backoff := policy.Backoff
	for attempt := 1; ; attempt++ {
		t, err := do(ctx)
		if err == nil {
			tok, cerr := FromOAuth2(t, now())
			if cerr != nil {
				return nil, cerr
			}
			return tok, nil
		}
		err = classifyGrantError(ClassifyTokenError(err))
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
// typed errors; it branches on the `error` code only, never on the
// description.
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
		return &ClientAuthError{pe}
	}
	return fmt.Errorf("token request refused: %w", pe)
}

// TokenAuthStyle picks how a client authenticates at the token endpoint:
//   - a public client (no secret) sends client_id in the form;
//   - the built-in presets (Google, GitHub, Microsoft, GitLab) take the
//     secret in the form (client_secret_post); Google and GitHub refuse HTTP
//     Basic;
//   - a user-defined provider gets x/oauth2's probe: HTTP Basic first (RFC
//     6749 §2.3.1 makes servers support it), then the form, remembered per
//     process.
func TokenAuthStyle(p *Provider, secret string) oauth2.AuthStyle {
	if secret == "" || p.Source == SourceBuiltin || p.Source == SourceOverride {
		return oauth2.AuthStyleInParams
	}
	return oauth2.AuthStyleAutoDetect
}
