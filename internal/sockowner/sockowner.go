// Package sockowner finds who holds a listening TCP port on the loopback
// interface, so that an error can say "in use by uid 1001 (mallory)"
// instead of only "address already in use" (docs/security.md §3.4).
package sockowner

import (
	"fmt"
	"os/user"
	"strconv"
)

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
