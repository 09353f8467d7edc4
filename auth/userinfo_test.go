package auth_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/oauth2"

	"github.com/oauthctl/oauthctl/auth"
	"github.com/oauthctl/oauthctl/internal/testop"
)

// TestFetchUserInfo covers the userinfo call: the Bearer header, the
// summary of OIDC and GitHub answers, and error classification.
func TestFetchUserInfo(t *testing.T) {
	t.Parallel()
	type summary struct{ Identity, Name, Subject string }
	tests := []struct {
		name    string
		github  bool
		reply   http.HandlerFunc
		want    summary
		wantIs  error
		wantErr string
	}{
		{name: "OIDC claims", reply: revokeReply(200, `{"sub":"248289761001","email":"jane@example.com","name":"Jane Doe","preferred_username":"j.doe"}`),
			want: summary{"jane@example.com", "Jane Doe", "248289761001"}},
		{name: "no email: preferred_username", reply: revokeReply(200, `{"sub":"s1","preferred_username":"jdoe"}`),
			want: summary{"jdoe", "", "s1"}},
		{name: "only a subject", reply: revokeReply(200, `{"sub":"s1"}`), want: summary{"s1", "", "s1"}},
		{name: "GitHub /user", github: true, reply: revokeReply(200, `{"login":"octocat","id":583231,"name":"The Octocat","email":null}`),
			want: summary{"octocat", "The Octocat", "583231"}},
		{name: "escape sequences are stripped", reply: revokeReply(200, `{"sub":"s1","name":"\u001b]8;;http://evil\u0007Jane\u009b"}`),
			want: summary{"s1", "]8;;http://evil Jane", "s1"}},
		{name: "401 means a new login", reply: revokeReply(401, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
			wantIs: auth.ErrReauthRequired, wantErr: "HTTP 401, invalid_token"},
		{name: "403 insufficient scope means a new login", reply: revokeReply(403, "", "WWW-Authenticate", `Bearer error="insufficient_scope", scope="openid"`),
			wantIs: auth.ErrReauthRequired, wantErr: "HTTP 403, insufficient_scope"},
		{name: "503 is unavailable", reply: revokeReply(503, "<html>down</html>"), wantIs: auth.ErrUnavailable, wantErr: "userinfo endpoint answered HTTP 503"},
		{name: "404 is an error", reply: revokeReply(404, ""), wantErr: "userinfo endpoint answered HTTP 404"},
		{name: "not JSON", reply: revokeReply(200, "<html>hi</html>"), wantIs: auth.ErrUnavailable, wantErr: "malformed userinfo response"},
		{name: "a JSON array", reply: revokeReply(200, `[1]`), wantIs: auth.ErrUnavailable, wantErr: "not a JSON object"},
		{name: "a signed JWT", reply: revokeReply(200, "eyJ.x.y", "Content-Type", "application/jwt"), wantIs: auth.ErrUnavailable, wantErr: "signed JWT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var auths []string
			fake := newRevokeFake(t, func(w http.ResponseWriter, r *http.Request) {
				auths = append(auths, r.Header.Get("Authorization"))
				tt.reply(w, r)
			})
			p := &auth.Provider{Name: "acme", UserinfoURL: fake.srv.URL + "/userinfo"}
			if tt.github {
				p.GrantRevocationURL = fake.srv.URL + "/applications/{client_id}/grant"
			}
			info, err := auth.FetchUserInfo(t.Context(), revokeClient(), p, revokeAT)
			if diff := cmp.Diff([]string{"Bearer " + revokeAT}, auths); diff != "" {
				t.Errorf("Authorization (-want +got):\n%s", diff)
			}
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || strings.Contains(err.Error(), revokeAT) {
					t.Fatalf("error = %v, want %q without the token", err, tt.wantErr)
				}
				if tt.wantIs != nil && !errors.Is(err, tt.wantIs) {
					t.Errorf("error %v does not match %v", err, tt.wantIs)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := summary{info.Identity(), info.String("name"), info.Subject()}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("summary (-want +got):\n%s", diff)
			}
		})
	}
	if _, err := auth.FetchUserInfo(t.Context(), revokeClient(), &auth.Provider{Name: "x"}, revokeAT); !errors.Is(err, auth.ErrNoUserinfo) {
		t.Errorf("no endpoint: %v", err)
	}
}

// TestFetchUserInfoTestOP asks the certified OP who a fresh token belongs to,
// and gets 401 (a new login) once the token is revoked.
func TestFetchUserInfoTestOP(t *testing.T) {
	t.Parallel()
	op := testop.Start(t)
	ctx := context.WithValue(t.Context(), oauth2.HTTPClient, op.Client())
	tok := testopLogin(t, ctx, op, testop.NativeClientID, "")
	p := &auth.Provider{Name: "testop", Issuer: op.Issuer, UserinfoURL: op.Endpoints().Userinfo, RevocationURL: op.Endpoints().Revocation}
	info, err := auth.FetchUserInfo(t.Context(), op.Client(), p, tok.AccessToken)
	if err != nil {
		t.Fatal(err)
	}
	if info.Subject() != testop.Subject || info.Identity() == "" {
		t.Errorf("subject %q identity %q, want %q and an identity", info.Subject(), info.Identity(), testop.Subject)
	}
	if err := auth.Revoke(t.Context(), op.Client(), p, auth.ClientCreds{ID: testop.NativeClientID}, tok.AccessToken, auth.HintAccessToken); err != nil {
		t.Fatal(err)
	}
	if _, err := auth.FetchUserInfo(t.Context(), op.Client(), p, tok.AccessToken); !errors.Is(err, auth.ErrReauthRequired) {
		t.Errorf("after revocation: %v, want ErrReauthRequired", err)
	}
}
