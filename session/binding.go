package session

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/keyring"
)

// EndpointKind is a provider endpoint other than the token endpoint that
// receives an account's tokens: logout revokes at the revocation endpoints,
// whoami sends the access token to userinfo.
type EndpointKind int

const (
	EndpointRevocation EndpointKind = iota
	EndpointGrantRevocation
	EndpointUserinfo
)

var allEndpointKinds = []EndpointKind{EndpointRevocation, EndpointGrantRevocation, EndpointUserinfo}

func (k EndpointKind) String() string {
	switch k {
	case EndpointRevocation:
		return "revocation endpoint"
	case EndpointGrantRevocation:
		return "grant revocation endpoint"
	}
	return "userinfo endpoint"
}

// in returns k's URL field in p.
func (k EndpointKind) in(p *auth.Provider) *string {
	switch k {
	case EndpointRevocation:
		return &p.RevocationURL
	case EndpointGrantRevocation:
		return &p.GrantRevocationURL
	}
	return &p.UserinfoURL
}

// recorded returns k's URL as the login recorded it in the account index.
func (k EndpointKind) recorded(a *keyring.Account) string {
	switch k {
	case EndpointRevocation:
		return a.RevocationURL
	case EndpointGrantRevocation:
		return a.GrantRevocationURL
	}
	return a.UserinfoURL
}

// RecordEndpoints copies the endpoints of p (resolved: after discovery) that
// receive tokens besides the token endpoint into the index entry acct, so
// that logout and whoami can later check them (BindEndpoints). Every writer
// of a new index entry calls it.
func RecordEndpoints(acct *keyring.Account, p *auth.Provider) {
	acct.RevocationURL, acct.GrantRevocationURL, acct.UserinfoURL = p.RevocationURL, p.GrantRevocationURL, p.UserinfoURL
}

// endpointsRecorded reports whether acct was written by a login that
// recorded its endpoints (RecordEndpoints records them all at once; an entry
// of an older oauthctl has none).
func endpointsRecorded(acct *keyring.Account) bool {
	return acct.RevocationURL != "" || acct.GrantRevocationURL != "" || acct.UserinfoURL != ""
}

// BindingError means that sending the account's tokens to the current
// configuration's endpoints is refused: providers.yaml (or the discovery
// document) changed since the login. It matches auth.ErrReauthRequired
// (exit 4). Nothing was sent.
type BindingError struct {
	// detail says what differs, for a message that is not an error line.
	detail string
	err    error
}

func (e *BindingError) Error() string { return e.err.Error() }
func (e *BindingError) Unwrap() error { return e.err }

// BindEndpoints extends checkBinding (issuer, token endpoint, client ID) to
// the endpoints in kinds, and returns a copy of p whose TokenURL and kinds'
// endpoints are the ones acct's tokens may be sent to; the other
// token-receiving endpoints of the copy are cleared, so that nothing unchecked
// is used by mistake. An endpoint of kinds that is empty in the result means
// the configuration has none (nothing to send to).
//
// Rules, per endpoint (docs/security.md §3.6: an edited providers.yaml must not be
// able to collect tokens):
//   - recorded at login: the current configuration's URL must equal it;
//   - issuer-only provider (discovery) whose entry does not set it: the
//     recorded URL is used once the issuer matches, like the token endpoint,
//     without discovery; when the login recorded other endpoints but not
//     this one, it had none (and discovery never gives a grant revocation
//     endpoint): none, again without discovery; with nothing recorded at
//     all (an older index entry) the endpoint is discovered again and
//     checked by the next rule;
//   - not recorded (an index entry written before the endpoints were
//     recorded, or a login whose configuration had none): unknown, so for
//     safety a token goes there only if the URL's scheme and host equal those
//     of the recorded token endpoint (that server already holds the refresh
//     token), or the provider is an unmodified built-in preset (its
//     endpoints come from the binary, not from a file that can be edited).
//
// A refusal is a *BindingError matching auth.ErrReauthRequired; a failed
// discovery is returned as it is. Nothing is sent to any endpoint but the
// discovery document's.
func BindEndpoints(ctx context.Context, client *http.Client, acct *keyring.Account, p *auth.Provider, kinds ...EndpointKind) (*auth.Provider, error) {
	tokenURL, err := checkBinding(acct, p)
	if err != nil {
		return nil, &BindingError{detail: strings.TrimPrefix(err.Error(), auth.ErrReauthRequired.Error()+": "), err: err}
	}
	bound := *p
	bound.TokenURL, bound.NeedsDiscovery = tokenURL, false
	var discovered *auth.Provider
	var diffs []string
	for _, k := range allEndpointKinds {
		dst := k.in(&bound)
		if !slices.Contains(kinds, k) {
			*dst = ""
			continue
		}
		u, rec := *k.in(p), k.recorded(acct)
		if p.NeedsDiscovery && u == "" {
			if rec != "" {
				*dst = rec
				continue
			}
			if k == EndpointGrantRevocation || endpointsRecorded(acct) {
				// Discovery has no grant revocation endpoint; and a login
				// that recorded its endpoints recorded all it had, so an
				// empty one means none: no discovery (the provider may be
				// down, and logout must still use the recorded URL).
				*dst = ""
				continue
			}
			if discovered == nil {
				if discovered, _, err = auth.ResolveEndpoints(ctx, client, p); err != nil {
					return nil, err
				}
			}
			u = *k.in(discovered)
		}
		*dst = u
		if d := EndpointDiff(acct, p, k, u); d != "" {
			diffs = append(diffs, d)
		}
	}
	if len(diffs) > 0 {
		detail := fmt.Sprintf("the configuration changed since %s logged in (%s)", acct.Key(), strings.Join(diffs, "; "))
		return nil, &BindingError{detail: detail,
			err: fmt.Errorf("%w: %s; no token was sent", auth.ErrReauthRequired, detail)}
	}
	return &bound, nil
}

// EndpointDiff says why acct's tokens must not go to u, p's (resolved) URL of
// the endpoint k, or "" when they may. See BindEndpoints for the rules.
func EndpointDiff(acct *keyring.Account, p *auth.Provider, k EndpointKind, u string) string {
	rec := k.recorded(acct)
	switch {
	case u == "":
		return "" // nothing to send to
	case rec != "" && u != rec:
		return fmt.Sprintf("%s %s, now %s", k, rec, u)
	case rec == "" && p.Source != auth.SourceBuiltin && !sameOrigin(u, acct.TokenURL):
		return fmt.Sprintf("%s %s was not recorded at login and is not on the token endpoint's host", k, u)
	}
	return ""
}

// sameOrigin reports whether a and b are absolute URLs with the same scheme
// and host (port included).
func sameOrigin(a, b string) bool {
	ua, err := url.Parse(a)
	if err != nil {
		return false
	}
	ub, err := url.Parse(b)
	if err != nil {
		return false
	}
	return ua.Host != "" && strings.EqualFold(ua.Scheme, ub.Scheme) && strings.EqualFold(ua.Host, ub.Host)
}

// Detail says what differs, for a message that is not an error line.
func (e *BindingError) Detail() string { return e.detail }

// CheckRecordBinding refuses to use rec's tokens when the account index entry
// acct and the keychain record disagree about where they go: the issuer,
// token endpoint, client ID or other endpoints of the index were changed
// outside oauthctl (docs/security.md §3.6). The record, which other users
// cannot write, wins; the index is a file. It returns a *BindingError
// matching auth.ErrReauthRequired (exit 4); nothing is sent. A record
// without a binding (an older oauthctl wrote it) is checked against the
// configuration only, as before, until the next login records one.
func CheckRecordBinding(acct *keyring.Account, rec *keyring.Record) error {
	if rec == nil || rec.Binding.IsZero() {
		return nil
	}
	diff := rec.Binding.Diff(keyring.BindingOf(acct))
	if len(diff) == 0 {
		return nil
	}
	detail := fmt.Sprintf("the account index and the keychain disagree about where the tokens of %s go (%s differ): the index was changed outside oauthctl",
		auth.Sanitize(acct.Key().String(), 200), strings.Join(diff, ", "))
	return &BindingError{detail: detail, err: WithHint(fmt.Errorf("%w: %s; no token was sent", auth.ErrReauthRequired, detail),
		"check who can write %s, then run: oauthctl login %s", "accounts.json", acct.Provider)}
}
