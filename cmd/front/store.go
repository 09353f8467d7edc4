package front

import (
	"errors"
	"io/fs"

	"github.com/oauthctl/oauthctl/internal/safefile"
	"github.com/oauthctl/oauthctl/internal/userconfig"
)

// KeychainStore reports whether the user's state lives in the local
// keychain, the only store the hot path reads by itself: $OAUTHCTL_STORE
// says "keychain", or it is unset and the user's providers.yaml (read by
// safefile's rules, like everywhere) has no `store:` line or one that says
// "keychain". Anything else (Vault, a bad value, a file that cannot be read
// or may not be trusted) is false, and the full program decides and
// reports; cmd's storeKind gives the same answer where this one is true
// (TestKeychainStoreAgrees).
func KeychainStore(getenv func(string) string) bool {
	switch getenv("OAUTHCTL_STORE") {
	case "keychain":
		return true
	case "":
	default:
		return false
	}
	data, err := safefile.ReadFile(userconfig.Path(getenv), 1<<20)
	switch {
	case errors.Is(err, fs.ErrNotExist) && getenv("OAUTHCTL_CONFIG") == "":
		return true
	case err != nil:
		return false
	}
	kind, _ := userconfig.StoreSetting(data)
	return kind == "" || kind == "keychain"
}
