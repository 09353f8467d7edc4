package session

import (
	"context"
	"crypto/subtle"
	"errors"
	"fmt"
	"strings"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
	"github.com/oauthctl/oauthctl/session/hot"
)

// ErrGitNotServed means git-credential has no token for the request: a
// protocol other than https (or http to a loopback host), or a host no
// provider serves. It is not a failure: git asks its next helper.
var ErrGitNotServed = errors.New("not served")

// GitNotServedError says why a git request gets no token; it matches
// ErrGitNotServed. Msg is for stderr and holds no secret.
type GitNotServedError struct {
	Msg  string
	Hint string
}

func (e *GitNotServedError) Error() string { return e.Msg }

// Unwrap returns ErrGitNotServed.
func (e *GitNotServedError) Unwrap() error { return ErrGitNotServed }

// GitRequest is what git asked a credential helper for, reduced to what
// chooses the provider, plus the helper's --provider.
type GitRequest struct {
	// Protocol and Host are git's attributes (Host may carry ":PORT").
	Protocol string
	Host     string
	// Provider overrides the git_hosts lookup (--provider).
	Provider string
}

// GitTarget checks that req may get a token at all (https, or http to a
// loopback host: a token never travels in clear text over a network) and
// finds the provider that serves the host: req.Provider when given, else
// the one whose git_hosts lists the host. It reads the catalogue (for the
// provider's git user name) but not the keychain. A request that is not
// served is a *GitNotServedError.
func (s *Service) GitTarget(req GitRequest) (*auth.Provider, error) {
	host := strings.ToLower(req.Host)
	hostname := host
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.HasPrefix(host, "[") {
		hostname = h
	} else if strings.HasPrefix(host, "[") {
		if i := strings.Index(host, "]"); i > 0 {
			hostname = host[1:i]
		}
	}
	switch {
	case host == "":
		return nil, &GitNotServedError{Msg: "git sent no host"}
	case req.Protocol == "https":
	case req.Protocol == "http" && auth.IsLoopbackHost(hostname):
	case req.Protocol == "http":
		return nil, &GitNotServedError{Msg: fmt.Sprintf("not sending a token to %s over plain http", auth.Sanitize(host, 100)),
			Hint: "use an https:// remote URL"}
	default:
		return nil, &GitNotServedError{Msg: fmt.Sprintf("no token for the %s protocol (only https)", auth.Sanitize(req.Protocol, 20))}
	}
	cat, err := s.Catalogue()
	if err != nil {
		return nil, err
	}
	if req.Provider != "" {
		return cat.Get(req.Provider)
	}
	p, ok := cat.GitProvider(host)
	if !ok {
		return nil, &GitNotServedError{Msg: fmt.Sprintf("no provider serves the git host %s", auth.Sanitize(host, 100)),
			Hint: fmt.Sprintf("add git_hosts: [%s] to a provider in %s, or use: oauthctl git-credential --provider NAME", auth.Sanitize(host, 100), s.configPath())}
	}
	return p, nil
}

// configPath is the user's providers.yaml for messages, or a generic name.
func (s *Service) configPath() string {
	if s.ConfigPath != nil {
		return s.ConfigPath()
	}
	return "providers.yaml"
}

// TokenHash is the hex SHA-256 of a token: what the account index records
// about a rejected access token instead of the token.
func TokenHash(token string) string {
	return hot.TokenHash(token)
}

// RejectToken records that a server rejected token, an access token of
// acct (git's `erase`, after the remote answered 401): when it is still the
// stored access token, the account index remembers its hash, and the next
// Acquire refreshes before handing out a token (it never hands this one out
// again). A token that is not acct's current access token changes nothing
// (git sends erase to every helper, with whatever password failed). It
// reports whether the token was marked.
func (s *Service) RejectToken(ctx context.Context, acct *keyring.Account, token string) (bool, error) {
	if token == "" {
		return false, nil
	}
	st, err := s.Store()
	if err != nil {
		return false, err
	}
	rec, err := st.Load(ctx, acct.Key())
	switch {
	case errors.Is(err, keyring.ErrNotFound), errors.Is(err, keyring.ErrCorrupt):
		return false, nil
	case err != nil:
		return false, err
	}
	if subtle.ConstantTimeCompare([]byte(rec.AccessToken), []byte(token)) != 1 {
		return false, nil
	}
	state, err := s.state()
	if err != nil {
		return false, err
	}
	marked := false
	err = state.UpdateIndex(ctx, func(ix *keyring.Index) error {
		if a := ix.Find(acct.Provider, acct.Account); a != nil {
			a.RejectedToken = TokenHash(token)
			marked = true
		}
		return nil
	})
	return marked, err
}
