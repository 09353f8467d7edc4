package cmd

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// TestTokenAdaptiveMinTTL is the regression test of issue 9 item 4: with
// 60 s access tokens and the default --min-ttl, every call refreshed and
// warned. The default margin is min(60 s, half the granted lifetime): a
// 60 s token is reused for 30 s; a warning comes only for an explicit
// --min-ttl above what a fresh token gives, compared exactly.
func TestTokenAdaptiveMinTTL(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name        string
		lifetime    time.Duration // granted at issue (Expiry - IssuedAt)
		age         time.Duration // time since issue
		args        []string
		answerLife  int // expires_in of the refresh answer
		wantRefresh int
		wantErr     string
	}{
		{name: "60 s token at 29 s: reused", lifetime: time.Minute, age: 29 * time.Second},
		{name: "60 s token at 30 s: reused (exactly half left)", lifetime: time.Minute, age: 30 * time.Second},
		{name: "60 s token at 30.4 s: refreshed, no warning", lifetime: time.Minute, age: 30*time.Second + 400*time.Millisecond,
			answerLife: 60, wantRefresh: 1},
		{name: "1 h token with 61 s left: reused", lifetime: time.Hour, age: time.Hour - 61*time.Second},
		{name: "1 h token with 59 s left: refreshed", lifetime: time.Hour, age: time.Hour - 59*time.Second, answerLife: 3600, wantRefresh: 1},
		{name: "unknown lifetime (old record), 59 s left: refreshed as before", age: -1, answerLife: 60, wantRefresh: 1},
		{name: "explicit --min-ttl 60s equal to the lifetime: refreshed, no warning", lifetime: time.Minute, age: time.Second,
			args: []string{"--min-ttl", "60s"}, answerLife: 60, wantRefresh: 1},
		{name: "explicit --min-ttl above the lifetime: warned once", lifetime: time.Minute, age: time.Second,
			args: []string{"--min-ttl", "2m"}, answerLife: 60, wantRefresh: 1,
			wantErr: "warning: the provider issued an access token valid for 1m, less than --min-ttl 2m\n"},
		{name: "explicit --min-ttl 60s, 59.6 s left: refreshed (not rounded up to 60 s), no warning", lifetime: time.Minute,
			age: 400 * time.Millisecond, args: []string{"--min-ttl", "60s"}, answerLife: 60, wantRefresh: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			body := fmt.Sprintf(`{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":%d}`, tt.answerLife)
			ts := newTkTokenServer(t, tkJSON(200, body))
			e := newTkEnv(t, fixedYAML(ts.srv.URL))
			acct := fakeAccount(ts.srv.URL)
			now := e.clock()
			rec := &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer"}
			if tt.age < 0 {
				rec.Expiry = now.Add(59 * time.Second)
			} else {
				rec.IssuedAt = now.Add(-tt.age)
				rec.Expiry = rec.IssuedAt.Add(tt.lifetime)
			}
			e.seed(acct, rec)
			got := e.run(append([]string{"token", "fake"}, tt.args...)...)
			wantOut := "fake-at-old\n"
			if tt.wantRefresh > 0 {
				wantOut = "fake-at-new\n"
			}
			if got.code != 0 || got.out != wantOut || got.errOut != tt.wantErr {
				t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, %q", got.code, got.out, got.errOut, wantOut, tt.wantErr)
			}
			if n := len(ts.refreshTokens()); n != tt.wantRefresh {
				t.Errorf("%d refreshes, want %d", n, tt.wantRefresh)
			}
		})
	}
}

// TestTokenAdaptiveMinTTLNextCall: after a refresh to a 60 s token, the next
// calls in the following 30 s use it (the record keeps the issue time).
func TestTokenAdaptiveMinTTLNextCall(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, tkJSON(200, `{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":60}`))
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer", Expiry: e.clock().Add(-time.Second)})
	for i, step := range []time.Duration{0, 10 * time.Second, 10 * time.Second, 9 * time.Second} {
		e.advance(step)
		if got := e.run("token", "fake"); got.code != 0 || got.out != "fake-at-new\n" || got.errOut != "" {
			t.Fatalf("call %d: %+v", i, got)
		}
	}
	if n := len(ts.refreshTokens()); n != 1 {
		t.Errorf("%d refreshes over 29 s of 60 s tokens, want 1", n)
	}
}

// TestTokenRefreshRefusedWithoutBody is the regression test of issue 9 item
// 2 at the command level: a 400 with an empty body on refresh is a
// rejected grant: exit 4 with the login hint, and the account is marked
// login-required (status says so), not served as "unavailable" forever.
func TestTokenRefreshRefusedWithoutBody(t *testing.T) {
	t.Parallel()
	ts := newTkTokenServer(t, func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusBadRequest) })
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer", Expiry: e.clock().Add(-time.Minute)})
	got := e.run("token", "fake")
	if got.code != ExitSignIn || got.out != "" || !strings.HasSuffix(got.errOut, "\nrun: oauthctl login fake\n") ||
		!strings.Contains(got.errOut, "HTTP 400") {
		t.Errorf("exit %d, stdout %q, stderr %q; want exit 4 with the login hint", got.code, got.out, got.errOut)
	}
	if a := e.index().Find("fake", acct.Account); a == nil || !a.LoginRequired {
		t.Errorf("index entry %+v, want login required", a)
	}
	// The next call does not send the dead refresh token again.
	if got := e.run("token", "fake"); got.code != ExitSignIn {
		t.Errorf("second call: exit %d, want 4", got.code)
	}
	if n := len(ts.refreshTokens()); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
}

// TestTokenRemembersClientAuth: the method the token endpoint accepted is
// kept in the account index and used first next time, so a client
// registered for client_secret_post is not probed with HTTP Basic on every
// refresh (issue 9 item 1).
func TestTokenRemembersClientAuth(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	var methods []string
	ts := newTkTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
		_, _, basic := r.BasicAuth()
		mu.Lock()
		methods = append(methods, map[bool]string{true: "basic", false: "post"}[basic])
		mu.Unlock()
		if basic {
			tkJSON(401, `{"error":"invalid_client","error_description":"client authentication failed"}`)(w, r)
			return
		}
		tkJSON(200, `{"access_token":"fake-at-new","refresh_token":"fake-rt-new","token_type":"Bearer","expires_in":3600}`)(w, r)
	})
	e := newTkEnv(t, fixedYAML(ts.srv.URL))
	e.setenv("OAUTHCTL_FAKE_CLIENT_SECRET", "fake-secret")
	acct := fakeAccount(ts.srv.URL)
	e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", TokenType: "Bearer", Expiry: e.clock().Add(-time.Minute)})
	if got := e.run("token", "fake"); got.code != 0 || got.out != "fake-at-new\n" {
		t.Fatalf("first refresh: %+v", got)
	}
	if a := e.index().Find("fake", acct.Account); a == nil || a.ClientAuth != "client_secret_post" {
		t.Fatalf("index entry %+v, want token_endpoint_auth_method client_secret_post remembered", a)
	}
	if got := e.run("token", "fake", "--force-refresh"); got.code != 0 {
		t.Fatalf("second refresh: %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if strings.Join(methods, ",") != "basic,post,post" {
		t.Errorf("client authentication per request %v, want basic,post then post only", methods)
	}
}
