// Package sockowner finds who holds a listening TCP port on the loopback
// interface, so that an error can say "in use by uid 1001 (mallory)"
// instead of only "address already in use" (docs/security.md §3.4).
package sockowner

import (
	"fmt"
	"net"
	"os/user"
	"strconv"
)

// ConnUID returns the UID owning the client end of a TCP connection from
// client to server (both "host:port", as http.Request.RemoteAddr and the
// listener's address give them), where the OS tells: Linux, for a peer in
// the same network namespace. A loopback connection's both ends are in the
// kernel's table, each with its owner.
func ConnUID(client, server string) (uid int, ok bool) {
	c, err1 := net.ResolveTCPAddr("tcp", client)
	s, err2 := net.ResolveTCPAddr("tcp", server)
	if err1 != nil || err2 != nil || c.IP == nil || s.IP == nil {
		return 0, false
	}
	return connUID(c, s)
}

// Describe names the holder of a listening socket on ip:port: "uid N
// (name)", or "" when the OS does not tell.
func Describe(ip string, port int) string {
	uid, ok := listenerUID(ip, port)
	if !ok {
		return ""
	}
	s := "uid " + strconv.Itoa(uid)
	if u, err := user.LookupId(strconv.Itoa(uid)); err == nil && u.Username != "" {
		s += fmt.Sprintf(" (%s)", u.Username)
	}
	return s
}
