#!/usr/bin/env bash
# A real HashiCorp Vault server for oauthctl's tests and for trying the Vault
# store by hand.
#
#   scripts/vault-dev.sh path     print the binary's path; exit 1 if not built
#   scripts/vault-dev.sh build    build it unless it is already cached; print the path
#   scripts/vault-dev.sh start    start `vault server -dev` on 127.0.0.1 and a free
#                                 port in the background; print the variables to use
#                                 (eval "$(scripts/vault-dev.sh start)")
#
# The binary: $OAUTHCTL_VAULT_BIN, else
# ${XDG_CACHE_HOME:-$HOME/.cache}/oauthctl-test/vault-v1.21.4 (what
# internal/testvault looks for). Never in the checkout: Vault >= 1.15 is
# BUSL-1.1; build it where the tests run, never commit or vendor it.
#
# Why a build at all: no package source this project uses ships a Vault or
# OpenBao server, but the Go module proxy serves github.com/hashicorp/vault.
# `go install github.com/hashicorp/vault@v1.21.4` is refused because Vault's
# go.mod has replace directives, so the build uses a throw-away wrapper
# module (under the cache directory) that requires vault and copies its two
# non-local replaces. Vault v1.21.4 compiles against its in-tree ./sdk, which
# has release-branch backports no published sdk has; against sdk v0.21.0 two
# functions differ (framework.Backend.ActivationFunc and
# keysutil.LockManager.RestorePolicy), so the build patches a private copy of
# sdk v0.21.0 in just those two places (a small Go program below), and pins
# versions with `go get` (`go mod tidy` would raise sdk to one that does not
# compile either). Cold: ~10 min on 2 cores, ~3 GB of modules, ~5 GB of build
# cache; warm: ~2 min. Result: a ~500 MB static binary.
set -euo pipefail

VAULT_VERSION=v1.21.4 API_VERSION=v1.22.0 SDK_VERSION=v0.21.0 NEW_SDK_VERSION=v0.25.1
CACHE=${XDG_CACHE_HOME:-$HOME/.cache}/oauthctl-test
BIN=${OAUTHCTL_VAULT_BIN:-$CACHE/vault-$VAULT_VERSION}

usage() { sed -n '2,12p' "$0" >&2; exit 2; }

have_bin() { [[ -x $BIN && $("$BIN" version 2>/dev/null) == "Vault $VAULT_VERSION"* ]]; }

build() {
  if have_bin; then echo "$BIN"; return; fi
  local work=${VAULT_BUILD_DIR:-$CACHE/vault-build}
  mkdir -p "$work" "$(dirname "$BIN")"
  cd "$work"
  echo "== building Vault $VAULT_VERSION into $BIN (work dir $work)" >&2
  local sdk_src new_src sdk_dir=$work/sdk-patched
  sdk_src=$(go mod download -json "github.com/hashicorp/vault/sdk@$SDK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  new_src=$(go mod download -json "github.com/hashicorp/vault/sdk@$NEW_SDK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  rm -rf "$sdk_dir"; cp -r "$sdk_src" "$sdk_dir"; chmod -R u+w "$sdk_dir"

  # The sdk patch, in Go so that CI needs nothing but Go.
  mkdir -p "$work/patch"
  cat > "$work/patch/go.mod" <<'MOD'
module patch

go 1.22
MOD
  cat > "$work/patch/main.go" <<'GO'
// Command patch adapts a copy of vault/sdk v0.21.0 to Vault v1.21.4's
// release branch: ActivationFunc without the string argument, and
// RestorePolicy as in a newer sdk (returning (string, error)).
package main

import (
	"fmt"
	"os"
	"regexp"
	"strings"
)

func must(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "patch:", err)
		os.Exit(1)
	}
}

func main() {
	sdk, newer := os.Args[1], os.Args[2]
	p := sdk + "/framework/backend.go"
	b, err := os.ReadFile(p)
	must(err)
	old := "ActivationFunc func(context.Context, *logical.Request, string) error"
	if strings.Count(string(b), old) != 1 {
		must(fmt.Errorf("ActivationFunc signature not found"))
	}
	must(os.WriteFile(p, []byte(strings.Replace(string(b), old, "ActivationFunc func(context.Context, *logical.Request) error", 1)), 0o644))

	re := regexp.MustCompile(`(?s)func \(lm \*LockManager\) RestorePolicy\(.*?\n}\n`)
	nb, err := os.ReadFile(newer + "/helper/keysutil/lock_manager.go")
	must(err)
	body := re.Find(nb)
	if body == nil {
		must(fmt.Errorf("RestorePolicy not found in the newer sdk"))
	}
	p = sdk + "/helper/keysutil/lock_manager.go"
	b, err = os.ReadFile(p)
	must(err)
	if len(re.FindAllIndex(b, -1)) != 1 {
		must(fmt.Errorf("RestorePolicy not found"))
	}
	s := string(re.ReplaceAllLiteral(b, body))
	if !strings.Contains(s, "\"errors\"") {
		s = strings.Replace(s, "import (\n", "import (\n\t\"errors\"\n", 1)
	}
	must(os.WriteFile(p, []byte(s), 0o644))
}
GO
  (cd "$work/patch" && GOFLAGS= go run . "$sdk_dir" "$new_src")
  gofmt -l "$sdk_dir/framework" "$sdk_dir/helper/keysutil" >&2

  rm -f go.mod go.sum
  cat > go.mod <<MOD
module vaultbuild

go 1.25.3

replace github.com/99designs/keyring => github.com/Jeffail/keyring v1.2.3

replace github.com/ma314smith/signedxml v1.1.1 => github.com/moov-io/signedxml v1.1.1

replace github.com/hashicorp/vault/sdk => $sdk_dir
MOD
  cat > tools.go <<'GO'
//go:build tools

package vaultbuild

import _ "github.com/hashicorp/vault"
GO
  echo "== go get (module graph and downloads)" >&2
  GOFLAGS= go get "github.com/hashicorp/vault@$VAULT_VERSION" \
    "github.com/hashicorp/vault/sdk@$SDK_VERSION" "github.com/hashicorp/vault/api@$API_VERSION" >&2
  echo "== go build" >&2
  GOFLAGS= CGO_ENABLED=0 go build -o "$BIN.tmp" github.com/hashicorp/vault >&2
  mv "$BIN.tmp" "$BIN"
  "$BIN" version >&2
  echo "$BIN"
}

# free_port prints a port on 127.0.0.1 that nothing listens on.
free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 30000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return; fi
  done
  echo "no free port found" >&2; return 1
}

start() {
  have_bin || { echo "no Vault $VAULT_VERSION at $BIN; run: $0 build" >&2; exit 1; }
  local port dir token pid out
  port=$(free_port)
  dir=$(mktemp -d "${TMPDIR:-/tmp}/oauthctl-vault-dev.XXXXXX")
  token=dev-root-$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')
  # -dev-no-store-token: leave ~/.vault-token alone. HOME is the server's own.
  HOME=$dir "$BIN" server -dev -dev-listen-address="127.0.0.1:$port" \
    -dev-root-token-id="$token" -dev-no-store-token >"$dir/vault.log" 2>&1 &
  pid=$!
  echo "$pid" > "$dir/vault.pid"
  for _ in $(seq 1 300); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      # Serving: the KV v2 mount appears a moment after the listener.
      out=$(VAULT_TOKEN=$token "$BIN" kv get -address="http://127.0.0.1:$port" -mount=secret probe 2>&1 || true)
      if [[ $out == *"No value found"* ]]; then
        cat <<ENV
export VAULT_ADDR=http://127.0.0.1:$port
export VAULT_TOKEN=$token
export VAULT_DEV_PID=$pid
# log: $dir/vault.log; stop with: kill $pid
ENV
        return
      fi
    fi
    sleep 0.1
  done
  echo "vault did not come up; see $dir/vault.log" >&2
  kill "$pid" 2>/dev/null || true
  exit 1
}

case ${1:-} in
  path) have_bin && echo "$BIN" || { echo "no Vault $VAULT_VERSION at $BIN" >&2; exit 1; } ;;
  build) build ;;
  start) start ;;
  *) usage ;;
esac
