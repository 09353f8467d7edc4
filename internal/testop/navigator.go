package testop

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/loopback"
)

// Navigator is the part of a browser stand-in that knows nothing of an
// OP's pages, shared by this package's Browser (zitadel's example OP) and
// nodeop's (node-oidc-provider): an HTTP client with a cookie jar that
// follows the OP's redirects itself, only within the issuer. A redirect to
// any other loopback address is the end of the login (the CLI's
// redirect_uri), and one to any other host is an error.
type Navigator struct {
	issuer *url.URL
	client *http.Client
}

// Result is what the CLI's loopback listener answered the browser.
type Result struct {
	// URL is the redirect_uri with the OP's parameters (code, state, iss or
	// error).
	URL        string
	StatusCode int
	Body       string
}

// Page is where Navigate stopped: an OP page, or Exit, a redirect off the
// issuer to a loopback address.
type Page struct {
	URL    *url.URL
	Status int
	Body   string
	Exit   *url.URL
}

// NewNavigator returns a navigator for the OP at issuer whose requests go
// through tr (nil: a fresh transport of its own, so that no other test's
// server shuts its connections).
func NewNavigator(issuer *url.URL, tr http.RoundTripper) *Navigator {
	if tr == nil {
		tr = &http.Transport{Proxy: nil, DisableKeepAlives: true}
	}
	jar, _ := cookiejar.New(nil) // never fails without options
	return &Navigator{
		issuer: issuer,
		client: &http.Client{
			Transport:     tr,
			Jar:           jar,
			Timeout:       30 * time.Second,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
}

// Issuer is the OP's issuer URL.
func (n *Navigator) Issuer() *url.URL { return n.issuer }

// Launch opens u if it is oauthctl's one-time launch address (keeping the
// cookie it sets) and returns the authorization URL it redirects to; any
// other URL is returned as it is.
func (n *Navigator) Launch(ctx context.Context, u string) (string, error) {
	return LaunchURL(ctx, n.client, u)
}

// Start opens authURL as a browser the launcher started would: through
// oauthctl's one-time launch address when it is one (which sets the login
// cookie in the jar and redirects to the authorization URL), then on the
// issuer, following its redirects to its first page.
func (n *Navigator) Start(ctx context.Context, authURL string) (*Page, error) {
	u, err := url.Parse(authURL)
	if err != nil {
		return nil, fmt.Errorf("parsing the authorization URL: %w", err)
	}
	if IsLaunchAddress(u) {
		if u, err = OpenLaunchAddress(ctx, n.client, u); err != nil {
			return nil, err
		}
	}
	if !n.onIssuer(u) {
		return nil, fmt.Errorf("authorization URL %s is not on the issuer %s", authURL, n.issuer)
	}
	return n.Navigate(ctx, http.MethodGet, u, nil)
}

// Callback requests the loopback redirect_uri the OP sent the browser to,
// exactly once and without following its redirects, and returns the answer.
func (n *Navigator) Callback(ctx context.Context, callback string) (*Result, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, callback, nil)
	if err != nil {
		return nil, err
	}
	resp, err := n.client.Do(req)
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

// Submit posts the first form of page p with form's values to its action
// and follows the redirects that come back.
func (n *Navigator) Submit(ctx context.Context, p *Page, action *url.URL, form url.Values) (*Page, error) {
	return n.Navigate(ctx, http.MethodPost, p.URL.ResolveReference(action), form)
}

// Navigate requests u (a form post when form is not nil) and follows the
// OP's redirects with GET until an OP page or a loopback redirect.
func (n *Navigator) Navigate(ctx context.Context, method string, u *url.URL, form url.Values) (*Page, error) {
	for range 10 {
		if !n.onIssuer(u) {
			if !isLoopback(u) {
				return nil, fmt.Errorf("refusing to follow a redirect to %s: neither the issuer nor a loopback address", u)
			}
			return &Page{Exit: u}, nil
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
		req.Header.Set("Accept", "text/html") // as a browser would
		resp, err := n.client.Do(req)
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
			return &Page{URL: u, Status: resp.StatusCode, Body: string(data)}, nil
		}
		if u, err = u.Parse(loc); err != nil {
			return nil, fmt.Errorf("parsing the redirect to %q: %w", loc, err)
		}
		method, form = http.MethodGet, nil
	}
	return nil, fmt.Errorf("too many redirects, last to %s", u)
}

func (n *Navigator) onIssuer(u *url.URL) bool {
	return u.Scheme == n.issuer.Scheme && u.Host == n.issuer.Host
}

// isLoopback reports whether u is an http URL on a loopback address.
func isLoopback(u *url.URL) bool {
	return u.Scheme == "http" && loopback.IsHost(u.Hostname())
}

var (
	formRE  = regexp.MustCompile(`(?is)<form\b([^>]*)>(.*?)</form>`)
	attrRE  = regexp.MustCompile(`([\w-]+)="([^"]*)"`)
	inputRE = regexp.MustCompile(`(?i)<input\b[^>]*>`)
)

// ParseForm returns the action and the named inputs of the first form in an
// OP page. The test OPs' templates are fixed and simple, so regular
// expressions suffice.
func ParseForm(body string) (*url.URL, url.Values, bool) {
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
