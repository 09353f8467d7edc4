//go:build darwin || freebsd || netbsd || openbsd || dragonfly

package cmd

import "syscall"

const (
	ioctlGetTermios = syscall.TIOCGETA
	ioctlSetTermios = syscall.TIOCSETA
)
