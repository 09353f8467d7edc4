package auth

import (
	"fmt"
	"html"
	"io"
	"log"
	"net/http"
)

// writePage writes the static answer page: no script, no style sheet, no
// link, no image, nothing from the request. The Content-Security-Policy set
// by ServeHTTP forbids loading anything anyway.
func writePage(w http.ResponseWriter, status int, title, text string) {
	w.WriteHeader(status)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>oauthctl: %s</title></head>
<body><h1>%s</h1><p>%s</p></body></html>
`, html.EscapeString(title), html.EscapeString(title), html.EscapeString(text))
}

// discardLogger silences net/http's own error log (TLS probes, slow
// clients): the listener must not write to the terminal behind the command's
// back.
func discardLogger() *log.Logger { return log.New(io.Discard, "", 0) }
