package cmd

import (
	"io"

	"github.com/oauthctl/oauthctl/cmd/front"
	"github.com/oauthctl/oauthctl/session"
)

// printWarnings prints the warnings of a use case on stderr, one a line:
// "warning: ..." or, for a mere remark, "note: ...". Warnings quote
// provider text, so each goes through the one sanitizer (docs/security.md
// §4.3), which also keeps it on one line.
func printWarnings(w io.Writer, warnings []session.Warning) {
	front.PrintWarnings(w, warnings)
}

// maxShownMessage bounds one error or warning line shown to a person.
const maxShownMessage = front.MaxShownMessage
