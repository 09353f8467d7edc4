package testop

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"

	"github.com/zitadel/oidc/v3/example/server/storage"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"
)

// store is the example storage with what these tests need and the example
// lacks; every other method is the example's own:
//   - loopback redirect globs for the web client and the device grant for
//     the native client (the example's client fields are unexported);
//   - device flow fixes: the example's device UI records the username as
//     the subject, and its token creation loses the client ID of a device
//     grant, which breaks ID tokens, refresh and revocation;
//   - refresh token families for reuse detection;
//   - an optional access token lifetime;
//   - a GetRefreshTokenInfo that takes the storage lock (the example's reads
//     the map unlocked, a data race under -race).
type store struct {
	*storage.Storage
	users               storage.UserStore
	revokeFamilyOnReuse bool
	accessTokenLifetime time.Duration

	mu     sync.Mutex
	family map[string]string    // refresh token -> its chain's first refresh token
	latest map[string]string    // chain -> the refresh token last issued in it
	expiry map[string]time.Time // access token ID -> expiry, with accessTokenLifetime
}

func newStore(s *storage.Storage, users storage.UserStore) *store {
	return &store{
		Storage: s,
		users:   users,
		family:  make(map[string]string),
		latest:  make(map[string]string),
		expiry:  make(map[string]time.Time),
	}
}

// GetClientByClientID returns the example's client, adjusted for the native
// and web test clients.
func (s *store) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	c, err := s.Storage.GetClientByClientID(ctx, id)
	switch {
	case err != nil:
		return nil, err
	case id == NativeClientID:
		return nativeClient{c}, nil
	case id == WebClientID:
		return webClient{c}, nil
	}
	return c, nil
}

// nativeClient adds the device code grant to the example's native client.
type nativeClient struct{ op.Client }

func (c nativeClient) GrantTypes() []oidc.GrantType {
	return append(slices.Clip(c.Client.GrantTypes()), oidc.GrantTypeDeviceCode)
}

// webClient accepts any loopback port. zitadel matches globs with
// doublestar, where brackets are a character class, hence the escapes.
type webClient struct{ op.Client }

func (webClient) RedirectURIGlobs() []string {
	return []string{"http://127.0.0.1:*" + RedirectPath, `http://\[::1\]:*` + RedirectPath}
}

func (webClient) PostLogoutRedirectURIGlobs() []string { return nil }

// CompleteDeviceAuthorization records the user's ID, not the username the
// example's device UI passes, as the subject.
func (s *store) CompleteDeviceAuthorization(ctx context.Context, userCode, username string) error {
	subject := username
	if u := s.users.GetUserByUsername(username); u != nil {
		subject = u.ID
	}
	return s.Storage.CompleteDeviceAuthorization(ctx, userCode, subject)
}

// asAuthRequest turns a device grant into the AuthRequest the example
// storage takes its client ID from.
func asAuthRequest(req op.TokenRequest) op.TokenRequest {
	if d, ok := req.(*op.DeviceAuthorizationState); ok {
		return &storage.AuthRequest{ApplicationID: d.ClientID, UserID: d.Subject, Scopes: d.Scopes, ResponseType: oidc.ResponseTypeCode}
	}
	return req
}

// CreateAccessToken issues an access token without a refresh token.
func (s *store) CreateAccessToken(ctx context.Context, req op.TokenRequest) (string, time.Time, error) {
	id, exp, err := s.Storage.CreateAccessToken(ctx, asAuthRequest(req))
	if err != nil {
		return "", time.Time{}, err
	}
	return id, s.expire(id, exp), nil
}

// CreateAccessAndRefreshTokens issues tokens and records the refresh token's
// chain: a new chain when current is empty (code or device grant), else
// current's chain, whose latest token the new one becomes.
func (s *store) CreateAccessAndRefreshTokens(ctx context.Context, req op.TokenRequest, current string) (string, string, time.Time, error) {
	id, refresh, exp, err := s.Storage.CreateAccessAndRefreshTokens(ctx, asAuthRequest(req), current)
	if err != nil {
		if current == "" {
			return "", "", time.Time{}, err
		}
		// Lost a race with another use of the same refresh token.
		s.detectReuse(ctx, current)
		return "", "", time.Time{}, oidc.ErrInvalidGrant().WithParent(err)
	}
	s.mu.Lock()
	chain := refresh
	if c, ok := s.family[current]; ok {
		chain = c
	}
	s.family[refresh], s.latest[chain] = chain, refresh
	s.mu.Unlock()
	return id, refresh, s.expire(id, exp), nil
}

// TokenRequestByRefreshToken looks the refresh token up; a token that is
// unknown because it was rotated triggers reuse detection.
func (s *store) TokenRequestByRefreshToken(ctx context.Context, token string) (op.RefreshTokenRequest, error) {
	req, err := s.Storage.TokenRequestByRefreshToken(ctx, token)
	if err != nil {
		s.detectReuse(ctx, token)
		return nil, err
	}
	return req, nil
}

// detectReuse revokes the latest refresh token of token's chain if reuse
// detection is on and token is an older member of that chain.
func (s *store) detectReuse(ctx context.Context, token string) {
	if !s.revokeFamilyOnReuse {
		return
	}
	s.mu.Lock()
	chain, ok := s.family[token]
	latest := s.latest[chain]
	s.mu.Unlock()
	if !ok || latest == token {
		return
	}
	req, err := s.Storage.TokenRequestByRefreshToken(ctx, latest)
	if err != nil {
		return // already revoked
	}
	// RevokeToken deletes the refresh token and the access token issued with it.
	s.Storage.RevokeToken(ctx, latest, req.GetSubject(), req.GetClientID())
}

// GetRefreshTokenInfo returns the user ID and token ID (the token itself in
// the example) of a refresh token, for revocation.
func (s *store) GetRefreshTokenInfo(ctx context.Context, _ string, token string) (string, string, error) {
	req, err := s.Storage.TokenRequestByRefreshToken(ctx, token)
	if err != nil {
		return "", "", op.ErrInvalidRefreshToken
	}
	return req.GetSubject(), token, nil
}

// expire returns exp, or with accessTokenLifetime set, records and returns
// the shorter expiry of access token id.
func (s *store) expire(id string, exp time.Time) time.Time {
	if s.accessTokenLifetime == 0 {
		return exp
	}
	exp = time.Now().Add(s.accessTokenLifetime)
	s.mu.Lock()
	s.expiry[id] = exp
	s.mu.Unlock()
	return exp
}

// expired reports whether access token id is past the expiry expire set.
func (s *store) expired(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	exp, ok := s.expiry[id]
	return ok && !time.Now().Before(exp)
}

// SetUserinfoFromToken serves the userinfo endpoint.
func (s *store) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	if s.expired(tokenID) {
		return errors.New("token is expired")
	}
	return s.Storage.SetUserinfoFromToken(ctx, info, tokenID, subject, origin)
}

// SetIntrospectionFromToken serves the introspection endpoint.
func (s *store) SetIntrospectionFromToken(ctx context.Context, resp *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	if s.expired(tokenID) {
		return errors.New("token is expired")
	}
	return s.Storage.SetIntrospectionFromToken(ctx, resp, tokenID, subject, clientID)
}
