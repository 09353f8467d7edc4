//go:build linux || darwin || freebsd || netbsd || openbsd || dragonfly

package cmd

import (
	"syscall"
	"unsafe"
)

// echoOff turns off echo on the terminal fd, as the standard library's
// syscall package allows without golang.org/x/term, and returns the
// function that restores the previous mode.
func echoOff(fd uintptr) (restore func(), err error) {
	var old syscall.Termios
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(ioctlGetTermios), uintptr(unsafe.Pointer(&old))); errno != 0 {
		return nil, errno
	}
	quiet := old
	quiet.Lflag &^= syscall.ECHO
	quiet.Lflag |= syscall.ICANON | syscall.ISIG
	if _, _, errno := syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(ioctlSetTermios), uintptr(unsafe.Pointer(&quiet))); errno != 0 {
		return nil, errno
	}
	return func() {
		syscall.Syscall(syscall.SYS_IOCTL, fd, uintptr(ioctlSetTermios), uintptr(unsafe.Pointer(&old)))
	}, nil
}
