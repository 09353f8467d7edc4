package userconfig

import (
	"path/filepath"
	"testing"
)

// TestPath: OAUTHCTL_CONFIG wins, then an absolute XDG_CONFIG_HOME, then
// HOME; a relative XDG_CONFIG_HOME is ignored (XDG Base Directory spec).
func TestPath(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{name: "OAUTHCTL_CONFIG", env: map[string]string{"OAUTHCTL_CONFIG": "/c/p.yaml", "XDG_CONFIG_HOME": "/x", "HOME": "/h"}, want: "/c/p.yaml"},
		{name: "XDG_CONFIG_HOME", env: map[string]string{"XDG_CONFIG_HOME": "/x", "HOME": "/h"}, want: "/x/oauthctl/providers.yaml"},
		{name: "HOME", env: map[string]string{"HOME": "/h"}, want: "/h/.config/oauthctl/providers.yaml"},
		{name: "relative XDG_CONFIG_HOME", env: map[string]string{"XDG_CONFIG_HOME": "x", "HOME": "/h"}, want: "/h/.config/oauthctl/providers.yaml"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Path(func(k string) string { return tt.env[k] }); got != filepath.FromSlash(tt.want) {
				t.Errorf("Path = %q, want %q", got, tt.want)
			}
		})
	}
}
