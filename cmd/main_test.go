package cmd

import (
	"os"
	"testing"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
	"github.com/oauthctl/oauthctl/internal/testvault"
)

// TestMain gives the package's tests a private, unlocked gnome-keyring on a
// private D-Bus session (see internal/testkeyring) and, on first use, a
// Vault dev server (internal/testvault). It is the only TestMain of package
// cmd: tests that need the real keychain call testkeyring.Require, those
// that need Vault testvault.Require. The binaries that buildOauthctl built
// for the run are removed at the end.
func TestMain(m *testing.M) {
	stopVault := testvault.Setup()
	code := testkeyring.Main(m)
	stopVault()
	removeBinaries()
	os.Exit(code)
}
