//go:build !linux

package keyring

// systemKeyctl is nil: the kernel keyring cache exists only on Linux.
func systemKeyctl() keyctl { return nil }
