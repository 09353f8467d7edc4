//go:build !linux

package testvault

import "os/exec"

func setPdeathsig(*exec.Cmd) {}
