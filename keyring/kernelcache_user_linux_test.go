package keyring_test

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/oauthctl/oauthctl/keyring"
)

// kcacheChildEnv makes the test binary a child that uses the kernel cache
// as another user (see kcacheChild); kcacheIndexEnv carries the index path
// (the file need not exist: its bytes are kcacheIndex).
const (
	kcacheChildEnv = "OAUTHCTL_KCACHE_TEST_CHILD"
	kcacheIndexEnv = "OAUTHCTL_KCACHE_TEST_INDEX"
)

// The request, account and index bytes parent and child both use.
var (
	kcacheReq   = keyring.CacheRequest{Provider: "example", Account: "shared-name"}
	kcacheKey   = keyring.Key{Provider: "example", Account: "shared-name"}
	kcacheIndex = []byte(`{"version":1,"accounts":[{"provider":"example","account":"shared-name"}]}`)
)

// kcacheChild runs one kernel-cache operation and prints the outcome:
// "get" prints "hit TOKEN" or "miss"; "put" caches a token of its own and
// prints "ok" if it can then read it back; "invalidate" prints "ok".
func kcacheChild(op string) int {
	c := keyring.NewKernelCache(os.Getenv(kcacheIndexEnv), "keychain", os.Getenv, time.Now)
	switch op {
	case "get":
		if t, ok := c.Get(kcacheReq, kcacheIndex); ok {
			fmt.Println("hit", t.AccessToken)
		} else {
			fmt.Println("miss")
		}
	case "put":
		tok := &keyring.CachedToken{Provider: kcacheKey.Provider, Account: kcacheKey.Account, AccessToken: "fake-other-user-token",
			Expiry: time.Now().Add(time.Hour)}
		if err := c.Put(kcacheReq, kcacheIndex, tok); err != nil {
			fmt.Println("put:", err)
			return 1
		}
		if t, ok := c.Get(kcacheReq, kcacheIndex); !ok || t.AccessToken != "fake-other-user-token" {
			fmt.Println("cannot read its own key back")
			return 1
		}
		fmt.Println("ok")
	case "invalidate":
		c.Invalidate(kcacheKey)
		fmt.Println("ok")
	default:
		fmt.Println("unknown op", op)
		return 2
	}
	return 0
}

// TestKernelCacheOtherUser runs the cache as a second, throwaway user next
// to this one, with the same state directory and account: neither sees the
// other's token. It creates the user with useradd, so it runs only as root
// under CI=true.
func TestKernelCacheOtherUser(t *testing.T) {
	if os.Getenv("CI") != "true" || os.Geteuid() != 0 {
		t.Skip("creates a system user: runs only as root with CI=true")
	}
	useradd, err := exec.LookPath("useradd")
	if err != nil {
		t.Fatalf("useradd not found: %v", err)
	}
	var rnd [4]byte
	_, _ = rand.Read(rnd[:])
	name := "okc" + hex.EncodeToString(rnd[:])
	if out, err := exec.Command(useradd, "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", name).CombinedOutput(); err != nil {
		t.Fatalf("useradd: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("userdel", name).CombinedOutput(); err != nil {
			t.Errorf("userdel %s: %v: %s", name, err, out)
		}
	})
	u, err := user.Lookup(name)
	if err != nil {
		t.Fatal(err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)

	// The test binary, where the other user can run it.
	dir, err := os.MkdirTemp("", "oauthctl-kcache-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "keyring.test")
	copyFile(t, bin)

	index := filepath.Join(dir, "state", "index.json")
	child := func(op string) string {
		t.Helper()
		c := exec.Command(bin, "-test.run=^$")
		c.Env = []string{kcacheChildEnv + "=" + op, kcacheIndexEnv + "=" + index, "PATH=/usr/bin:/bin"}
		c.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}}
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("child %s as %s: %v: %s", op, name, err, out)
		}
		return strings.TrimSpace(string(out))
	}

	mine := keyring.NewKernelCache(index, "keychain", os.Getenv, time.Now)
	tok := &keyring.CachedToken{Provider: kcacheKey.Provider, Account: kcacheKey.Account, AccessToken: "fake-root-token",
		Expiry: time.Now().Add(time.Hour)}
	if err := mine.Put(kcacheReq, kcacheIndex, tok); err != nil {
		t.Fatalf("Put: %v", err)
	}
	t.Cleanup(func() { mine.Invalidate(kcacheKey) })

	if got := child("get"); got != "miss" {
		t.Errorf("the other user reads this user's cached token: %q", got)
	}
	if got := child("put"); got != "ok" {
		t.Fatalf("the other user cannot use its own cache: %q", got)
	}
	t.Cleanup(func() { child("invalidate") })
	if got, ok := mine.Get(kcacheReq, kcacheIndex); !ok || got.AccessToken != "fake-root-token" {
		t.Errorf("after the other user cached a token under the same name, Get = %+v, %v; want this user's", got, ok)
	}
	mine.Invalidate(kcacheKey)
	if got, ok := mine.Get(kcacheReq, kcacheIndex); ok {
		t.Errorf("after Invalidate, Get = %+v: the other user's key leaked into this user's keyring", got)
	}
}

// copyFile copies the running test binary to dst, mode 0755.
func copyFile(t *testing.T, dst string) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(exe)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}
