package session

import (
	"os"
	"testing"

	"github.com/oauthctl/oauthctl/internal/testvault"
)

// TestMain stops the Vault dev server (internal/testvault) that the first
// testvault.Require started, after all tests ran.
func TestMain(m *testing.M) {
	stopVault := testvault.Setup()
	code := m.Run()
	stopVault()
	os.Exit(code)
}
