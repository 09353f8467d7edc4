package session

import "testing"

// TestSameScopeSet: a refresh token is kept across a re-login only for the
// same scopes, compared as sets and allowing for the expanded forms
// providers echo.
func TestSameScopeSet(t *testing.T) {
	t.Parallel()
	tests := []struct {
		requested, stored []string
		want              bool
	}{
		{nil, nil, true},
		{[]string{"openid", "email"}, []string{"email", "openid"}, true},
		{[]string{"openid", "email"}, []string{"openid", "https://www.googleapis.com/auth/userinfo.email"}, true},
		{[]string{"User.Read"}, []string{"https://graph.microsoft.com/User.Read"}, true},
		{[]string{"openid", "email"}, []string{"openid", "email", "profile"}, false},
		{[]string{"openid", "email", "profile"}, []string{"openid", "email"}, false},
		{[]string{"openid"}, nil, false},
		{nil, []string{"openid"}, false},
		{[]string{"openid", "email"}, []string{"openid", "offline_access"}, false},
	}
	for _, tt := range tests {
		if got := SameScopeSet(tt.requested, tt.stored); got != tt.want {
			t.Errorf("SameScopeSet(%q, %q) = %v, want %v", tt.requested, tt.stored, got, tt.want)
		}
	}
}
