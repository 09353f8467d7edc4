package keyring

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/oauthctl/oauthctl/internal/safefile"
)

// Account is the non-secret metadata of one stored account. It binds the
// stored credentials to the issuer, token endpoint and client ID they were
// issued for (docs/security.md §3.6): a refresh token is never sent anywhere else.
type Account struct {
	Provider string `json:"provider"`
	Account  string `json:"account"`
	Issuer   string `json:"issuer,omitempty"`
	TokenURL string `json:"token_url"`
	ClientID string `json:"client_id"`
	// RevocationURL, GrantRevocationURL and UserinfoURL are the other
	// endpoints the login's configuration (after discovery) sends tokens
	// to: logout and whoami send the tokens only there (B.2). They are
	// empty in entries written before they were recorded: unknown, not
	// "none" (see BindEndpoints in session/binding.go).
	RevocationURL      string    `json:"revocation_url,omitempty"`
	GrantRevocationURL string    `json:"grant_revocation_url,omitempty"`
	UserinfoURL        string    `json:"userinfo_url,omitempty"`
	Scopes             []string  `json:"scopes"`
	Expiry             time.Time `json:"expiry,omitzero"`
	// RefreshExpiry is when the refresh token runs out, if the provider said.
	RefreshExpiry time.Time `json:"refresh_expiry,omitzero"`
	Subject       string    `json:"subject,omitempty"`
	// Identity is the human name of the account (email, login) if known.
	Identity    string `json:"identity,omitempty"`
	Refreshable bool   `json:"refreshable"`
	// LoginRequired is set when the provider rejected the refresh token.
	LoginRequired bool `json:"login_required,omitempty"`
	// RejectedToken is the hex SHA-256 of an access token that a server
	// rejected (`git credential reject` reached `oauthctl git-credential
	// erase`): while the stored access token has this hash, it is refreshed
	// before it is handed out again. The token itself is never written here.
	RejectedToken string `json:"rejected_token_sha256,omitempty"`
	Grant         string `json:"grant,omitempty"`
	// ClientAuth is the client authentication the token endpoint accepted
	// for this account (none, client_secret_basic, client_secret_post):
	// refresh, revocation and the next login use it, so a method found by
	// trying is tried only once.
	ClientAuth string    `json:"token_endpoint_auth_method,omitempty"`
	UpdatedAt  time.Time `json:"updated_at,omitzero"`
}

// Key is the account's Store key.
func (a *Account) Key() Key { return Key{Provider: a.Provider, Account: a.Account} }

// Index is the account index file: which accounts exist and which one is each
// provider's default. It holds no secret.
type Index struct {
	Version  int               `json:"version"`
	Defaults map[string]string `json:"defaults"`
	Accounts []Account         `json:"accounts"`
}

// IndexVersion is the format version of the account index, in a file or
// in Vault (keyring/vault).
const IndexVersion = 1

// ErrAmbiguous means no provider or account was named and more than one fits.
var ErrAmbiguous = errors.New("more than one stored account")

// LoadIndex reads the index file; a missing file is an empty index.
func LoadIndex(path string) (*Index, error) {
	ix := Index{Version: IndexVersion}
	if err := loadJSONFile(path, "account index", "move it away and log in again", IndexVersion, &ix, &ix.Version); err != nil {
		return nil, err
	}
	if ix.Defaults == nil {
		ix.Defaults = map[string]string{}
	}
	return &ix, nil
}

// loadJSONFile decodes the versioned JSON file at path into v, leaving v
// as it is when the file does not exist. what names the file in errors,
// fix says how to recover from a damaged one; *version is the version
// field of v, which must equal want.
//
// The directory and the file must be safe (docs/security.md §3.2): the
// file decides where tokens are sent, so one that another user owns or
// could write, or that sits in a directory others can write, is refused
// (safefile.ErrUnsafe, exit 2); it is opened once and judged by its open
// descriptor, so it cannot be swapped between the check and the read.
func loadJSONFile(path, what, fix string, want int, v any, version *int) error {
	if err := safefile.CheckDir(filepath.Dir(path)); err != nil {
		return fmt.Errorf("the directory of the %s: %w", what, err)
	}
	data, err := safefile.ReadFile(path, maxStateFile)
	if errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading the %s: %w", what, err)
	}
	return decodeJSONFile(path, data, what, fix, want, v, version)
}

// decodeJSONFile is loadJSONFile after the read.
func decodeJSONFile(path string, data []byte, what, fix string, want int, v any, version *int) error {
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%s %s is damaged (%v); %s", what, path, err, fix)
	}
	if *version != want {
		return fmt.Errorf("%s %s has unknown version %d", what, path, *version)
	}
	return nil
}

// maxStateFile bounds the index and clients.json: thousands of accounts fit.
const maxStateFile = 8 << 20

// saveJSONFile writes v as indented JSON atomically with mode 0600, into a
// directory that only the user can write (checked again after it was
// created: another user could have created it first).
func saveJSONFile(path string, v any) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("creating %s: %w", dir, err)
	}
	if err := safefile.CheckDir(dir); err != nil {
		return fmt.Errorf("refusing to write %s: %w", path, err)
	}
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return err
	}
	return safefile.WriteFile(path, append(data, '\n'), false)
}

// Save writes the index atomically (temp file, fsync, rename) with mode 0600
// in a 0700 directory.
func (ix *Index) Save(path string) error {
	ix.Normalize()
	return saveJSONFile(path, ix)
}

// Normalize sets the version and sorts the accounts, as every backend
// stores the index.
func (ix *Index) Normalize() {
	ix.Version = IndexVersion
	sort.SliceStable(ix.Accounts, func(i, j int) bool {
		a, b := ix.Accounts[i], ix.Accounts[j]
		if a.Provider != b.Provider {
			return a.Provider < b.Provider
		}
		return a.Account < b.Account
	})
}

// Find returns the account or nil.
func (ix *Index) Find(provider, account string) *Account {
	for i := range ix.Accounts {
		if ix.Accounts[i].Provider == provider && ix.Accounts[i].Account == account {
			return &ix.Accounts[i]
		}
	}
	return nil
}

// ProviderAccounts lists the accounts of one provider, sorted.
func (ix *Index) ProviderAccounts(provider string) []Account {
	var out []Account
	for _, a := range ix.Accounts {
		if a.Provider == provider {
			out = append(out, a)
		}
	}
	return out
}

// Put inserts or replaces an account. The first account of a provider
// becomes its default.
func (ix *Index) Put(a Account) {
	if old := ix.Find(a.Provider, a.Account); old != nil {
		*old = a
	} else {
		ix.Accounts = append(ix.Accounts, a)
	}
	if ix.Defaults == nil {
		ix.Defaults = map[string]string{}
	}
	if ix.Find(a.Provider, ix.Defaults[a.Provider]) == nil {
		ix.Defaults[a.Provider] = a.Account
	}
}

// Remove deletes an account; if it was the default, another account of the
// provider (the first by name) becomes the default.
func (ix *Index) Remove(provider, account string) {
	out := ix.Accounts[:0]
	for _, a := range ix.Accounts {
		if a.Provider != provider || a.Account != account {
			out = append(out, a)
		}
	}
	ix.Accounts = out
	if ix.Defaults[provider] == account {
		delete(ix.Defaults, provider)
		if rest := ix.ProviderAccounts(provider); len(rest) > 0 {
			sort.Slice(rest, func(i, j int) bool { return rest[i].Account < rest[j].Account })
			ix.Defaults[provider] = rest[0].Account
		}
	}
}

// ambiguous is ErrAmbiguous listing the accounts grouped by provider, in
// words that fit whether they belong to one provider or several:
// "more than one stored account (google: alice, bob): name the provider
// (its default account) or add --account NAME".
func ambiguous(fits []Account) error {
	var providers []string
	byProvider := map[string][]string{}
	for _, a := range fits {
		if _, ok := byProvider[a.Provider]; !ok {
			providers = append(providers, a.Provider)
		}
		byProvider[a.Provider] = append(byProvider[a.Provider], a.Account)
	}
	groups := make([]string, 0, len(providers))
	for _, p := range providers {
		groups = append(groups, p+": "+strings.Join(byProvider[p], ", "))
	}
	if len(providers) == 1 {
		return fmt.Errorf("%w (%s): name the provider for its default account, or add --account NAME", ErrAmbiguous, groups[0])
	}
	return fmt.Errorf("%w (%s): name a provider, and add --account NAME for one that is not its default", ErrAmbiguous, strings.Join(groups, "; "))
}

// Resolve picks the account that `token [PROVIDER] [--account NAME]` means:
// with no provider, the only stored account (of that name, if one is given);
// with no account name, the provider's default. It returns ErrNotFound (wrapped, naming what is
// missing) or ErrAmbiguous (wrapped, listing the choices).
func (ix *Index) Resolve(provider, account string) (*Account, error) {
	if provider == "" {
		fits := ix.Accounts
		if account != "" {
			fits = nil
			for _, a := range ix.Accounts {
				if a.Account == account {
					fits = append(fits, a)
				}
			}
		}
		switch {
		case len(ix.Accounts) == 0:
			return nil, fmt.Errorf("%w: no account is logged in", ErrNotFound)
		case len(fits) == 0:
			return nil, fmt.Errorf("%w: no account %q", ErrNotFound, account)
		case len(fits) == 1:
			a := fits[0]
			return &a, nil
		}
		return nil, ambiguous(fits)
	}
	if account == "" {
		account = ix.Defaults[provider]
	}
	if a := ix.Find(provider, account); a != nil {
		c := *a
		return &c, nil
	}
	if account == "" {
		return nil, fmt.Errorf("%w: not logged in to %s", ErrNotFound, provider)
	}
	return nil, fmt.Errorf("%w: no account %q for %s", ErrNotFound, account, provider)
}
