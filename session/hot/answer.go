package hot

import (
	"context"
	"errors"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// Deps are what Answer reads.
type Deps struct {
	Getenv func(string) string
	Now    func() time.Time
	// Paths says where the account index is.
	Paths func() (keyring.Paths, error)
	// Cache is the kernel keyring copy of the tokens; nil or disabled:
	// none (it exists only for the local keychain store).
	Cache *keyring.KernelCache
	// Keychain is the local keychain store, read once when the cache
	// misses; nil: Answer reads no store (the full program's `token` leaves
	// that to session.Acquire, which reads it anyway).
	Keychain func() keyring.Store
}

// Request is an access token request as `token` takes it on its hot path:
// the provider and account as on the command line ("" for the only stored
// account, or the provider's default) and the demands on the token.
type Request struct {
	Provider string
	Account  string
	Options  Options
}

// Answer gives the stored access token for req when the hot path can: from
// the kernel cache, else, with d.Keychain, after one keychain read under
// session.Acquire's first-step rules (Serve), copying it into the cache
// (Fill). A nil token means: take the full path (ResolveAccount, Acquire),
// then fill the cache with index, the account index file's bytes as Answer
// read them before any store (nil: nothing to fill). An error is final: the
// keychain is unavailable (*keyring.UnavailableError) or ctx ended, and the
// full path would only meet it again (and prompt twice for a locked
// keychain).
//
// Steps: read the index file with LoadIndex's checks (keyring.ReadIndexFile);
// one keyctl search, describe and read (FromCache); else resolve the account
// in that index (as ResolveAccount's first step), one keychain read, Serve
// and Fill.
func Answer(ctx context.Context, d Deps, req Request) (*Token, []byte, error) {
	if !d.Cache.Enabled() && d.Keychain == nil {
		return nil, nil, nil
	}
	paths, err := d.Paths()
	if err != nil {
		return nil, nil, nil
	}
	index, err := keyring.ReadIndexFile(paths.Index)
	if err != nil {
		return nil, nil, nil
	}
	now := d.Now()
	if t := FromCache(d.Cache, index, req.Provider, req.Account, req.Options, now, d.Getenv); t != nil {
		return t, index, nil
	}
	if d.Keychain == nil {
		return nil, index, nil
	}
	ix, err := keyring.ParseIndex(paths.Index, index)
	if err != nil {
		return nil, index, nil
	}
	acct, err := ix.Resolve(req.Provider, req.Account)
	if err != nil {
		return nil, index, nil
	}
	rec, err := d.Keychain().Load(ctx, acct.Key())
	var ue *keyring.UnavailableError
	switch {
	case ctx.Err() != nil:
		return nil, index, ctx.Err()
	case errors.As(err, &ue):
		return nil, index, err
	case err != nil:
		return nil, index, nil // nothing stored, or unreadable: the full path explains
	}
	warnings, ok := Serve(acct, rec, req.Options, now, d.Getenv)
	if !ok {
		return nil, index, nil
	}
	Fill(d.Cache, index, req.Provider, req.Account, acct, rec, warnings)
	return &Token{Account: acct, Record: rec, Warnings: warnings}, index, nil
}
