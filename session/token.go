package session

import (
	"context"
	"fmt"
	"time"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// TokenRequest is what a front-end (token, exec, git-credential,
// kube-credential) asks Token for.
type TokenRequest struct {
	// Provider and Account name the account as on the command line: an
	// empty Provider means the only stored account, an empty Account the
	// provider's default (ResolveAccount).
	Provider string
	Account  string
	// Acquire tunes the freshness rules and the refresh (Acquire). With
	// Acquire.IDToken, Token hands out the ID token instead of the access
	// token.
	Acquire AcquireOptions
	// Index is the account index file's bytes as cmd/front.Serve read them
	// before its kernel-cache miss. When set, the access token is copied
	// into the kernel cache as the answer to the same request under those
	// bytes (hot.Fill); nil copies nothing.
	Index []byte
}

// TokenResult is what Token hands out. Account and Record are copies:
// callers may print them but must not store them.
type TokenResult struct {
	Account *keyring.Account
	Record  *keyring.Record
	// Token is the token asked for: the ID token with Acquire.IDToken,
	// else the access token.
	Token string
	// Expiry is when Token expires: the ID token's exp claim, or the access
	// token's expiry. Zero when unknown.
	Expiry time.Time
}

// NoIDTokenError is Token's error for an ID token request of an account
// that has none stored (the provider is not OpenID Connect, or the login
// did not ask for the openid scope). It matches auth.ErrReauthRequired
// (exit 4) and carries no hint: the front-ends name different ways out.
type NoIDTokenError struct{ Key keyring.Key }

func (e *NoIDTokenError) Error() string {
	return fmt.Sprintf("%s: no ID token is stored for %s (the provider is not OpenID Connect, or the login did not ask for the openid scope)",
		auth.ErrReauthRequired, e.Key)
}

// Unwrap returns auth.ErrReauthRequired.
func (e *NoIDTokenError) Unwrap() error { return auth.ErrReauthRequired }

// Token is the one way every front-end gets a token. It never prompts and
// never opens a browser; a front-end that may sign in (git-credential
// --login, kube-credential --login) does so on a sign-in error and calls
// Token again. The warnings are for stderr and come with the error too.
//
// Steps:
//  1. resolve the account from the index (ResolveAccount);
//  2. get a fresh token (Acquire: the keychain read, and under the lock a
//     refresh or mint when needed);
//  3. copy the access token into the kernel cache when req.Index is set
//     (hot.Fill);
//  4. pick the token asked for and its expiry; an ID token request of an
//     account with none stored is a *NoIDTokenError.
func (s *Service) Token(ctx context.Context, req TokenRequest) (*TokenResult, []Warning, error) {
	acct, err := s.ResolveAccount(ctx, req.Provider, req.Account)
	if err != nil {
		return nil, nil, err
	}
	rec, warnings, err := s.Acquire(ctx, acct, req.Acquire)
	if err != nil {
		return nil, warnings, err
	}
	s.fill(req.Provider, req.Account, req.Index, acct, rec, req.Acquire, warnings)
	res := &TokenResult{Account: acct, Record: rec, Token: rec.AccessToken, Expiry: rec.Expiry}
	if req.Acquire.IDToken {
		if rec.IDToken == "" {
			return nil, warnings, &NoIDTokenError{Key: acct.Key()}
		}
		res.Token, res.Expiry = rec.IDToken, idTokenExpiry(rec.IDToken)
	}
	return res, warnings, nil
}
