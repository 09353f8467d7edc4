package auth

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// Fuzz tests for the parsers of untrusted input (docs/security.md §8). Each
// runs its seed corpus in the normal suite; `go test -fuzz=FuzzX ./auth`
// explores further. Provider answers come from an in-memory transport, so
// no fuzz iteration touches the network.

// bodyClient answers every request with status and body.
func bodyClient(status int, contentType string, body []byte) *http.Client {
	return &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {contentType}},
			Body: io.NopCloser(bytes.NewReader(body)), Request: r}, nil
	})}
}

// classified reports whether err is one the cmd package maps to a
// documented exit code other than 1.
func classified(err error) bool {
	return errors.Is(err, ErrUnavailable) || errors.Is(err, ErrConfig) || errors.Is(err, ErrLoginFailed) ||
		errors.Is(err, ErrReauthRequired) || errors.Is(err, ErrTimeout)
}

// FuzzPastedRedirect: a line pasted at the --no-browser prompt is judged
// exactly like a callback. Whatever the line, Submit never panics, and it
// ends the flow only for this login's address with this login's state.
func FuzzPastedRedirect(f *testing.F) {
	const redirect = "http://127.0.0.1:4000/callback"
	for _, s := range []string{
		redirect + "?code=c&state=s", redirect + "?state=s&error=access_denied", redirect + "?code=c&state=s&state=s",
		"http://127.0.0.1:4001/callback?code=c&state=s", "https://127.0.0.1:4000/callback?code=c&state=s",
		redirect + "?code=c&state=wrong", "  " + redirect + "?code=c&state=s&iss=https%3A%2F%2Fevil\r",
		"not a url", "", "\x00", redirect + "?%zz", redirect + "#code=c&state=s", "HTTP://127.0.0.1:4000/callback?code=c&state=s",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, line string) {
		u, _ := url.Parse(redirect)
		l := &Login{req: LoginRequest{Provider: &Provider{Name: "fake"}}, state: "s", issuer: "https://issuer.example",
			redirect: u, redirectURI: redirect, result: make(chan outcome, 1), closed: make(chan struct{}), serveDone: make(chan struct{})}
		err := l.Submit(line)
		if err != nil {
			if len(l.result) != 0 {
				t.Fatal("a refused line ended the flow")
			}
			return
		}
		p, perr := url.Parse(strings.TrimSpace(line))
		if perr != nil || p.Host != "127.0.0.1:4000" || p.Path != "/callback" || p.Query().Get("state") != "s" {
			t.Fatalf("accepted %q", line)
		}
		if len(l.result) != 1 {
			t.Fatal("an accepted line did not end the flow")
		}
	})
}

// FuzzTokenResponse: whatever a token endpoint answers, a refresh either
// returns a Bearer token whose tokens are visible ASCII, or a classified
// error that does not echo the response's tokens.
func FuzzTokenResponse(f *testing.F) {
	for _, s := range []struct {
		status int
		body   string
	}{
		{200, `{"access_token":"at","token_type":"Bearer","expires_in":3600,"refresh_token":"rt","scope":"a b","id_token":"x.y.z"}`},
		{200, `{"access_token":"at\r\nX: 1","token_type":"Bearer"}`},
		{200, `{"access_token":"at","token_type":"DPoP"}`},
		{200, `{"error":"bad_refresh_token"}`},
		{400, `{"error":"invalid_grant","error_description":"\u001b[2J"}`},
		{500, `<html>`},
		{200, `access_token=at&token_type=bearer`},
		{200, `{"access_token":123}`},
		{200, `{"access_token":"at","expires_in":"-1","refresh_token_expires_in":1e308}`},
		{200, ``},
	} {
		f.Add(s.status, s.body)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			return
		}
		ct := "application/json"
		if strings.HasPrefix(body, "access_token=") {
			ct = "application/x-www-form-urlencoded"
		}
		tok, err := Refresh(t.Context(), bodyClient(status, ct, []byte(body)), RefreshRequest{TokenURL: "https://as.example/token",
			ClientID: "c", RefreshToken: "old-rt"}, time.Now, RetryPolicy{Attempts: 1})
		if err != nil {
			if tok != nil {
				t.Fatal("a token with an error")
			}
			if !classified(err) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
		if tok.TokenType != "Bearer" || tok.AccessToken == "" || !tokenChars(tok.AccessToken, false) ||
			!tokenChars(tok.RefreshToken, true) || !tokenChars(tok.IDToken, false) {
			t.Fatalf("accepted token %+v", tok)
		}
	})
}

// FuzzDeviceResponses: whatever the device authorization and token
// endpoints answer, the device flow ends with a safe code to show and a
// well-formed token, or a classified error.
func FuzzDeviceResponses(f *testing.F) {
	f.Add(`{"device_code":"d","user_code":"ABCD-EFGH","verification_uri":"https://as.example/device","interval":1}`,
		`{"access_token":"at","token_type":"Bearer"}`)
	f.Add(`{"device_code":"d","user_code":"\u001b[2J","verification_uri":"https://as.example/device"}`, `{}`)
	f.Add(`{"device_code":"d","user_code":"A","verification_uri":"javascript:alert(1)"}`, `{}`)
	f.Add(`{"device_code":"d","user_code":"A","verification_url":"https://as.example/d","verification_uri_complete":"https://evil.example/d"}`,
		`{"error":"access_denied"}`)
	f.Add(`device_code=d&user_code=A&verification_uri=https%3A%2F%2Fas.example%2Fd`, `access_token=at&token_type=bearer`)
	f.Add(`{"device_code":"d","user_code":"A","verification_uri":"https://as.example/d","expires_in":1e99,"interval":-5}`,
		`{"error":"expired_token"}`)
	f.Add(`[]`, `null`)
	f.Fuzz(func(t *testing.T, device, token string) {
		client := &http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
			body, ct := token, "application/json"
			if strings.HasSuffix(r.URL.Path, "/device") {
				body = device
			}
			if strings.Contains(body, "=") && !strings.HasPrefix(body, "{") {
				ct = "application/x-www-form-urlencoded"
			}
			return &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {ct}}, Body: io.NopCloser(strings.NewReader(body)), Request: r}, nil
		})}
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		polls := 0
		flow := &DeviceFlow{Provider: &Provider{Name: "fake", ClientID: "c", Issuer: "https://as.example",
			DeviceAuthURL: "https://as.example/device", TokenURL: "https://as.example/token"}, HTTPClient: client,
			Sleep: func(ctx context.Context, d time.Duration) error {
				if polls++; polls > 3 {
					return context.Canceled
				}
				return nil
			}}
		var shown *DeviceCode
		tok, err := flow.Run(ctx, func(dc *DeviceCode) error { shown = dc; return nil })
		if shown != nil {
			if Sanitize(shown.UserCode, 64) != shown.UserCode || checkBrowserURL(shown.VerificationURI) != nil {
				t.Fatalf("unsafe code shown: %+v", shown)
			}
		}
		if err != nil {
			if tok != nil {
				t.Fatal("a token with an error")
			}
			if !classified(err) && !errors.Is(err, context.Canceled) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
		if tok.AccessToken == "" || !tokenChars(tok.AccessToken, false) {
			t.Fatalf("accepted token %q", tok.AccessToken)
		}
	})
}

// FuzzDiscovery: a discovery document is used only when it names the
// configured issuer and every endpoint it lists passes the URL check.
func FuzzDiscovery(f *testing.F) {
	f.Add(200, `{"issuer":"https://as.example","authorization_endpoint":"https://as.example/a","token_endpoint":"https://as.example/t","jwks_uri":"https://as.example/k"}`)
	f.Add(200, `{"issuer":"https://evil.example","token_endpoint":"https://evil.example/t"}`)
	f.Add(200, `{"issuer":"https://as.example","token_endpoint":"http://evil.example/t"}`)
	f.Add(200, `{"issuer":"https://as.example","token_endpoint":"javascript:x"}`)
	f.Add(200, `{"issuer":"https://as.example","code_challenge_methods_supported":"S256"}`)
	f.Add(302, ``)
	f.Add(200, `<html>`)
	f.Fuzz(func(t *testing.T, status int, body string) {
		if status < 100 || status > 599 {
			return
		}
		md, err := Discover(t.Context(), bodyClient(status, "application/json", []byte(body)), "https://as.example")
		if err != nil {
			if !classified(err) {
				t.Fatalf("unclassified error %T: %v", err, err)
			}
			return
		}
		if md.Issuer != "https://as.example" {
			t.Fatalf("used a document of issuer %q", md.Issuer)
		}
		for _, e := range []string{md.AuthorizationEndpoint, md.TokenEndpoint, md.DeviceEndpoint, md.RevocationEndpoint, md.UserinfoEndpoint, md.JWKSURI} {
			if e != "" && CheckEndpointURL(e) != nil {
				t.Fatalf("accepted endpoint %q", e)
			}
		}
	})
}

// FuzzJWKS: a JWK Set never panics the parser, and what it keeps are public
// signature keys.
func FuzzJWKS(f *testing.F) {
	f.Add(`{"keys":[{"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","use":"sig","kid":"1"}]}`)
	f.Add(`{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}`)
	f.Add(`{"keys":[{"kty":"RSA","n":"AQAB","e":"AQAB"}]}`)
	f.Add(`{"keys":[{"kty":"OKP","crv":"Ed448","x":"AAAA"},{"alg":"ES256K"}]}`)
	f.Add(`{"keys":{}}`)
	f.Add(`null`)
	f.Fuzz(func(t *testing.T, body string) {
		ks, err := parseJWKS([]byte(body))
		if err != nil {
			return
		}
		if len(ks.PublicKeys) == 0 {
			t.Fatal("an empty key set without an error")
		}
	})
}
