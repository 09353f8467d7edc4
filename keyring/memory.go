package keyring

import (
	"context"
	"sync"
)

// Memory is an in-memory Store for command tests. It counts calls so tests can
// assert, for example, that `token` read the keychain once. Fail, when set,
// makes every call return that error.
type Memory struct {
	mu      sync.Mutex
	records map[Key]*Record
	secrets map[string]string

	// Loads and Saves count calls to Load and Save.
	Loads, Saves int
	// FailSave, when set, is returned by Save (a keychain write that fails).
	FailSave error
	// FailLoad, when set, is returned by Load.
	FailLoad error
}

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{records: map[Key]*Record{}, secrets: map[string]string{}}
}

// Load implements Store.
func (m *Memory) Load(_ context.Context, key Key) (*Record, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Loads++
	if m.FailLoad != nil {
		return nil, m.FailLoad
	}
	r, ok := m.records[key]
	if !ok {
		return nil, ErrNotFound
	}
	return r.Clone(), nil
}

// Save implements Store.
func (m *Memory) Save(_ context.Context, key Key, rec *Record) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Saves++
	if m.FailSave != nil {
		return m.FailSave
	}
	m.records[key] = rec.Clone()
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(_ context.Context, key Key) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.records, key)
	return nil
}

// ClientSecret implements Store.
func (m *Memory) ClientSecret(_ context.Context, provider string) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.secrets[provider]
	if !ok {
		return "", ErrNotFound
	}
	return s, nil
}

// SetClientSecret implements Store.
func (m *Memory) SetClientSecret(_ context.Context, provider, secret string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.secrets[provider] = secret
	return nil
}

// DeleteClientSecret implements Store.
func (m *Memory) DeleteClientSecret(_ context.Context, provider string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.secrets, provider)
	return nil
}

// Keys lists the keys of the stored records (a test asserts that nothing
// was left behind).
func (m *Memory) Keys() []Key {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]Key, 0, len(m.records))
	for k := range m.records {
		out = append(out, k)
	}
	return out
}
