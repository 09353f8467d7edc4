package keyring

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// Errors of a search that finds nothing usable: the cache is working.
var (
	errNoKey      error = unix.ENOKEY
	errKeyExpired error = unix.EKEYEXPIRED
	errKeyRevoked error = unix.EKEYREVOKED
)

// systemKeyctl is the kernel's keyctl(2) and add_key(2), without cgo.
func systemKeyctl() keyctl { return linuxKeyctl{} }

// linuxKeyctl addresses the user keyring by its special ID
// (KEY_SPEC_USER_KEYRING) instead of searching the session keyring: a login
// session's keyring links @u (pam_keyinit), but a systemd system service
// (KeyringMode=private) or a container gets a session keyring that does not,
// and @u is the same keyring for all of a UID's processes in either case.
type linuxKeyctl struct{}

func (linuxKeyctl) uid() int { return unix.Geteuid() }

func (linuxKeyctl) search(desc string) (int, error) {
	return unix.KeyctlSearch(unix.KEY_SPEC_USER_KEYRING, "user", desc, 0)
}

func (linuxKeyctl) describe(id int, buf []byte) (int, error) {
	return unix.KeyctlBuffer(unix.KEYCTL_DESCRIBE, id, buf, 0)
}

func (linuxKeyctl) read(id int, buf []byte) (int, error) {
	return unix.KeyctlBuffer(unix.KEYCTL_READ, id, buf, 0)
}

func (linuxKeyctl) add(desc string, payload []byte) (int, error) {
	return unix.AddKey("user", desc, payload, unix.KEY_SPEC_THREAD_KEYRING)
}

func (linuxKeyctl) setTimeout(id int, seconds uint) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_SET_TIMEOUT, id, int(seconds), 0, 0)
	return err
}

func (linuxKeyctl) setPerm(id int, perm uint32) error { return unix.KeyctlSetperm(id, perm) }

func (linuxKeyctl) linkUser(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_LINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	return err
}

func (linuxKeyctl) unlinkUser(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_USER_KEYRING, 0, 0)
	return err
}

func (linuxKeyctl) unlinkStaged(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_UNLINK, id, unix.KEY_SPEC_THREAD_KEYRING, 0, 0)
	return err
}

// lockThread pins the calling goroutine to its OS thread until the returned
// function runs: the thread keyring, and the possession of the keys in it,
// belong to one thread, and the Go scheduler may move a goroutine between
// threads from one system call to the next.
func (linuxKeyctl) lockThread() func() {
	runtime.LockOSThread()
	return runtime.UnlockOSThread
}

func (linuxKeyctl) invalidate(id int) error {
	_, err := unix.KeyctlInt(unix.KEYCTL_INVALIDATE, id, 0, 0, 0)
	return err
}
