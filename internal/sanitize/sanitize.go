// Package sanitize makes untrusted text safe to show on a terminal. It is
// auth.Sanitize's implementation, kept in a package of its own so that the
// small `oauthctl` front binary (cmd/oauthctl), which must not link the
// protocol code, prints warnings exactly as the full program does.
package sanitize

import (
	"strings"
	"unicode"
)

// Line is the one sanitizer for provider-supplied text shown to a person
// (docs/security.md §4.3): C0 and C1 controls (ESC, CSI, CR, LF, NUL, DEL),
// format characters (bidi overrides and isolates, zero-width characters),
// line and paragraph separators and invalid UTF-8 become spaces, runs of
// space collapse, and the result is cut to max runes with an ellipsis.
// Letters of any script are kept.
func Line(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range s {
		if unicode.IsControl(r) || r == unicode.ReplacementChar || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp) {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		if n == max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return strings.TrimSpace(b.String())
}
