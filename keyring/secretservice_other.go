//go:build !linux

package keyring

// osBackend is the OS keychain backend of this platform: go-keyring.
func osBackend() Backend { return OSBackend{} }
