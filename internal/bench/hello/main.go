// Command hello is the process floor of scripts/bench-token.sh: the smallest
// Go program that prints a token-sized string, so the benchmark can tell the
// cost of starting any Go process from the cost of oauthctl's own work.
package main

import "os"

func main() {
	_, _ = os.Stdout.WriteString("fake-access-token-0123456789abcdef\n")
}
