package keyring

import "context"

// StateStore keeps the non-secret per-user state: the account index (which
// accounts exist, each provider's default) and the client registrations
// (client IDs saved with `oauthctl client set`). FileState keeps them in
// local files under a file lock; Vault keeps them in Vault with
// check-and-set, so that every machine sharing the Vault sees one state.
type StateStore interface {
	// LoadIndex returns the account index; nothing stored is an empty one.
	LoadIndex(ctx context.Context) (*Index, error)
	// UpdateIndex runs fn on the current index and stores the result
	// atomically with respect to other updates (an error from fn stores
	// nothing). fn may run more than once.
	UpdateIndex(ctx context.Context, fn func(*Index) error) error
	// LoadClients returns the client registrations; nothing stored is empty.
	LoadClients(ctx context.Context) (*Clients, error)
	// UpdateClients is UpdateIndex for the client registrations.
	UpdateClients(ctx context.Context, fn func(*Clients) error) error
}

// FileState is the StateStore of local files: the index at Paths.Index and
// the registrations next to it, updated under locks in Paths.LockDir.
type FileState struct{ Paths Paths }

// LoadIndex implements StateStore.
func (s FileState) LoadIndex(context.Context) (*Index, error) { return LoadIndex(s.Paths.Index) }

// UpdateIndex implements StateStore.
func (s FileState) UpdateIndex(ctx context.Context, fn func(*Index) error) error {
	return UpdateIndex(ctx, s.Paths, fn)
}

// LoadClients implements StateStore.
func (s FileState) LoadClients(context.Context) (*Clients, error) {
	return LoadClients(s.Paths.ClientsPath())
}

// UpdateClients implements StateStore.
func (s FileState) UpdateClients(ctx context.Context, fn func(*Clients) error) error {
	return UpdateClients(ctx, s.Paths, fn)
}
