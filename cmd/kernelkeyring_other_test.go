//go:build !linux

package cmd

import "testing"

// requireKernelKeyring skips: the kernel keyring cache exists on Linux only.
func requireKernelKeyring(t *testing.T) {
	t.Helper()
	t.Skip("the kernel keyring cache exists on Linux only")
}
