package auth

import (
	"errors"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/internal/fakeas"
)

// browserStandIn is a browser: a cookie jar, redirects followed.
func browserStandIn(t *testing.T) *http.Client {
	t.Helper()
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	return &http.Client{Jar: jar, Timeout: 30 * time.Second}
}

// getNoFollow fetches u with c, without following redirects.
func getNoFollow(t *testing.T, c *http.Client, u string) *http.Response {
	t.Helper()
	cc := *c
	cc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := cc.Get(u)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	resp.Body.Close()
	return resp
}

// TestLaunchBrowserSucceeds: the browser oauthctl launched, with a cookie
// jar, goes launch address -> provider -> callback and signs in; the
// launcher's argument is the one-time loopback address, not the provider's
// authorization URL.
func TestLaunchBrowserSucceeds(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	argv := l.LaunchURL()
	if strings.Contains(argv, "state=") || strings.Contains(argv, as.URL) || !strings.HasPrefix(argv, "http://127.0.0.1:") {
		t.Fatalf("the launcher would see %s", argv)
	}
	browserCompletes(t, l, argv)
}

// browserCompletes opens launch in a fresh browser stand-in, which follows
// the redirects to the callback, and checks that the login completes: the
// browser ends on HTTP 200, and Wait and Finish succeed.
func browserCompletes(t *testing.T, l *Login, launch string) {
	t.Helper()
	resp, err := browserStandIn(t).Get(launch)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("the browser ended on HTTP %d", resp.StatusCode)
	}
	if err := waitOutcome(t, l); err != nil {
		t.Fatalf("Wait: %v", err)
	}
	if _, _, err := l.Finish(t.Context()); err != nil {
		t.Fatalf("Finish: %v", err)
	}
}

// TestLaunchArgvAttack reproduces issue 10 item 1: another local user
// polls the launcher's command line and completes that exact request with
// his own account. What he can read now is the one-time launch address:
//   - visited after the victim's browser, it aborts the login;
//   - visited first, the victim's browser then aborts it, and his callback
//     (cookie or not) finds the login over;
//   - a callback of his without the launch cookie is refused and the login
//     goes on.
//
// In every case nothing is exchanged for him.
func TestLaunchArgvAttack(t *testing.T) {
	t.Parallel()
	t.Run("attacker opens the link after the browser", func(t *testing.T) {
		t.Parallel()
		as := fakeas.Start(t)
		l := startLogin(t, as, nil)
		argv := l.LaunchURL()
		victim := browserStandIn(t)
		if r := getNoFollow(t, victim, argv); r.StatusCode != http.StatusFound {
			t.Fatalf("launch address answered %d to the browser", r.StatusCode)
		}
		// The attacker, reading argv, opens the same address.
		attacker := browserStandIn(t)
		if r := getNoFollow(t, attacker, argv); r.StatusCode != http.StatusGone || r.Header.Get("Location") != "" {
			t.Fatalf("second visit: %d, Location %q", r.StatusCode, r.Header.Get("Location"))
		}
		err := waitOutcome(t, l)
		if !errors.Is(err, ErrLaunchReused) || !errors.Is(err, ErrLoginFailed) || !strings.Contains(err.Error(), "nothing was stored") {
			t.Fatalf("Wait = %v, want ErrLaunchReused", err)
		}
		if n := len(as.TokenRequests()); n != 0 {
			t.Errorf("%d token requests", n)
		}
	})
	t.Run("attacker opens the link first and completes", func(t *testing.T) {
		t.Parallel()
		as := fakeas.Start(t)
		l := startLogin(t, as, nil)
		argv := l.LaunchURL()
		attacker := browserStandIn(t)
		r := getNoFollow(t, attacker, argv)
		if r.StatusCode != http.StatusFound {
			t.Fatalf("first visit: %d", r.StatusCode)
		}
		// The victim's browser arrives: the link was used, the login ends.
		if r := getNoFollow(t, browserStandIn(t), argv); r.StatusCode != http.StatusGone {
			t.Fatalf("the victim's visit: %d", r.StatusCode)
		}
		// The attacker signs in with his account and comes back with the code.
		// (The port is closed by now, or the callback is refused.)
		if resp, err := attacker.Get(r.Header.Get("Location")); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				t.Errorf("the attacker's callback was answered 200")
			}
		}
		if err := waitOutcome(t, l); !errors.Is(err, ErrLaunchReused) {
			t.Fatalf("Wait = %v, want ErrLaunchReused", err)
		}
		if n := len(as.TokenRequests()); n != 0 {
			t.Errorf("%d token requests", n)
		}
	})
	t.Run("callback without the launch cookie", func(t *testing.T) {
		t.Parallel()
		as := fakeas.Start(t)
		l := startLogin(t, as, nil)
		l.LaunchURL()
		// The attacker somehow holds the authorization URL (as he did when
		// it was on argv) and completes it with a cookie-less client of
		// another user. Here the test's own uid stands in for him, so the
		// same-user allowance is bypassed by dropping the peer check:
		// only the cookie decides.
		loc, err := as.Follow(l.AuthURL())
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequestWithContext(t.Context(), http.MethodGet, loc, nil)
		rec := newRecorder()
		l.ServeHTTP(rec, req)
		if rec.status != http.StatusForbidden {
			t.Fatalf("cookie-less callback: %d, want 403", rec.status)
		}
		// The genuine browser still completes.
		browserCompletes(t, l, l.LaunchURL())
	})
}

// TestLaunchFailed: when the launcher could not open a browser before
// anything visited the address, the address is dead (a visit aborts) and
// the printed authorization URL works in any browser, without a cookie.
func TestLaunchFailed(t *testing.T) {
	t.Parallel()
	as := fakeas.Start(t)
	l := startLogin(t, as, nil)
	l.LaunchURL()
	l.LaunchFailed()
	completes(t, as, l)

	l2 := startLogin(t, as, nil)
	argv := l2.LaunchURL()
	l2.LaunchFailed()
	if r := getNoFollow(t, browserStandIn(t), argv); r.StatusCode != http.StatusGone {
		t.Fatalf("a dead launch address answered %d", r.StatusCode)
	}
	// The visit is most likely the user's: the error says what happened,
	// not "opened by something else".
	if err := waitOutcome(t, l2); !errors.Is(err, ErrLaunchReused) || !errors.Is(err, ErrLoginFailed) ||
		!strings.Contains(err.Error(), "opened after the browser launcher failed") || strings.Contains(err.Error(), "something else") {
		t.Fatalf("Wait = %v, want ErrLaunchReused saying the launcher failed", err)
	}
}

// recorder is a minimal http.ResponseWriter for calling ServeHTTP on a
// request without a connection (no peer: the OS cannot vouch for it).
type recorder struct {
	header http.Header
	status int
	body   strings.Builder
}

func newRecorder() *recorder { return &recorder{header: http.Header{}} }

func (r *recorder) Header() http.Header { return r.header }
func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	return r.body.Write(b)
}
func (r *recorder) WriteHeader(s int) { r.status = s }
