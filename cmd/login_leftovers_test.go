package cmd

import (
	"context"
	"os"
	"strings"
	"testing"
)

// TestLoginSquattedLockDirBeforeBrowser reproduces issue 10 item 8: a lock
// directory that another user pre-created (or that others can write) was
// found only after consent; the login exited 1 and left tokens in the
// keychain with no index entry, which no command lists or removes. It is
// now refused before the browser opens, and nothing is stored.
func TestLoginSquattedLockDirBeforeBrowser(t *testing.T) {
	t.Parallel()
	fl := newFakeLogin(t, nil)
	if err := os.Chmod(fl.env.vars["OAUTHCTL_LOCK_DIR"], 0o777); err != nil {
		t.Fatal(err)
	}
	opened := false
	fl.f.Browser = func(ctx context.Context, u string) error {
		opened = true
		return fl.visit(ctx, u)
	}
	code := fl.run(t.Context(), "fake")
	if code == 0 || opened {
		t.Fatalf("exit %d, browser opened %v; stderr:\n%s", code, opened, fl.errOut)
	}
	if !strings.Contains(fl.errOut.String(), "lock directory") || !strings.Contains(fl.errOut.String(), "nothing was started") {
		t.Errorf("stderr:\n%s", fl.errOut)
	}
	if keys := fl.store.Keys(); len(keys) != 0 {
		t.Errorf("keychain holds %v", keys)
	}
}

// TestLoginIndexFailureLeavesNoKeychainItem: when the index cannot be
// written after the tokens went to the keychain (here the lock directory is
// squatted while the user signs in), the keychain item is removed again: a
// login never leaves items that no command lists or removes.
func TestLoginIndexFailureLeavesNoKeychainItem(t *testing.T) {
	t.Parallel()
	fl := newFakeLogin(t, nil)
	fl.f.Browser = func(ctx context.Context, u string) error {
		// Someone makes the lock directory unusable during the sign-in.
		if err := os.Chmod(fl.env.vars["OAUTHCTL_LOCK_DIR"], 0o777); err != nil {
			t.Error(err)
		}
		return fl.visit(ctx, u)
	}
	code := fl.run(t.Context(), "fake")
	if code == 0 {
		t.Fatalf("exit 0; stderr:\n%s", fl.errOut)
	}
	if !strings.Contains(fl.errOut.String(), "nothing was stored") {
		t.Errorf("stderr:\n%s", fl.errOut)
	}
	if keys := fl.store.Keys(); len(keys) != 0 {
		t.Errorf("keychain holds %v with no index entry", keys)
	}
	if ix := fl.env.loadIndex(t); len(ix.Accounts) != 0 {
		t.Errorf("index: %+v", ix.Accounts)
	}
}
