// Package loopback holds the one rule for "this host is the local machine",
// which decides where plain http is allowed: an endpoint or redirect URI in
// providers.yaml (auth), a git remote (session), VAULT_ADDR and Vault's
// redirects (keyring/vault). keyring may not import auth, so the rule lives
// here, in a package light enough for any binary to link (net/netip, not
// net).
package loopback

import (
	"net/netip"
	"strings"
)

// IsHost reports whether host, a host name or IP literal without a port,
// is the local machine: the name localhost in any case, or a loopback IP
// address (127.0.0.0/8, ::1, IPv4-mapped ::ffff:127.x.y.z), an IPv6 one
// bracketed or not. It fails closed on every other spelling:
//   - the absolute name "localhost." and names under localhost
//     (a.localhost): a resolver need not keep them on the machine, and code
//     that treats the name localhost specially (the login's listener binds
//     both address families for it, docs/security.md §3.4) would miss them;
//   - 0.0.0.0 and ::, which reach this machine only by an OS quirk;
//   - a port, or a zone (::1%lo).
func IsHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	if inner, ok := strings.CutPrefix(host, "["); ok {
		var closed bool
		if inner, closed = strings.CutSuffix(inner, "]"); !closed || !strings.Contains(inner, ":") {
			return false // only an IPv6 literal is written in brackets
		}
		host = inner
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.Zone() == "" && ip.IsLoopback()
}
