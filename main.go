// Command oauthctl signs in to OAuth 2.0 / OpenID Connect providers from the
// terminal, keeps the tokens in the OS keychain and prints fresh access tokens
// for scripts. See README.md.
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"syscall"

	"github.com/oauthctl/oauthctl/cmd"
	"github.com/oauthctl/oauthctl/internal/procsec"
)

// builtinProviders are the provider presets. go:embed cannot reach "..", so
// the root package embeds the file and hands it to cmd.
//
//go:embed providers.yaml
var builtinProviders []byte

// version may be set at link time with -ldflags "-X main.version=..."; when
// it is not, --version reads the module version or VCS revision from the
// Go build info.
var version = ""

func main() {
	// Before anything reads a token: no core file may hold one
	// (docs/security.md §3.5).
	procsec.DisableCoreDumps()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cmd.Main(ctx, os.Args[1:], builtinProviders, version)
	stop()
	os.Exit(code)
}
