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

// peerForeign names another user who owns r's client connection, or "" when
// it is ours or unknown.
func peerForeign(r *http.Request) string {
	uid, ok := peerUID(r)
	if !ok || uid == os.Getuid() {
		return ""
	}
	return "another user (uid " + strconv.Itoa(uid) + ")"
}

// peerIsSelf reports whether r's client connection is known to be ours.
func peerIsSelf(r *http.Request) bool {
	uid, ok := peerUID(r)
	return ok && uid == os.Getuid()
}
