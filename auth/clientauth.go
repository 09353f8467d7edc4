package auth

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"

	"golang.org/x/oauth2"
)

// ClientAuth is how oauthctl authenticates as an OAuth client at the token,
// revocation and device authorization endpoints (RFC 6749 §2.3, OIDC Core
// §9): one choice per provider and account, shared by the code exchange,
// refresh, client credentials, revocation and the device grant, so that the
// requests of one account never disagree.
type ClientAuth string

// The client authentication methods oauthctl speaks. The empty ClientAuth
// means "not known yet": HTTP Basic first and, when the provider refuses the
// client that way, the form (see ChooseClientAuth).
const (
	ClientAuthAuto  ClientAuth = ""
	ClientAuthNone  ClientAuth = "none"
	ClientAuthBasic ClientAuth = "client_secret_basic"
	ClientAuthPost  ClientAuth = "client_secret_post"
)

// ClientAuthMethods lists the values of providers.yaml's
// token_endpoint_auth_method.
var ClientAuthMethods = []ClientAuth{ClientAuthNone, ClientAuthBasic, ClientAuthPost}

// ParseClientAuth checks a token_endpoint_auth_method value; "" is
// ClientAuthAuto.
func ParseClientAuth(s string) (ClientAuth, error) {
	m := ClientAuth(s)
	if m == ClientAuthAuto || slices.Contains(ClientAuthMethods, m) {
		return m, nil
	}
	return "", fmt.Errorf("must be one of none, client_secret_basic, client_secret_post (oauthctl does not support %q)", Sanitize(s, 40))
}

// ChooseClientAuth picks the client authentication for p's requests, in
// this order:
//  1. no secret: none (client_id in the form, RFC 6749 §2.3, a public
//     client);
//  2. providers.yaml's token_endpoint_auth_method;
//  3. the method remembered for the account (the one that worked last);
//  4. discovery's token_endpoint_auth_methods_supported when it lists
//     exactly one of client_secret_basic and client_secret_post;
//  5. ClientAuthAuto: HTTP Basic first (RFC 6749 §2.3.1 makes servers
//     support it) and, on invalid_client, the form; the caller remembers
//     the method the answer reports (Token.ClientAuth).
func ChooseClientAuth(p *Provider, secret string, md *Metadata, remembered ClientAuth) ClientAuth {
	switch {
	case secret == "":
		return ClientAuthNone
	case p != nil && p.TokenEndpointAuthMethod != "":
		return ClientAuth(p.TokenEndpointAuthMethod)
	case remembered == ClientAuthBasic || remembered == ClientAuthPost:
		return remembered
	case md != nil:
		basic := slices.Contains(md.TokenAuthMethods, string(ClientAuthBasic))
		post := slices.Contains(md.TokenAuthMethods, string(ClientAuthPost))
		switch {
		case basic && !post:
			return ClientAuthBasic
		case post && !basic:
			return ClientAuthPost
		}
	}
	return ClientAuthAuto
}

// style is the x/oauth2 style and the secret to hand it for one method: none
// sends the client_id in the form and never the secret.
func (m ClientAuth) style(secret string) (oauth2.AuthStyle, string) {
	switch m {
	case ClientAuthBasic:
		return oauth2.AuthStyleInHeader, secret
	case ClientAuthPost:
		return oauth2.AuthStyleInParams, secret
	}
	return oauth2.AuthStyleInParams, ""
}

// clientAuthAttempt runs do with the chosen method; for ClientAuthAuto it
// sends HTTP Basic and, only if the provider refused the client (401,
// invalid_client, unauthorized_client), the form once. Every server checks
// the client before it looks at the grant (RFC 6749 §3.2.1), so a request
// refused for its client authentication has not used the code or refresh
// token it carried; any other failure is final, never re-sent another way.
// It returns the method of the last request sent (the one that worked, on
// success), and on a client error the methods tried.
type clientAuthAttempt struct {
	method ClientAuth
	secret string
	// tried lists the methods sent, in order.
	tried []ClientAuth
}

func (a *clientAuthAttempt) run(ctx context.Context, do func(context.Context, oauth2.AuthStyle, string) (*oauth2.Token, error)) (*oauth2.Token, error) {
	if a.secret == "" {
		a.method = ClientAuthNone
	}
	first := a.method
	if first == ClientAuthAuto {
		first = ClientAuthBasic
	}
	style, secret := first.style(a.secret)
	a.tried = append(a.tried[:0], first)
	t, err := do(ctx, style, secret)
	if err != nil && a.method == ClientAuthAuto && rejectsClient(err) {
		style, secret = ClientAuthPost.style(a.secret)
		a.tried = append(a.tried, ClientAuthPost)
		t, err = do(ctx, style, secret)
	}
	// What the answer settled is kept for later attempts of the same
	// request (a retry after a 5xx): a refused client stays unknown.
	if err == nil || !rejectsClient(err) && !isTransient(err) {
		a.method = a.tried[len(a.tried)-1]
	}
	return t, err
}

// isTransient reports a failure that says nothing about the client
// authentication: a network error, a 5xx or a 429.
func isTransient(err error) bool {
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) {
		return true
	}
	return re.Response == nil || re.Response.StatusCode >= 500 || re.Response.StatusCode == http.StatusTooManyRequests
}

// describeTried names the methods a refused client was sent with, for the
// error text: "sent with client_secret_basic, then client_secret_post".
func describeTried(tried []ClientAuth) string {
	if len(tried) == 0 {
		return ""
	}
	if tried[0] == ClientAuthNone {
		return "sent without a client secret"
	}
	s := "sent with " + string(tried[0])
	for _, m := range tried[1:] {
		s += ", then " + string(m)
	}
	return s
}
