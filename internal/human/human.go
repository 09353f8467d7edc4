// Package human renders values for the messages people read. Machine
// outputs (JSON, the exec environment) keep their own formats.
package human

import (
	"strconv"
	"strings"
	"time"
)

// Duration renders d to the second the way people write it, without the
// zero units time.Duration's String prints: "45s", "5m", "1h30m", "2d4h",
// "1h0m5s" as "1h5s". A past deadline is "0s"; below a second it is in
// milliseconds ("50ms"); from a second on, fractions are rounded.
func Duration(d time.Duration) string {
	switch {
	case d <= 0:
		return "0s"
	case d < time.Second:
		return d.Round(time.Millisecond).String()
	}
	d = d.Round(time.Second)
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}, {time.Second, "s"}} {
		if n := d / u.unit; n > 0 {
			b.WriteString(strconv.FormatInt(int64(n), 10))
			b.WriteString(u.name)
			d -= n * u.unit
		}
	}
	return b.String()
}
