//go:build !unix

package keyring

import (
	"fmt"
	"io/fs"
	"os"
	"os/user"
	"path/filepath"
	"strings"
)

// defaultLockDir is oauthctl-<user> in the temp directory, which on Windows
// is already per user (%LOCALAPPDATA%\Temp); os.Getuid is -1 there.
func defaultLockDir() string {
	name := "oauthctl"
	if u, err := user.Current(); err == nil && u.Username != "" {
		name += "-" + safeName(u.Username)
	}
	return filepath.Join(os.TempDir(), name)
}

// safeName keeps a user name usable as a file name ("DOMAIN\user" becomes
// "DOMAIN_user").
func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// checkLockDir refuses anything but a real directory; Windows ACLs, not Unix
// modes, guard the per-user temp directory.
func checkLockDir(dir string, fi fs.FileInfo) error {
	if !fi.IsDir() {
		return fmt.Errorf("lock directory %s must be a directory", dir)
	}
	return nil
}
