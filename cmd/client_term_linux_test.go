package cmd

import (
	"os"
	"strconv"
	"syscall"
	"testing"
	"unsafe"
)

// openPTY opens a pseudo-terminal pair, or skips when the system has none.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	m, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Skipf("no pseudo-terminals: %v", err)
	}
	t.Cleanup(func() { m.Close() })
	var unlock int32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCSPTLCK, uintptr(unsafe.Pointer(&unlock))); e != 0 {
		t.Skipf("unlocking the pty: %v", e)
	}
	var n uint32
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, m.Fd(), syscall.TIOCGPTN, uintptr(unsafe.Pointer(&n))); e != 0 {
		t.Skipf("pty number: %v", e)
	}
	s, err := os.OpenFile("/dev/pts/"+strconv.Itoa(int(n)), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Skipf("opening the pty: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return m, s
}

func termiosLflag(t *testing.T, f *os.File) uint32 {
	t.Helper()
	var tio syscall.Termios
	if _, _, e := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), syscall.TCGETS, uintptr(unsafe.Pointer(&tio))); e != 0 {
		t.Fatal(e)
	}
	return tio.Lflag
}

// TestEchoOff turns echo off on a real pseudo-terminal, reads a secret
// line through readHiddenLine, and checks that echo is back afterwards.
func TestEchoOff(t *testing.T) {
	t.Parallel()
	master, slave := openPTY(t)
	if termiosLflag(t, slave)&syscall.ECHO == 0 {
		t.Skip("the pty starts without echo")
	}
	restore, err := echoOff(slave.Fd())
	if err != nil {
		t.Fatal(err)
	}
	if termiosLflag(t, slave)&syscall.ECHO != 0 {
		t.Error("echo still on")
	}
	restore()
	if termiosLflag(t, slave)&syscall.ECHO == 0 {
		t.Error("echo not restored")
	}

	if _, err := master.WriteString("fake-typed-secret\n"); err != nil {
		t.Fatal(err)
	}
	got, err := readHiddenLine(t.Context(), slave)
	if err != nil || got != "fake-typed-secret" {
		t.Errorf("readHiddenLine = %q, %v", got, err)
	}
	if termiosLflag(t, slave)&syscall.ECHO == 0 {
		t.Error("echo not restored after reading")
	}
}
