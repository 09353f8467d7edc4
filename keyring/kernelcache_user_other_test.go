//go:build !linux

package keyring_test

// The kernel keyring cache exists only on Linux (kernelcache_user_linux_test.go
// has the child that uses it as another user); TestMain still looks for the
// child's variable, which no test sets on other platforms.
const kcacheChildEnv = "OAUTHCTL_KCACHE_TEST_CHILD"

func kcacheChild(string) int { return 2 }
