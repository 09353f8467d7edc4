package cmd

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/internal/browser"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// TestAccountsEndToEnd runs the whole account life cycle against the
// in-process certified OP, through the command line: two accounts of one
// provider (logged in with the real loopback login), status, switch, a
// token of each, whoami, then logout of one with revocation verified at the
// OP (its refresh token is refused afterwards) while the other still
// refreshes and checks out.
func TestAccountsEndToEnd(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("acme", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	store := keyring.NewMemory()
	run := func(open browser.Opener, args ...string) acResult {
		t.Helper()
		f, out, errOut := loginFactory(env, store, open, nil)
		return acResult{code: Run(t.Context(), f, args), out: out.String(), errOut: errOut.String()}
	}
	mustRun := func(args ...string) acResult {
		t.Helper()
		r := run(noBrowser(t), args...)
		if r.code != 0 {
			t.Fatalf("%v: exit %d\nstderr:\n%s", args, r.code, r.errOut)
		}
		return r
	}
	login := func(user string) {
		t.Helper()
		v, open := newVisitor(t, op, user)
		if r := run(open, "login", "acme"); r.code != 0 {
			t.Fatalf("login as %s: exit %d:\n%s", user, r.code, r.errOut)
		}
		v.result(t)
	}
	const first, second = "test-user@zitadel.ch", "test-user2@zitadel.ch"
	load := func(account string) *keyring.Record {
		t.Helper()
		rec, err := store.Load(context.Background(), keyring.Key{Provider: "acme", Account: account})
		if err != nil {
			t.Fatalf("keychain %s: %v", account, err)
		}
		return rec
	}

	// Two accounts of one provider; the first is the default.
	login(testop.Username)
	login(testop.OtherUsername)
	var status struct {
		Accounts []struct {
			Account     string `json:"account"`
			Default     bool   `json:"default"`
			Subject     string `json:"subject"`
			Refreshable bool   `json:"refreshable"`
		} `json:"accounts"`
	}
	if err := json.Unmarshal([]byte(mustRun("status", "acme", "--json").out), &status); err != nil {
		t.Fatal(err)
	}
	var listed []string
	for _, a := range status.Accounts {
		listed = append(listed, a.Account+" "+a.Subject+" default="+map[bool]string{true: "yes", false: "no"}[a.Default]+
			" refreshable="+map[bool]string{true: "yes", false: "no"}[a.Refreshable])
	}
	if diff := cmp.Diff([]string{second + " id2 default=no refreshable=yes", first + " id1 default=yes refreshable=yes"}, listed); diff != "" {
		t.Errorf("status (-want +got):\n%s", diff)
	}

	// switch, then a token of each account.
	if r := mustRun("switch", "acme", second); r.errOut != second+" is now the default acme account.\n" || r.out != "" {
		t.Errorf("switch: %+v", r)
	}
	if r := mustRun("token", "acme"); r.out != load(second).AccessToken+"\n" {
		t.Errorf("token of the default is not %s's", second)
	}
	if r := mustRun("token", "acme", "--account", first); r.out != load(first).AccessToken+"\n" {
		t.Errorf("token --account %s is not its token", first)
	}

	// whoami asks the OP's userinfo (found by discovery) about the default.
	r := mustRun("whoami", "acme")
	for _, want := range []string{"account:  " + second + "\n", "identity: " + second + "\n", "subject:  id2\n", "issuer:   " + op.Issuer + "\n"} {
		if !strings.Contains(r.out, want) {
			t.Errorf("whoami lacks %q:\n%s", want, r.out)
		}
	}
	if r := mustRun("whoami", "acme", "--account", first, "--json"); !strings.Contains(r.out, `"sub": "id1"`) {
		t.Errorf("whoami --json:\n%s", r.out)
	}

	// Logout of the default account revokes its refresh token at the OP.
	revoked := load(second)
	r = mustRun("logout", "acme")
	// It says which account is the default now (issue 9 item 7).
	if r.out != "" || r.errOut != "Revoked the tokens of "+second+" at acme.\nLogged out of acme ("+second+"); the stored tokens are deleted.\n"+
		"The default account of acme is now "+first+": `oauthctl token acme` prints its token.\n" {
		t.Errorf("logout: stdout %q stderr:\n%s", r.out, r.errOut)
	}
	var hints []string
	for _, req := range op.Requests() {
		if op.Issuer+req.Path == op.Endpoints().Revocation {
			if req.Status != http.StatusOK || req.Form.Get("client_id") != testop.NativeClientID {
				t.Errorf("revocation request: status %d client_id %q", req.Status, req.Form.Get("client_id"))
			}
			switch req.Form.Get("token") {
			case revoked.RefreshToken, revoked.AccessToken:
				hints = append(hints, req.Form.Get("token_type_hint"))
			default:
				t.Errorf("a revocation request carried another token")
			}
		}
	}
	if diff := cmp.Diff([]string{"refresh_token", "access_token"}, hints); diff != "" {
		t.Errorf("revocations (-want +got):\n%s", diff)
	}
	cfg := &oauth2.Config{ClientID: testop.NativeClientID, Endpoint: op.Endpoints().OAuth2()}
	octx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	_, err := cfg.TokenSource(octx, &oauth2.Token{RefreshToken: revoked.RefreshToken}).Token()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("the OP accepted the revoked refresh token: %v", err)
	}
	if _, err := store.Load(context.Background(), keyring.Key{Provider: "acme", Account: second}); !errors.Is(err, keyring.ErrNotFound) {
		t.Errorf("the logged-out tokens remain in the keychain: %v", err)
	}
	ix := env.loadIndex(t)
	if len(ix.Accounts) != 1 || ix.Accounts[0].Account != first || ix.Defaults["acme"] != first {
		t.Errorf("index after logout: %+v defaults %v", ix.Accounts, ix.Defaults)
	}
	if r := run(noBrowser(t), "token", "acme", "--account", second); r.code != ExitSignIn || r.out != "" {
		t.Errorf("token of the logged-out account: exit %d stdout %q", r.code, r.out)
	}

	// The other account still works: a forced refresh and status --check.
	before := load(first)
	if r := mustRun("token", "acme", "--force-refresh"); r.out == before.AccessToken+"\n" || r.out != load(first).AccessToken+"\n" {
		t.Errorf("forced refresh of %s did not hand out a new token", first)
	}
	if load(first).RefreshToken == before.RefreshToken {
		t.Errorf("the OP did not rotate %s's refresh token", first)
	}
	if r := mustRun("status", "--check"); r.errOut != "acme "+first+": ok\n" || !strings.Contains(r.out, first) {
		t.Errorf("status --check: stdout %q stderr %q", r.out, r.errOut)
	}
}

// TestStatusCheckRevoked: status --check with the real token path notices a
// refresh token the OP no longer accepts (revoked elsewhere): exit 4, the
// account marked "login required" in the table.
func TestStatusCheckRevoked(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	env := newLoginEnv(t, testopYAML("acme", op.Issuer, testop.NativeClientID, "openid, email, offline_access"))
	store := keyring.NewMemory()
	v, open := newVisitor(t, op, testop.Username)
	f, _, errOut := loginFactory(env, store, open, nil)
	if code := Run(t.Context(), f, []string{"login", "acme"}); code != 0 {
		t.Fatalf("login: %d\n%s", code, errOut)
	}
	v.result(t)
	key := keyring.Key{Provider: "acme", Account: "test-user@zitadel.ch"}
	rec, _ := store.Load(t.Context(), key)
	// Revoke behind oauthctl's back, and make the stored access token stale.
	resp, err := op.Client().PostForm(op.Endpoints().Revocation, map[string][]string{
		"token": {rec.RefreshToken}, "token_type_hint": {"refresh_token"}, "client_id": {testop.NativeClientID}})
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("revoking: %v %v", resp, err)
	}
	resp.Body.Close()
	rec.Expiry = rec.Expiry.Add(-24 * 60 * 60 * 1e9)
	_ = store.Save(t.Context(), key, rec)

	f, out, errOut := loginFactory(env, store, noBrowser(t), nil)
	code := Run(t.Context(), f, []string{"status", "--check"})
	if code != ExitSignIn {
		t.Errorf("exit %d, want 4\n%s", code, errOut)
	}
	if !strings.HasPrefix(errOut.String(), "acme test-user@zitadel.ch: ") || !strings.Contains(errOut.String(), "run: oauthctl login acme") {
		t.Errorf("stderr:\n%s", errOut)
	}
	col := strings.Index(out.String(), "LOGIN REQUIRED")
	row := rowOf(out.String(), "acme", "test-user@zitadel.ch")
	if col < 0 || len(row) <= col || !strings.HasPrefix(row[col:], "yes") {
		t.Errorf("table does not mark the login as required:\n%s", out)
	}
}
