package human

import (
	"testing"
	"time"
)

func TestDuration(t *testing.T) {
	t.Parallel()
	for d, want := range map[time.Duration]string{
		-time.Minute:                   "0s",
		0:                              "0s",
		50 * time.Millisecond:          "50ms",
		999 * time.Millisecond:         "999ms",
		1500 * time.Millisecond:        "2s",
		45 * time.Second:               "45s",
		5 * time.Minute:                "5m",
		4*time.Minute + 59*time.Second: "4m59s",
		90 * time.Minute:               "1h30m",
		time.Hour + 5*time.Second:      "1h5s",
		time.Hour:                      "1h",
		50 * time.Hour:                 "2d2h",
		30 * 24 * time.Hour:            "30d",
	} {
		if got := Duration(d); got != want {
			t.Errorf("Duration(%v) = %q, want %q", d, got, want)
		}
	}
}
