package cmd

import (
	"os"
	"testing"

	"github.com/oauthctl/oauthctl/internal/testkeyring"
)

// TestMain gives the package's tests a private, unlocked gnome-keyring on a
// private D-Bus session (see internal/testkeyring). It is the only TestMain of
// package cmd: tests that need the real keychain call testkeyring.Require.
func TestMain(m *testing.M) { os.Exit(testkeyring.Main(m)) }
