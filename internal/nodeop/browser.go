package nodeop

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

	"github.com/oauthctl/oauthctl/internal/testop"
)

// Browser stands in for the user's browser on node-oidc-provider's
// devInteractions pages: an HTTP client with a cookie jar that follows the
// OP's redirects itself, signs in on the login page (any password works; the
// login becomes the subject, and the email is LOGIN@example.test) and
// confirms the consent page. It follows redirects only within the issuer; a
// redirect to another loopback address ends the login (the CLI's
// redirect_uri), and one to any other host is an error. The cookie jar
// keeps the OP's session, so a second Visit of the same Browser is the same
// person coming back.
type Browser struct {
	issuer *url.URL
	login  string
	client *http.Client
	// Pages records the kind of every OP page submitted: "login" or
	// "consent", in order.
	Pages []string
}

// Result is what the CLI's loopback listener answered the browser.
type Result struct {
	// URL is the redirect_uri with the OP's parameters (code, state, iss or
	// error).
	URL        string
	StatusCode int
	Body       string
}

// NewBrowser returns a browser that signs in to o as login.
func NewBrowser(o *OP, login string) *Browser {
	jar, _ := cookiejar.New(nil) // never fails without options
	iss, _ := url.Parse(o.Issuer)
	return &Browser{
		issuer: iss,
		login:  login,
		client: &http.Client{
			Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Visit opens authURL, signs in and consents as needed, then requests the
// loopback redirect_uri the OP sends the browser to (without following its
// redirects) and returns the answer.
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

// Launch opens u if it is oauthctl's one-time launch address (keeping the
// cookie it sets) and returns the authorization URL it redirects to; any
// other URL is returned as it is.
func (b *Browser) Launch(ctx context.Context, u string) (string, error) {
	return testop.LaunchURL(ctx, b.client, u)
}

// FinalRedirect is Visit without its last request: it returns the loopback
// URL the OP redirected to, as a user would copy it from the address bar.
// Its steps:
//  1. GET authURL, following the OP's redirects;
//  2. on the login page (a form with a `login` field) submit the login and
//     a password; on the consent page submit its form as it is;
//  3. repeat 2 until a redirect leaves the issuer for a loopback URL.
func (b *Browser) FinalRedirect(ctx context.Context, authURL string) (string, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return "", fmt.Errorf("parsing the authorization URL: %w", err)
	}
	if testop.IsLaunchAddress(u) {
		// oauthctl's one-time launch address: it sets the login cookie (in
		// the jar) and redirects to the authorization URL, as a browser
		// opened by the launcher sees it.
		if u, err = testop.OpenLaunchAddress(ctx, b.client, u); err != nil {
			return "", err
		}
	}
	if !b.onIssuer(u) {
		return "", fmt.Errorf("authorization URL %s is not on the issuer %s", authURL, b.issuer)
	}
	p, err := b.navigate(ctx, http.MethodGet, u, nil)
	for range 6 {
		if err != nil {
			return "", err
		}
		if p.exit != nil {
			return p.exit.String(), nil
		}
		p, err = b.submit(ctx, p)
	}
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("no redirect to the client after 6 pages; last at %s: %s", p.url, pageText(p.body))
}

// ApproveDevice enters userCode on the OP's device page, signs in and
// consents, and checks the OP's success page.
func (b *Browser) ApproveDevice(ctx context.Context, userCode string) error {
	p, err := b.navigate(ctx, http.MethodGet, b.issuer.JoinPath("device"), nil)
	if err != nil {
		return err
	}
	action, form, ok := parseForm(p.body)
	if !ok {
		return fmt.Errorf("expected the device code form at %s, got status %d: %s", p.url, p.status, pageText(p.body))
	}
	form.Set("user_code", userCode)
	if p, err = b.navigate(ctx, http.MethodPost, p.url.ResolveReference(action), form); err != nil {
		return err
	}
	for range 6 {
		if _, _, ok := parseForm(p.body); !ok {
			break
		}
		if p, err = b.submit(ctx, p); err != nil {
			return err
		}
	}
	if !strings.Contains(p.body, "Sign-in Success") {
		return fmt.Errorf("device approval failed: status %d: %s", p.status, pageText(p.body))
	}
	return nil
}

// submit fills in and posts the form of an OP page.
func (b *Browser) submit(ctx context.Context, p *page) (*page, error) {
	action, form, ok := parseForm(p.body)
	if !ok {
		return nil, fmt.Errorf("expected a login or consent form at %s, got status %d: %s", p.url, p.status, pageText(p.body))
	}
	if _, isLogin := form["login"]; isLogin {
		form.Set("login", b.login)
		form.Set("password", "fake-password")
		b.Pages = append(b.Pages, "login")
	} else {
		b.Pages = append(b.Pages, "consent")
	}
	return b.navigate(ctx, http.MethodPost, p.url.ResolveReference(action), form)
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
		req.Header.Set("Accept", "text/html")
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

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	attrRE  = regexp.MustCompile(`([\w-]+)="([^"]*)"`)
	inputRE = regexp.MustCompile(`(?i)<input\b[^>]*>`)
	tagRE   = regexp.MustCompile(`(?s)<[^>]*>`)
)

// parseForm returns the action and the named inputs of the first form in an
// OP page. The devInteractions templates are fixed and simple, so regular
// expressions suffice.
func parseForm(body string) (*url.URL, url.Values, bool) {
	m := formRE.FindStringSubmatch(body)
	if m == nil {
		return nil, nil, false
	}
	attrs := func(tag string) map[string]string {
		out := make(map[string]string)
		for _, a := range attrRE.FindAllStringSubmatch(tag, -1) {
			out[strings.ToLower(a[1])] = html.UnescapeString(a[2])
		}
		return out
	}
	action, err := url.Parse(attrs(m[1])["action"]) // "" submits to the page itself
	if err != nil {
		return nil, nil, false
	}
	form := make(url.Values)
	for _, input := range inputRE.FindAllString(m[2], -1) {
		if a := attrs(input); a["name"] != "" {
			form.Set(a["name"], a["value"])
		}
	}
	return action, form, true
}

// pageText is the start of a page's visible text, for error messages.
func pageText(body string) string {
	if i := strings.Index(body, "<body"); i >= 0 {
		body = body[i:]
	}
	text := strings.Join(strings.Fields(html.UnescapeString(tagRE.ReplaceAllString(body, " "))), " ")
	if len(text) > 300 {
		text = text[:300] + "…"
	}
	return text
}
