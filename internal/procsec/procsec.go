// Package procsec hardens the oauthctl process itself (docs/security.md
// §3.5): a core file of a process that held a token holds the token.
package procsec
