//go:build unix && !linux

package procsec

import "golang.org/x/sys/unix"

// DisableCoreDumps sets RLIMIT_CORE to 0 (see the Linux version; other
// Unixes have no PR_SET_DUMPABLE).
func DisableCoreDumps() {
	_ = unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{})
}
