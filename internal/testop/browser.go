package testop

import (
	"context"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Browser stands in for the user's browser: an HTTP client with a cookie
// jar that follows the OP's redirects itself and fills in the OP's login and
// device forms with one user's credentials. It follows redirects only within
// the issuer; a redirect to any other loopback address is the end of the
// login (the CLI's redirect_uri), and one to any other host is an error.
type Browser struct {
	issuer             *url.URL
	username, password string
	client             *http.Client
}

// Result is what the CLI's loopback listener answered the browser.
type Result struct {
	// URL is the redirect_uri with the OP's parameters (code, state or error).
	URL        string
	StatusCode int
	Body       string
}

// NewBrowser returns a browser that logs in to op as username.
func NewBrowser(op *OP, username, password string) *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Browser{
		issuer:   op.issuerURL,
		username: username,
		password: password,
		client: &http.Client{
			Transport:     op.Client().Transport,
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
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
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callback, nil)
	if err != nil {
		return nil, err
	}
	resp, err := b.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("requesting the redirect_uri: %w", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("reading the redirect_uri's answer: %w", err)
	}
	return &Result{URL: callback, StatusCode: resp.StatusCode, Body: string(body)}, nil
}

// Launch opens u in this browser if it is oauthctl's one-time launch
// address (keeping its cookie) and returns the authorization URL it
// redirects to; any other URL is returned as it is.
func (b *Browser) Launch(ctx context.Context, u string) (string, error) {
	return LaunchURL(ctx, b.client, u)
}

// LaunchURL is Browser.Launch for any browser stand-in's client c.
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

// launch opens oauthctl's one-time launch address and returns where it
// redirects.
func (b *Browser) launch(ctx context.Context, u *url.URL) (*url.URL, error) {
	return OpenLaunchAddress(ctx, b.client, u)
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
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("parsing the authorization URL: %w", err)
	}
	if IsLaunchAddress(u) {
		// oauthctl's one-time launch address: it sets the login cookie (in
		// the jar) and redirects to the authorization URL, as a browser
		// opened by the launcher sees it.
		if u, err = b.launch(ctx, u); err != nil {
			return "", err
		}
	}
	if !b.onIssuer(u) {
		return "", fmt.Errorf("authorization URL %s is not on the issuer %s", authURL, b.issuer)
	}
	p, err := b.navigate(ctx, http.MethodGet, u, nil)
	if err != nil {
		return "", err
	}
	if p.exit != nil {
		return p.exit.String(), nil
	}
	action, form, ok := parseForm(p.body)
	if _, hasPassword := form["password"]; !ok || !hasPassword {
		return "", fmt.Errorf("expected the login form at %s, got status %d: %.200s", p.url, p.status, p.body)
	}
	form.Set("username", b.username)
	form.Set("password", b.password)
	if p, err = b.navigate(ctx, http.MethodPost, p.url.ResolveReference(action), form); err != nil {
		return "", err
	}
	if p.exit == nil {
		return "", fmt.Errorf("login as %s was not accepted: status %d: %s", b.username, p.status, pageError(p.body))
	}
	return p.exit.String(), nil
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
	p, err := b.navigate(ctx, http.MethodGet, b.issuer.JoinPath("device"), nil)
	if err != nil {
		return err
	}
	for _, step := range []string{"user code", "login"} {
		target, form, ok := parseForm(p.body)
		if !ok {
			return fmt.Errorf("expected the device %s form at %s, got status %d: %s", step, p.url, p.status, pageError(p.body))
		}
		form.Set("user_code", userCode)
		if step == "login" {
			form.Set("username", b.username)
			form.Set("password", b.password)
		}
		if p, err = b.navigate(ctx, http.MethodPost, p.url.ResolveReference(target), form); err != nil {
			return err
		}
	}
	link := regexp.MustCompile(`location\.href='([^']*action=` + action + `)'`).FindStringSubmatch(p.body)
	if link == nil {
		return fmt.Errorf("device login as %s was not accepted: status %d: %s", b.username, p.status, pageError(p.body))
	}
	confirm, err := p.url.Parse(html.UnescapeString(link[1]))
	if err != nil {
		return err
	}
	if p, err = b.navigate(ctx, http.MethodGet, confirm, nil); err != nil {
		return err
	}
	if want := "Device authorization " + action; !strings.Contains(p.body, want) {
		return fmt.Errorf("device confirmation failed: status %d: %s", p.status, pageError(p.body))
	}
	return nil
}

// page is where navigate stopped: an OP page, or exit, a redirect off the
// issuer to a loopback address.
type page struct {
	url    *url.URL
	status int
	body   string
	exit   *url.URL
}

// navigate requests u (a form post when form is not nil) and follows the
// OP's redirects with GET until an OP page or a loopback redirect.
func (b *Browser) navigate(ctx context.Context, method string, u *url.URL, form url.Values) (*page, error) {
	for range 10 {
		if !b.onIssuer(u) {
			if !isLoopback(u) {
				return nil, fmt.Errorf("refusing to follow a redirect to %s: neither the issuer nor a loopback address", u)
			}
			return &page{exit: u}, nil
		}
		var body io.Reader
		if form != nil {
			body = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, u.String(), body)
		if err != nil {
			return nil, err
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := b.client.Do(req)
		if err != nil {
			return nil, err
		}
		data, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("reading %s: %w", u, err)
		}
		loc := resp.Header.Get("Location")
		if resp.StatusCode < 300 || resp.StatusCode > 399 || loc == "" {
			return &page{url: u, status: resp.StatusCode, body: string(data)}, nil
		}
		if u, err = u.Parse(loc); err != nil {
			return nil, fmt.Errorf("parsing the redirect to %q: %w", loc, err)
		}
		method, form = http.MethodGet, nil
	}
	return nil, fmt.Errorf("too many redirects, last to %s", u)
}

func (b *Browser) onIssuer(u *url.URL) bool {
	return u.Scheme == b.issuer.Scheme && u.Host == b.issuer.Host
}

// isLoopback reports whether u is an http URL on a loopback address.
func isLoopback(u *url.URL) bool {
	host := u.Hostname()
	ip := net.ParseIP(host)
	return u.Scheme == "http" && (host == "localhost" || ip != nil && ip.IsLoopback())
}

// parseForm returns the action and the named inputs of the first form in an
// OP page. The example's templates are fixed and simple, so regular
// expressions suffice.
func parseForm(body string) (*url.URL, url.Values, bool) {
	m := regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`).FindStringSubmatch(body)
	if m == nil {
		return nil, nil, false
	}
	attr := regexp.MustCompile(`([\w-]+)="([^"]*)"`)
	attrs := func(tag string) map[string]string {
		out := make(map[string]string)
		for _, a := range attr.FindAllStringSubmatch(tag, -1) {
			out[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		return out
	}
	action, err := url.Parse(attrs(m[1])["action"]) // "" submits to the page itself
	if err != nil {
		return nil, nil, false
	}
	form := make(url.Values)
	for _, input := range regexp.MustCompile(`(?i)<input\b[^>]*>`).FindAllString(m[2], -1) {
		if a := attrs(input); a["name"] != "" {
			form.Set(a["name"], a["value"])
		}
	}
	return action, form, true
}

// pageError returns the error message an OP page shows in red, or the start
// of the page if there is none.
func pageError(body string) string {
	if m := regexp.MustCompile(`(?s)<p style="color:\s*red[^"]*">\s*(.*?)\s*</p>`).FindStringSubmatch(body); m != nil && m[1] != "" {
		return html.UnescapeString(m[1])
	}
	return fmt.Sprintf("%.200q", body)
}
