// Package clock has the one context-aware sleep that oauthctl's retries and
// polls use (device-flow polling, the revocation back-off, Vault
// check-and-set and lease polling, the keychain write retry).
package clock

import (
	"context"
	"time"
)

// Sleep waits d, or until ctx ends; then it returns ctx's error.
func Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
