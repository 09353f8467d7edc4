//go:build !linux

package keyring

import "errors"

// systemKeyctl is nil: the kernel keyring cache exists only on Linux.
func systemKeyctl() keyctl { return nil }

// Never returned: the cache is disabled on this platform.
var (
	errNoKey      = errors.New("no such key")
	errKeyExpired = errNoKey
	errKeyRevoked = errNoKey
)
