//go:build !unix

package procsec

// DisableCoreDumps does nothing where the OS has no core limit to set.
func DisableCoreDumps() {}
