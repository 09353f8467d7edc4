// Command keyringget is the keychain floor of scripts/bench-token.sh: a
// minimal Go program that does one go-keyring Get of the item that
// `oauthctl token` reads, and prints it. No Go program that reads that item
// can start faster, so `oauthctl token` is judged against it.
//
// Usage: keyringget SERVICE USER
package main

import (
	"os"

	gokeyring "github.com/zalando/go-keyring"
)

func main() {
	if len(os.Args) != 3 {
		_, _ = os.Stderr.WriteString("usage: keyringget SERVICE USER\n")
		os.Exit(2)
	}
	secret, err := gokeyring.Get(os.Args[1], os.Args[2])
	if err != nil {
		_, _ = os.Stderr.WriteString("keyringget: " + err.Error() + "\n")
		os.Exit(1)
	}
	_, _ = os.Stdout.WriteString(secret + "\n")
}
