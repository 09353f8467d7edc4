// Package userconfig knows where the user's providers.yaml is and reads
// the one setting every `oauthctl token` needs from it (`store:`) without
// parsing YAML. auth parses the whole file; this package is what the small
// `oauthctl` front binary (cmd/oauthctl) can link.
package userconfig

import (
	"os"
	"path/filepath"
	"strings"
)

// Path is the user's providers.yaml: $OAUTHCTL_CONFIG, else
// $XDG_CONFIG_HOME/oauthctl/providers.yaml, else ~/.config/oauthctl/providers.yaml.
// A relative XDG_CONFIG_HOME is ignored, as the XDG Base Directory
// specification says (keyring.DefaultPaths does the same for XDG_STATE_HOME).
func Path(getenv func(string) string) string {
	if p := getenv("OAUTHCTL_CONFIG"); p != "" {
		return p
	}
	base := getenv("XDG_CONFIG_HOME")
	if !filepath.IsAbs(base) {
		home := getenv("HOME")
		if home == "" {
			home, _ = os.UserHomeDir()
		}
		base = filepath.Join(home, ".config")
	}
	return filepath.Join(base, "oauthctl", "providers.yaml")
}

// StoreSetting finds a top-level `store: VALUE` line in a providers.yaml
// without parsing YAML (every `oauthctl token` needs it, and the hot path
// parses no YAML): a line that starts with "store:", an optional trailing
// comment and quotes. It returns VALUE and the line number, or "" and 0.
// auth's full parse accepts a `store` key only where this scan finds the
// same value, so the two never disagree.
func StoreSetting(data []byte) (string, int) {
	for n, line := range strings.Split(string(data), "\n") {
		rest, ok := strings.CutPrefix(strings.TrimSuffix(line, "\r"), "store:")
		if !ok {
			continue
		}
		if i := strings.Index(rest, " #"); i >= 0 {
			rest = rest[:i]
		}
		v := strings.TrimSpace(rest)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		return v, n + 1
	}
	return "", 0
}
