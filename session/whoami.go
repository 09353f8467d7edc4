package session

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// UserinfoProvider returns the configuration of acct's provider with the
// userinfo endpoint its tokens may be sent to: the configuration must still
// be the one the account logged in with, userinfo endpoint included
// (BindEndpoints, docs/security.md §3.6), else a sign-in error (exit 4) and
// nothing is sent. A provider without a userinfo endpoint is a
// configuration error.
func (s *Service) UserinfoProvider(ctx context.Context, acct *keyring.Account) (*auth.Provider, error) {
	p, err := lookupProvider(s.Catalogue, acct.Provider)
	if err != nil {
		return nil, err
	}
	if p, err = BindEndpoints(ctx, s.HTTPClient(), acct, p, EndpointUserinfo); err != nil {
		if errors.Is(err, auth.ErrReauthRequired) && acct.Grant != auth.GrantClientCredentials {
			return nil, WithHint(err, "run: oauthctl login %s%s", acct.Provider, accountFlag(acct))
		}
		return nil, err
	}
	if p.UserinfoURL == "" {
		return nil, WithHint(fmt.Errorf("%w: %s has no userinfo endpoint", auth.ErrConfig, p.Name),
			"set userinfo_url for %s in providers.yaml", p.Name)
	}
	return p, nil
}

// Userinfo calls p's userinfo endpoint (from UserinfoProvider) with acct's
// access token at. 401/403 mean a new login (exit 4; for a
// client_credentials account, that the endpoint refuses machine tokens).
// An OIDC provider's `sub` must be the account's subject (OIDC Core §5.3.2:
// the claims must be about the user who signed in).
func (s *Service) Userinfo(ctx context.Context, acct *keyring.Account, p *auth.Provider, at string) (*auth.UserInfo, error) {
	info, err := auth.FetchUserInfo(ctx, s.HTTPClient(), p, at)
	switch {
	case err == nil:
	case errors.Is(err, auth.ErrReauthRequired) && acct.Grant == auth.GrantClientCredentials:
		return nil, machineUserinfoError(acct, err)
	case errors.Is(err, auth.ErrReauthRequired):
		return nil, WithHint(err, "run: oauthctl login %s%s", acct.Provider, accountFlag(acct))
	default:
		return nil, err
	}
	if sub := info.Subject(); acct.Subject != "" && p.IsOIDC() && sub != acct.Subject {
		return nil, fmt.Errorf("the userinfo subject %q is not the subject %q the account %s signed in as; not showing it",
			sub, acct.Subject, acct.Key())
	}
	return info, nil
}

// machineUserinfoError explains a 401/403 from userinfo for a
// client_credentials account: there is no login to redo; its token names a
// client, not a user, and most providers' userinfo endpoints refuse such
// tokens. It still matches auth.ErrReauthRequired (exit 4).
func machineUserinfoError(acct *keyring.Account, err error) error {
	detail := strings.TrimPrefix(err.Error(), auth.ErrReauthRequired.Error()+": ")
	return WithHint(&ReauthError{Msg: fmt.Sprintf("%s; %s is a client_credentials account: its access token stands for the client, not a user, and the provider's userinfo endpoint does not accept such machine tokens",
		detail, acct.Key())},
		"if the token was revoked, get a new one: oauthctl token %s%s --force-refresh", acct.Provider, accountFlag(acct))
}

// accountFlag is " --account NAME" for a login hint.
func accountFlag(a *keyring.Account) string {
	if a.Account == "" {
		return ""
	}
	return " --account " + a.Account
}
