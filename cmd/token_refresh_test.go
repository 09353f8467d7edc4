package cmd

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/testop"
	"github.com/oauthctl/oauthctl/keyring"
)

// rtSigner signs ID tokens with RS256 and serves its public key as a JWKS.
type rtSigner struct {
	key *rsa.PrivateKey
	kid string
}

func newRTSigner(t *testing.T, kid string) *rtSigner {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return &rtSigner{key: key, kid: kid}
}

// sign returns a compact JWS of claims.
func (s *rtSigner) sign(t *testing.T, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	header, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "kid": s.kid})
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatal(err)
	}
	input := enc(header) + "." + enc(payload)
	sum := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, s.key, crypto.SHA256, sum[:])
	if err != nil {
		t.Fatal(err)
	}
	return input + "." + enc(sig)
}

func (s *rtSigner) jwks() string {
	enc := base64.RawURLEncoding.EncodeToString
	k := map[string]string{"kty": "RSA", "kid": s.kid, "alg": "RS256", "use": "sig",
		"n": enc(s.key.N.Bytes()), "e": enc(big.NewInt(int64(s.key.E)).Bytes())}
	b, _ := json.Marshal(map[string]any{"keys": []any{k}})
	return string(b)
}

// rtServer is a fake provider: POST /token answers refresh requests with
// handler and records the refresh tokens sent, GET /jwks serves the
// signer's keys and counts the requests.
type rtServer struct {
	srv      *httptest.Server
	mu       sync.Mutex
	sent     []string
	jwksHits int
}

func newRTServer(t *testing.T, signer *rtSigner, handler http.HandlerFunc) *rtServer {
	rs := &rtServer{}
	rs.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/jwks":
			rs.mu.Lock()
			rs.jwksHits++
			rs.mu.Unlock()
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, signer.jwks())
		case "/token":
			_ = r.ParseForm()
			rs.mu.Lock()
			rs.sent = append(rs.sent, r.PostForm.Get("refresh_token"))
			rs.mu.Unlock()
			handler(w, r)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(rs.srv.Close)
	return rs
}

func (rs *rtServer) tokenURL() string { return rs.srv.URL + "/token" }

func (rs *rtServer) refreshTokens() []string {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return append([]string(nil), rs.sent...)
}

func (rs *rtServer) jwksRequests() int {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	return rs.jwksHits
}

// idClaims are the claims of the ID token the login stored for
// fakeAccount, with exp at exp.
func idClaims(exp time.Time) map[string]any {
	return map[string]any{"iss": "https://issuer.example", "sub": "id1", "aud": []string{"fake-client"},
		"iat": exp.Add(-time.Hour).Unix(), "exp": exp.Unix()}
}

// with returns a copy of c with the given claims replaced (a nil value
// deletes the claim).
func with(c map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range c {
		out[k] = v
	}
	for i := 0; i < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(out, kv[i].(string))
		} else {
			out[kv[i].(string)] = kv[i+1]
		}
	}
	return out
}

// fakeBoundIDToken is an unsigned JWT with the claims of fakeAccount's ID
// token: it passes checkRefreshedIDToken (not the signature check), so a
// plain `token` stores it when a refresh returns it.
func fakeBoundIDToken(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	payload, _ := json.Marshal(idClaims(exp))
	return enc([]byte(`{"alg":"RS256"}`)) + "." + enc(payload) + ".fake-signature-"
}

// TestTokenIDTokenAfterRefresh covers the ID token a refresh returns (or
// does not): `token --id-token` never prints an ID token that is still
// stale after the refresh or that fails OIDC Core §12.2 (iss, sub, aud,
// signature); a plain `token` keeps the new access and refresh tokens and
// stores only an ID token that passes the claim checks.
func TestTokenIDTokenAfterRefresh(t *testing.T) {
	t.Parallel()
	signer := newRTSigner(t, "k1")
	stranger := newRTSigner(t, "k1") // same kid, key not in the JWKS
	tests := []struct {
		name string
		args []string
		// oldExp is the stored ID token's exp, from the test clock.
		oldExp time.Duration
		// newID builds the id_token of the refresh response ("" for none);
		// now is the test clock.
		newID func(t *testing.T, now time.Time) string
		code  int
		// wantOut is "NEW", "OLD" (the ID tokens), or literal.
		wantOut string
		wantErr string // exact stderr
		// wantStored is the ID token stored afterwards: "NEW" or "OLD".
		wantStored string
		wantJWKS   int
	}{
		{
			name: "id-token: no id_token in the answer, stored one expired", args: []string{"--id-token"}, oldExp: -time.Minute,
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider did not return a new ID token on refresh, and the stored one of fake:me@example.com expired 1m ago\nrun: oauthctl login fake\n",
			wantStored: "OLD",
		},
		{
			// Issue 9 item 3: unexpired, so printed with a warning; a new
			// login could not do better.
			name: "id-token: no id_token in the answer, stored one under min-ttl", args: []string{"--id-token"}, oldExp: 30 * time.Second,
			wantOut:    "OLD",
			wantErr:    "warning: the provider did not return a new ID token on refresh; the stored one of fake:me@example.com expires in 30s\n",
			wantStored: "OLD",
		},
		{
			name: "id-token: forced, no id_token in the answer, stored one still fresh", args: []string{"--id-token", "--force-refresh"}, oldExp: time.Hour,
			wantOut:    "OLD",
			wantErr:    "warning: the provider did not return a new ID token on refresh; the stored one of fake:me@example.com expires in 1h\n",
			wantStored: "OLD",
		},
		{
			name: "id-token: valid new ID token printed and stored", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, idClaims(now.Add(time.Hour)))
			},
			wantOut: "NEW", wantStored: "NEW", wantJWKS: 1,
		},
		{
			name: "id-token: new ID token without nonce, single aud string, same azp", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, with(idClaims(now.Add(time.Hour)), "aud", "fake-client", "azp", "fake-client"))
			},
			wantOut: "NEW", wantStored: "NEW", wantJWKS: 1,
		},
		{
			name: "id-token: new ID token shorter than min-ttl warns", args: []string{"--id-token", "--min-ttl", "1h"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, idClaims(now.Add(30*time.Minute)))
			},
			wantOut: "NEW", wantStored: "NEW", wantJWKS: 1,
			wantErr: "warning: the provider issued an ID token valid for 30m, less than --min-ttl 1h\n",
		},
		{
			name: "id-token: new ID token of another subject", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, with(idClaims(now.Add(time.Hour)), "sub", "someone-else"))
			},
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider returned an ID token on refresh of fake:me@example.com that has another subject than the original (another user); it was not stored\nrun: oauthctl login fake\n",
			wantStored: "OLD",
		},
		{
			name: "id-token: new ID token of another issuer", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, with(idClaims(now.Add(time.Hour)), "iss", "https://evil.example"))
			},
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider returned an ID token on refresh of fake:me@example.com that has another issuer than the original; it was not stored\nrun: oauthctl login fake\n",
			wantStored: "OLD",
		},
		{
			name: "id-token: new ID token for another client", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, with(idClaims(now.Add(time.Hour)), "aud", []string{"other-client"}))
			},
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider returned an ID token on refresh of fake:me@example.com that is not issued to this client (aud); it was not stored\nrun: oauthctl login fake\n",
			wantStored: "OLD",
		},
		{
			name: "id-token: new ID token with a bad signature", args: []string{"--id-token"}, oldExp: -time.Minute,
			newID: func(t *testing.T, now time.Time) string {
				return stranger.sign(t, idClaims(now.Add(time.Hour)))
			},
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider returned an invalid ID token on refresh of fake:me@example.com (failed to verify signature: no key in the provider's JWKS verifies it); it was not stored\nrun: oauthctl login fake\n",
			wantStored: "OLD", wantJWKS: 1,
		},
		{
			name: "id-token: new ID token already expired (within the leeway)", args: []string{"--id-token"}, oldExp: -time.Hour,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, idClaims(now.Add(-2*time.Minute)))
			},
			code:       ExitSignIn,
			wantErr:    "oauthctl: sign-in required: the provider returned an ID token on refresh of fake:me@example.com that expired 2m ago\ncheck the system clock: it differs from the provider's by more than 5m\n",
			wantStored: "NEW", wantJWKS: 1,
		},
		{
			name: "access token: new ID token of another subject is dropped with a warning", oldExp: time.Hour,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, with(idClaims(now.Add(time.Hour)), "sub", "someone-else"))
			},
			wantOut:    "fake-at-new\n",
			wantErr:    "warning: the provider returned an ID token on refresh of fake:me@example.com that has another subject than the original (another user); it was not stored\n",
			wantStored: "OLD",
		},
		{
			name: "access token: matching new ID token stored without a JWKS request", oldExp: time.Hour,
			newID: func(t *testing.T, now time.Time) string {
				return signer.sign(t, idClaims(now.Add(time.Hour)))
			},
			wantOut: "fake-at-new\n", wantStored: "NEW",
		},
		{
			name: "access token: no id_token in the answer keeps the old one", oldExp: -time.Minute,
			wantOut: "fake-at-new\n", wantStored: "OLD",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e *tkEnv
			var newID string
			rs := newRTServer(t, signer, func(w http.ResponseWriter, r *http.Request) {
				body := map[string]any{"access_token": "fake-at-new", "token_type": "Bearer", "expires_in": 3600, "refresh_token": "fake-rt-new"}
				if newID != "" {
					body["id_token"] = newID
				}
				w.Header().Set("Content-Type", "application/json")
				_ = json.NewEncoder(w).Encode(body)
			})
			e = newTkEnv(t, fixedYAML(rs.tokenURL())+"    jwks_url: "+rs.srv.URL+"/jwks\n")
			if tt.newID != nil {
				newID = tt.newID(t, e.clock())
			}
			acct := fakeAccount(rs.tokenURL())
			acct.Subject = "id1"
			oldID := signer.sign(t, idClaims(e.clock().Add(tt.oldExp)))
			e.seed(acct, &keyring.Record{AccessToken: "fake-at-old", RefreshToken: "fake-rt-old", IDToken: oldID, TokenType: "Bearer",
				Expiry: e.clock().Add(-time.Minute)})

			got := e.run(append([]string{"token", "fake"}, tt.args...)...)
			ids := strings.NewReplacer("NEW", newID+"\n", "OLD", oldID+"\n")
			want := tkResult{code: tt.code, out: ids.Replace(tt.wantOut), errOut: tt.wantErr}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			// The new access and refresh tokens are valid: always stored.
			cur := e.load(acct.Key())
			wantID := map[string]string{"NEW": newID, "OLD": oldID}[tt.wantStored]
			if cur.AccessToken != "fake-at-new" || cur.RefreshToken != "fake-rt-new" {
				t.Errorf("stored tokens %q %q, want the new ones", cur.AccessToken, cur.RefreshToken)
			}
			if cur.IDToken != wantID {
				t.Errorf("stored ID token is %s, want %s", map[bool]string{true: "the new one", false: "not the new one"}[cur.IDToken == newID], tt.wantStored)
			}
			if diff := cmp.Diff([]string{"fake-rt-old"}, rs.refreshTokens()); diff != "" {
				t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
			}
			if n := rs.jwksRequests(); n != tt.wantJWKS {
				t.Errorf("%d JWKS requests, want %d", n, tt.wantJWKS)
			}
			if a := e.index().Find("fake", "me@example.com"); a == nil || a.LoginRequired || !a.Expiry.Equal(cur.Expiry) {
				t.Errorf("index entry %+v, want the new expiry and no login_required", a)
			}
		})
	}
}

// TestTokenIDTokenAfterRefreshTestop runs `token --id-token` against the
// certified OP: its refreshed ID token (no nonce, same iss/sub/aud) passes
// the checks and the signature verification (keys found by discovery), and
// is printed and stored.
func TestTokenIDTokenAfterRefreshTestop(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	e := newTkEnv(t, testopTokenYAML("testop", op))
	e.setenv("OAUTHCTL_TESTOP_CLIENT_ID", testop.NativeClientID)
	acct, rec := tkLogin(t, op, "testop", testop.NativeClientID, "")
	e.now = time.Now().UTC()
	e.seed(acct, rec)

	got := e.run("token", "testop", "--id-token", "--force-refresh")
	cur := e.load(acct.Key())
	if got.code != 0 || got.errOut != "" || got.out != cur.IDToken+"\n" {
		t.Fatalf("token --id-token: %+v, want the stored ID token", got)
	}
	if cur.IDToken == rec.IDToken || cur.RefreshToken == rec.RefreshToken {
		t.Errorf("ID token or refresh token not replaced by the refresh")
	}
	// Counted before this test verifies the token itself.
	var jwks int
	for _, r := range op.Requests() {
		if u, _ := url.Parse(op.Endpoints().JWKS); r.Path == u.Path {
			jwks++
		}
	}
	if jwks != 1 {
		t.Errorf("%d JWKS requests, want 1 (the signature was verified)", jwks)
	}
	claims, err := auth.VerifyIDToken(t.Context(), op.Client(), cur.IDToken, auth.IDTokenCheck{
		Issuer: op.Issuer, ClientID: testop.NativeClientID, JWKSURL: op.Endpoints().JWKS})
	if err != nil || claims.Subject != testop.Subject || claims.Expiry.Sub(e.clock()) < 50*time.Minute {
		t.Errorf("printed ID token: claims %+v, err %v; want a valid one for %s", claims, err, testop.Subject)
	}
	if n := len(refreshTokensSent(op)); n != 1 {
		t.Errorf("%d refresh requests, want 1", n)
	}
}

// TestTokenRotatedElsewhereRetry covers row 35 when the other process's
// access token is no longer fresh: after invalid_grant for the refresh
// token sent, the one another process stored meanwhile is sent once, still
// under the lock; no refresh token is sent twice.
func TestTokenRotatedElsewhereRetry(t *testing.T) {
	t.Parallel()
	const rt1, rt2 = "fake-rt-old", "fake-rt-other"
	rotated := `{"access_token":"fake-at-new","token_type":"Bearer","expires_in":3600,"refresh_token":"fake-rt-new"}`
	tests := []struct {
		name string
		// otherExp is the expiry of the access token the other process
		// stored, from the test clock.
		otherExp time.Duration
		// rt2 answers the request with the other process's refresh token.
		rt2       http.HandlerFunc
		want      tkResult
		wantErr   []string // substrings of stderr when want.errOut is ""
		wantSent  []string
		wantRT    string // stored afterwards
		wantLogin bool   // index entry marked login_required
	}{
		{name: "other access token expired: retried with its refresh token", otherExp: -time.Minute, rt2: tkJSON(200, rotated),
			want: tkResult{out: "fake-at-new\n"}, wantSent: []string{rt1, rt2}, wantRT: "fake-rt-new"},
		{name: "other access token under min-ttl: retried", otherExp: 30 * time.Second, rt2: tkJSON(200, rotated),
			want: tkResult{out: "fake-at-new\n"}, wantSent: []string{rt1, rt2}, wantRT: "fake-rt-new"},
		{name: "other access token fresh: used, no retry", otherExp: time.Hour,
			want: tkResult{out: "fake-at-other\n"}, wantSent: []string{rt1}, wantRT: rt2},
		{name: "retry rejected too: exit 4, no third request", otherExp: -time.Minute, rt2: tkJSON(400, `{"error":"invalid_grant"}`),
			want:     tkResult{code: ExitSignIn},
			wantErr:  []string{"oauthctl: refreshing fake:me@example.com: the provider rejected the refresh token (provider returned invalid_grant", "\nrun: oauthctl login fake\n"},
			wantSent: []string{rt1, rt2}, wantRT: "", wantLogin: true},
		{name: "retry unavailable, other access token still valid: served with a warning", otherExp: 30 * time.Second,
			rt2:  tkJSON(503, `{"error":"temporarily_unavailable"}`),
			want: tkResult{out: "fake-at-other\n"}, wantErr: []string{"warning: could not refresh the access token of fake:me@example.com", "which expires in 30s\n"},
			wantSent: []string{rt1, rt2, rt2, rt2}, wantRT: rt2}, // the transient failure is retried (B.13); rt2 was never accepted
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var e *tkEnv
			key := keyring.Key{Provider: "fake", Account: "me@example.com"}
			ts := newTkTokenServer(t, func(w http.ResponseWriter, r *http.Request) {
				switch r.PostForm.Get("refresh_token") {
				case rt1:
					// Another process that does not share the lock rotated
					// the token just before this request reached the provider.
					other := &keyring.Record{AccessToken: "fake-at-other", RefreshToken: rt2, TokenType: "Bearer", Expiry: e.clock().Add(tt.otherExp)}
					if err := e.store.Save(r.Context(), key, other); err != nil {
						t.Error(err)
					}
					tkJSON(400, `{"error":"invalid_grant"}`)(w, r)
				case rt2:
					tt.rt2(w, r)
				default:
					tkJSON(400, `{"error":"invalid_grant"}`)(w, r)
				}
			})
			e = newTkEnv(t, fixedYAML(ts.srv.URL))
			e.seed(fakeAccount(ts.srv.URL), &keyring.Record{AccessToken: "fake-at-old", RefreshToken: rt1, TokenType: "Bearer", Expiry: e.clock().Add(-time.Minute)})

			got := e.run("token", "fake")
			errOut := got.errOut
			if len(tt.wantErr) > 0 {
				got.errOut = ""
				for _, w := range tt.wantErr {
					if !strings.Contains(errOut, w) {
						t.Errorf("stderr %q does not contain %q", errOut, w)
					}
				}
			}
			if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(tkResult{})); diff != "" {
				t.Errorf("result (-want +got):\n%s", diff)
			}
			for _, secret := range []string{rt1, rt2, "fake-rt-new"} {
				if strings.Contains(errOut, secret) {
					t.Errorf("stderr contains a refresh token: %q", errOut)
				}
			}
			if diff := cmp.Diff(tt.wantSent, ts.refreshTokens()); diff != "" {
				t.Errorf("refresh tokens sent (-want +got):\n%s", diff)
			}
			cur := e.load(key)
			if cur.RefreshToken != tt.wantRT {
				t.Errorf("stored refresh token %q, want %q", cur.RefreshToken, tt.wantRT)
			}
			if tt.want.code == 0 && cur.AccessToken+"\n" != got.out {
				t.Errorf("stored access token %q, printed %q", cur.AccessToken, got.out)
			}
			if a := e.index().Find("fake", "me@example.com"); a == nil || a.LoginRequired != tt.wantLogin {
				t.Errorf("index entry %+v, want login_required %v", a, tt.wantLogin)
			}
		})
	}
}
