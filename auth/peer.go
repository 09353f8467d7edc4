package auth

import (
	"net"
	"net/http"
	"os"
	"strconv"

	"github.com/oauthctl/oauthctl/internal/sockowner"
)

// peerUID is the UID owning the client end of r's loopback connection, where
// the OS tells (Linux: /proc/net/tcp*); ok is false otherwise (other OSes,
// a browser outside this network namespace, as with WSL's Windows side).
func peerUID(r *http.Request) (uid int, ok bool) {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	if local == nil {
		return 0, false
	}
	return sockowner.ConnUID(r.RemoteAddr, local.String())
}

// trustedUID reports a connection owner that is no other user in the sense
// of docs/security.md §2: this user, or root, which is out of scope anyway
// and owns relays such as WSL 2's localhost forwarding, through which a
// Windows browser reaches the listener.
func trustedUID(uid int) bool { return uid == os.Getuid() || uid == 0 }

// peerForeign names another user who owns r's client connection, or "" when
// it is ours (or root's) or unknown.
func peerForeign(r *http.Request) string {
	uid, ok := peerUID(r)
	if !ok || trustedUID(uid) {
		return ""
	}
	return "another user (uid " + strconv.Itoa(uid) + ")"
}

// peerIsSelf reports whether r's client connection is known to be ours (or
// root's).
func peerIsSelf(r *http.Request) bool {
	uid, ok := peerUID(r)
	return ok && trustedUID(uid)
}
