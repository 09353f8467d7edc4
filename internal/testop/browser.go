package testop

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
)

// Browser stands in for the user's browser on the example OP's pages: a
// Navigator that fills in the OP's login and device forms with one user's
// credentials.
type Browser struct {
	*Navigator
	username, password string
}

// NewBrowser returns a browser that logs in to op as username.
func NewBrowser(op *OP, username, password string) *Browser {
	return &Browser{Navigator: NewNavigator(op.issuerURL, op.Client().Transport), username: username, password: password}
}

// Visit opens authURL and logs in, then requests the loopback redirect_uri
// the OP sends the browser to exactly once (without following its redirects)
// and returns the answer. Its steps:
//  1. GET authURL, following the OP's redirects to its login form;
//  2. POST the form (its hidden id field, username, password) to its action;
//  3. follow the OP's redirects until one leaves the issuer for a loopback URL;
//  4. GET that URL.
//
// A redirect that reaches the loopback address without a login (e.g. an
// error=... response) is requested all the same.
func (b *Browser) Visit(ctx context.Context, authURL string) (*Result, error) {
	callback, err := b.FinalRedirect(ctx, authURL)
	if err != nil {
		return nil, err
	}
	return b.Callback(ctx, callback)
}

// LaunchURL is Navigator.Launch for any browser stand-in's client c.
func LaunchURL(ctx context.Context, c *http.Client, u string) (string, error) {
	pu, err := url.Parse(u)
	if err != nil || !IsLaunchAddress(pu) {
		return u, nil
	}
	next, err := OpenLaunchAddress(ctx, c, pu)
	if err != nil {
		return "", err
	}
	return next.String(), nil
}

// IsLaunchAddress reports whether u is oauthctl's one-time launch address
// (http://127.0.0.1:PORT/start/...), which the browser launcher is given
// instead of the authorization URL (docs/security.md).
func IsLaunchAddress(u *url.URL) bool {
	return isLoopback(u) && strings.HasPrefix(u.Path, "/start/")
}

// OpenLaunchAddress opens oauthctl's one-time launch address with c (whose
// cookie jar keeps the login cookie it sets, as a real browser's would) and
// returns the authorization URL it redirects to. Every browser stand-in
// opens it this way, so they all pass the callback's cookie check.
func OpenLaunchAddress(ctx context.Context, c *http.Client, u *url.URL) (*url.URL, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	resp, err := c.Do(req)
	if err != nil {
		return nil, fmt.Errorf("opening the launch address: %w", err)
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || loc == "" {
		return nil, fmt.Errorf("the launch address answered %d", resp.StatusCode)
	}
	return url.Parse(loc)
}

// FinalRedirect is Visit without step 4: it returns the loopback URL the OP
// redirected to, as a user would copy it from the address bar.
func (b *Browser) FinalRedirect(ctx context.Context, authURL string) (string, error) {
	p, err := b.Start(ctx, authURL)
	if err != nil {
		return "", err
	}
	if p.Exit != nil {
		return p.Exit.String(), nil
	}
	action, form, ok := ParseForm(p.Body)
	if _, hasPassword := form["password"]; !ok || !hasPassword {
		return "", fmt.Errorf("expected the login form at %s, got status %d: %.200s", p.URL, p.Status, p.Body)
	}
	form.Set("username", b.username)
	form.Set("password", b.password)
	if p, err = b.Submit(ctx, p, action, form); err != nil {
		return "", err
	}
	if p.Exit == nil {
		return "", fmt.Errorf("login as %s was not accepted: status %d: %s", b.username, p.Status, pageError(p.Body))
	}
	return p.Exit.String(), nil
}

// ApproveDevice logs in on the OP's device pages and approves the device
// authorization with userCode.
func (b *Browser) ApproveDevice(ctx context.Context, userCode string) error {
	return b.device(ctx, userCode, "allowed")
}

// DenyDevice logs in on the OP's device pages and denies the device
// authorization with userCode.
func (b *Browser) DenyDevice(ctx context.Context, userCode string) error {
	return b.device(ctx, userCode, "denied")
}

// device walks the example's device pages, where action is the value its
// confirm page sends, "allowed" or "denied". Its steps:
//  1. GET /device and submit the user code form (it posts to itself);
//  2. submit the login form that comes back (hidden user_code, username,
//     password), which renders the confirm page;
//  3. GET the confirm page's ./confirm?action=... link with the cookie set
//     in step 2.
func (b *Browser) device(ctx context.Context, userCode, action string) error {
	p, err := b.Navigate(ctx, http.MethodGet, b.Issuer().JoinPath("device"), nil)
	if err != nil {
		return err
	}
	for _, step := range []string{"user code", "login"} {
		target, form, ok := ParseForm(p.Body)
		if !ok {
			return fmt.Errorf("expected the device %s form at %s, got status %d: %s", step, p.URL, p.Status, pageError(p.Body))
		}
		form.Set("user_code", userCode)
		if step == "login" {
			form.Set("username", b.username)
			form.Set("password", b.password)
		}
		if p, err = b.Submit(ctx, p, target, form); err != nil {
			return err
		}
	}
	link := regexp.MustCompile(`location\.href='([^']*action=` + action + `)'`).FindStringSubmatch(p.Body)
	if link == nil {
		return fmt.Errorf("device login as %s was not accepted: status %d: %s", b.username, p.Status, pageError(p.Body))
	}
	confirm, err := p.URL.Parse(html.UnescapeString(link[1]))
	if err != nil {
		return err
	}
	if p, err = b.Navigate(ctx, http.MethodGet, confirm, nil); err != nil {
		return err
	}
	if want := "Device authorization " + action; !strings.Contains(p.Body, want) {
		return fmt.Errorf("device confirmation failed: status %d: %s", p.Status, pageError(p.Body))
	}
	return nil
}

// pageError returns the error message an OP page shows in red, or the start
// of the page if there is none.
func pageError(body string) string {
	if m := regexp.MustCompile(`(?s)<p style="color:\s*red[^"]*">\s*(.*?)\s*</p>`).FindStringSubmatch(body); m != nil && m[1] != "" {
		return html.UnescapeString(m[1])
	}
	return fmt.Sprintf("%.200q", body)
}
