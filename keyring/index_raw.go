package keyring

import (
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"

	"github.com/oauthctl/oauthctl/internal/safefile"
)

// ReadIndexFile returns the bytes of the account index file, nil when it
// does not exist. The kernel cache binds a cached token to them, and
// ParseIndex decodes them. It reads like LoadIndex (the directory checked,
// one open, the open file's owner and mode checked, at most maxStateFile
// bytes), and without the runtime's network poller, which `token`'s hot
// path has no use for: an index that LoadIndex refuses is refused here too
// (docs/security.md §3.2), so the hot path never answers from it.
func ReadIndexFile(path string) ([]byte, error) {
	if err := safefile.CheckDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("the directory of the account index: %w", err)
	}
	data, err := safefile.ReadFile(path, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("reading the account index: %w", err)
	}
	return data, nil
}

// ParseIndex decodes index file bytes read from path (nil: an empty index),
// with LoadIndex's checks and errors.
func ParseIndex(path string, data []byte) (*Index, error) {
	ix := Index{Version: IndexVersion}
	if data != nil {
		if err := decodeJSONFile(path, data, "account index", "move it away and log in again", IndexVersion, &ix, &ix.Version); err != nil {
			return nil, err
		}
	}
	if ix.Defaults == nil {
		ix.Defaults = map[string]string{}
	}
	return &ix, nil
}
