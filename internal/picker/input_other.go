//go:build !linux && !darwin && !freebsd && !netbsd && !openbsd && !dragonfly

package picker

import "os"

// stoppableInput is the terminal itself where no poll(2) is available.
type stoppableInput struct{ *os.File }

func newStoppableInput(f *os.File) *stoppableInput { return &stoppableInput{f} }

func (r *stoppableInput) stop() {}

func keepOutputProcessing(*os.File) error { return nil }
