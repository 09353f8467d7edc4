//go:build !linux

package testkeyring

import "errors"

// errUnsupported: the harness drives gnome-keyring over D-Bus, which only
// the Linux builds of the tests use.
var errUnsupported = errors.New("the private Secret Service harness runs only on Linux")

// Start is not supported on this platform.
func Start() (env []string, stop func(), err error) { return nil, nil, errUnsupported }

// StartBus is not supported on this platform.
func StartBus() (env []string, stop func(), err error) { return nil, nil, errUnsupported }

// StartLocked is not supported on this platform.
func StartLocked() (env []string, stop func(), err error) { return nil, nil, errUnsupported }

func isMissing(err error) bool { return errors.Is(err, errUnsupported) }

// Users is not supported on this platform.
func Users(service string) ([]string, error) { return nil, errUnsupported }
