package nodeop

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"

	"github.com/oauthctl/oauthctl/internal/testop"
)

// Browser stands in for the user's browser on node-oidc-provider's
// devInteractions pages: a testop.Navigator that signs in on the login page
// (any password works; the login becomes the subject, and the email is
// LOGIN@example.test) and confirms the consent page. The cookie jar keeps
// the OP's session, so a second Visit of the same Browser is the same
// person coming back.
type Browser struct {
	*testop.Navigator
	login string
	// Pages records the kind of every OP page submitted: "login" or
	// "consent", in order.
	Pages []string
}

// Result is what the CLI's loopback listener answered the browser.
type Result = testop.Result

// NewBrowser returns a browser that signs in to o as login.
func NewBrowser(o *OP, login string) *Browser {
	iss, _ := url.Parse(o.Issuer)
	return &Browser{Navigator: testop.NewNavigator(iss, nil), login: login}
}

// Visit opens authURL, signs in and consents as needed, then requests the
// loopback redirect_uri the OP sends the browser to (without following its
// redirects) and returns the answer.
func (b *Browser) Visit(ctx context.Context, authURL string) (*Result, error) {
	callback, err := b.FinalRedirect(ctx, authURL)
	if err != nil {
		return nil, err
	}
	return b.Callback(ctx, callback)
}

// FinalRedirect is Visit without its last request: it returns the loopback
// URL the OP redirected to, as a user would copy it from the address bar.
// Its steps:
//  1. GET authURL, following the OP's redirects;
//  2. on the login page (a form with a `login` field) submit the login and
//     a password; on the consent page submit its form as it is;
//  3. repeat 2 until a redirect leaves the issuer for a loopback URL.
func (b *Browser) FinalRedirect(ctx context.Context, authURL string) (string, error) {
	p, err := b.Start(ctx, authURL)
	for range 6 {
		if err != nil {
			return "", err
		}
		if p.Exit != nil {
			return p.Exit.String(), nil
		}
		p, err = b.submit(ctx, p)
	}
	if err != nil {
		return "", err
	}
	return "", fmt.Errorf("no redirect to the client after 6 pages; last at %s: %s", p.URL, pageText(p.Body))
}

// ApproveDevice enters userCode on the OP's device page, signs in and
// consents, and checks the OP's success page.
func (b *Browser) ApproveDevice(ctx context.Context, userCode string) error {
	p, err := b.Navigate(ctx, http.MethodGet, b.Issuer().JoinPath("device"), nil)
	if err != nil {
		return err
	}
	action, form, ok := testop.ParseForm(p.Body)
	if !ok {
		return fmt.Errorf("expected the device code form at %s, got status %d: %s", p.URL, p.Status, pageText(p.Body))
	}
	form.Set("user_code", userCode)
	if p, err = b.Submit(ctx, p, action, form); err != nil {
		return err
	}
	for range 6 {
		if _, _, ok := testop.ParseForm(p.Body); !ok {
			break
		}
		if p, err = b.submit(ctx, p); err != nil {
			return err
		}
	}
	if !strings.Contains(p.Body, "Sign-in Success") {
		return fmt.Errorf("device approval failed: status %d: %s", p.Status, pageText(p.Body))
	}
	return nil
}

// submit fills in and posts the form of an OP page.
func (b *Browser) submit(ctx context.Context, p *testop.Page) (*testop.Page, error) {
	action, form, ok := testop.ParseForm(p.Body)
	if !ok {
		return nil, fmt.Errorf("expected a login or consent form at %s, got status %d: %s", p.URL, p.Status, pageText(p.Body))
	}
	if _, isLogin := form["login"]; isLogin {
		form.Set("login", b.login)
		form.Set("password", "fake-password")
		b.Pages = append(b.Pages, "login")
	} else {
		b.Pages = append(b.Pages, "consent")
	}
	return b.Submit(ctx, p, action, form)
}

var tagRE = regexp.MustCompile(`(?s)<[^>]*>`)

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
