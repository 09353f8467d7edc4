//go:build !(linux || darwin || freebsd || netbsd || openbsd || dragonfly)

package cmd

import "errors"

// echoOff is not implemented here: `client set` then asks for piped input.
func echoOff(uintptr) (func(), error) {
	return nil, errors.New("not supported on this platform")
}
