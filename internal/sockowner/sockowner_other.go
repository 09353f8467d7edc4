//go:build !linux

package sockowner

import "net"

// listenerUID is unknown where the OS has no /proc/net.
func listenerUID(string, int) (int, bool) { return 0, false }

// connUID is unknown where the OS has no /proc/net.
func connUID(_, _ *net.TCPAddr) (int, bool) { return 0, false }
