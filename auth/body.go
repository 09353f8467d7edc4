package auth

import (
	"errors"
	"fmt"
	"io"
	"net/http"
)

// MaxResponseBody bounds every response body read from a provider (a body
// must be shorter):
// discovery, JWKS, token, device, userinfo and revocation answers
// (docs/security.md §4.1). A hostile or broken provider that sends more gets
// a read error, not our memory; x/oauth2 uses the same bound for token
// responses, but go-oidc's key set reads the JWKS without one.
const MaxResponseBody = 1 << 20

// ErrResponseTooLarge is the read error of a response body longer than
// MaxResponseBody.
var ErrResponseTooLarge = errors.New("the provider's response is 1 MiB or larger")

// CapBodies returns a copy of c whose transport caps every response body at
// MaxResponseBody. It is the one cap on provider responses: every auth
// function that takes a client applies it, so code that reads a body itself
// (x/oauth2's token requests, our own readers) is bounded too. Applying it
// twice is harmless.
func CapBodies(c *http.Client) *http.Client {
	if c == nil {
		return nil
	}
	if _, ok := c.Transport.(capTransport); ok {
		return c
	}
	cp := *c
	cp.Transport = capTransport{base: c.Transport}
	return &cp
}

// capTransport wraps each response body in a cappedBody.
type capTransport struct{ base http.RoundTripper }

func (t capTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	resp, err := base.RoundTrip(r)
	if resp != nil && resp.Body != nil {
		resp.Body = newCappedBody(resp.Body)
	}
	return resp, err
}

// cappedBody reads at most left bytes; if the body has more, the read after
// the last allowed byte fails with ErrResponseTooLarge instead of silently
// truncating, so a cut-off document is never parsed as a whole one. It
// allows MaxResponseBody-1 bytes so that x/oauth2, which reads at most
// 1 MiB itself, still sees the error rather than a truncated body.
type cappedBody struct {
	rc   io.ReadCloser
	left int64
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if b.left <= 0 {
		var one [1]byte
		n, err := b.rc.Read(one[:])
		if n > 0 {
			return 0, ErrResponseTooLarge
		}
		return 0, err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.rc.Read(p)
	b.left -= int64(n)
	return n, err
}

func newCappedBody(rc io.ReadCloser) *cappedBody {
	if cb, ok := rc.(*cappedBody); ok {
		return cb
	}
	return &cappedBody{rc: rc, left: MaxResponseBody - 1}
}

func (b *cappedBody) Close() error { return b.rc.Close() }

// readBody reads a provider's response body through the cap (also when the
// client was not wrapped by CapBodies). what names the endpoint in errors.
func readBody(resp *http.Response, what string) ([]byte, error) {
	body, err := io.ReadAll(newCappedBody(resp.Body))
	if errors.Is(err, ErrResponseTooLarge) {
		return nil, &UnavailableError{Msg: fmt.Sprintf("%s: the response (HTTP %d) is 1 MiB or larger", what, resp.StatusCode), Status: resp.StatusCode, Err: err}
	}
	if err != nil {
		return nil, &UnavailableError{Msg: what + ": reading the response: " + describeNetErr(err), Err: err, Status: resp.StatusCode}
	}
	return body, nil
}
