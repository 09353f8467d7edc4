package cmd

import (
	"fmt"
	"io"

	"github.com/oauthctl/oauthctl/session"
)

// printWarnings prints the warnings of a use case on stderr, one a line:
// "warning: ..." or, for a mere remark, "note: ...".
func printWarnings(w io.Writer, warnings []session.Warning) {
	for _, x := range warnings {
		prefix := "warning: "
		if x.Kind.Note() {
			prefix = "note: "
		}
		fmt.Fprintln(w, prefix+x.Msg)
	}
}
