#!/usr/bin/env bash
# bench-token.sh — how fast is `oauthctl token` when the cached token answers?
#
# Times whole processes against a real Secret Service, interleaved in one
# loop with two baselines, and prints medians, ratios, peak RSS and whether
# each goal is met:
#   hello       a minimal Go program that prints a string (the process floor)
#   keyringget  a minimal Go program that does one go-keyring Get of the same
#               keychain item `oauthctl token` reads (the keychain floor)
#   oauthctl    `oauthctl token bench` run by the small front binary
#               (cmd/oauthctl, installed as "oauthctl"), the hot path: index
#               file, one lookup in the Linux kernel keyring
#               (keyring/kernelcache.go), print
#   oauthctl-nocache
#               the front with OAUTHCTL_KERNEL_CACHE=0: index file, one
#               keychain read (2 D-Bus round trips where go-keyring's Get
#               takes 7; see keyring/secretservice_linux.go), print
#   oauthctl-full
#               (informational, no goal) `oauthctl-full token bench`, the
#               full program (the module's root package) run directly, as a
#               self-contained oauthctl would be: the same hot path with the
#               kernel cache on, behind the start-up of the large binary
# each built twice: with the default settings and with CGO_ENABLED=0 (the
# README's build; hello has no cgo either way). The front and the full
# program of each build sit side by side in their own directory, as
# scripts/install.sh installs them; the script first checks that a copy of
# the front alone (no oauthctl-full beside it) prints the token with the
# cache on and off, so the front rows never measure a hand-over to the full
# program. internal/bench/harness runs them in one interleaved loop, takes
# wall time per process and peak RSS from GNU time (%M), and checks the goals
# of issue 14 for the front of each build: with the kernel cache at most
# 0.5x the keychain floor and 1.8x the process floor, peak RSS under 10 MiB;
# without it at most 1.1x the keychain floor. It exits 3 when a goal fails.
# One is a known miss (KNOWN, not a failure): a default cgo build of the
# front is dynamically linked (the D-Bus library links net and os/user), and
# the dynamic loader alone costs about 1 ms, so it is not held to 1.8x the
# process floor (README, Performance); the static build is.
#
# Usage: scripts/bench-token.sh [RUNS]        (default 200 runs of each)
#
# By default it starts a private D-Bus session with its own unlocked
# gnome-keyring in a temp directory, so your own keyring is never touched
# (needs dbus-daemon and gnome-keyring-daemon: apt-get install dbus
# gnome-keyring). BENCH_USE_SESSION_KEYRING=1 uses your running session's
# Secret Service instead; the item it adds is removed at the end, and so is
# its kernel-keyring copy.
set -euo pipefail

runs=${1:-200}
root=$(cd "$(dirname "$0")/.." && pwd)

if [ -z "${OAUTHCTL_BENCH_INNER:-}" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  mkdir -p "$tmp/bin" "$tmp/static" "$tmp/front-only" "$tmp/home" "$tmp/run"
  chmod 700 "$tmp/run"
  # Build before HOME moves: the Go caches live under the real HOME.
  echo "building (go $(go env GOVERSION), $(go env GOOS)/$(go env GOARCH))..." >&2
  # The front (oauthctl) finds the full program (oauthctl-full) in its own
  # directory: each build gets one.
  (cd "$root" && go build -o "$tmp/bin/oauthctl" ./cmd/oauthctl &&
    go build -o "$tmp/bin/oauthctl-full" . &&
    go build -o "$tmp/bin/hello" ./internal/bench/hello &&
    go build -o "$tmp/bin/keyringget" ./internal/bench/keyringget &&
    go build -o "$tmp/bin/harness" ./internal/bench/harness &&
    # The same programs built without cgo (static binaries: no dynamic
    # loader at start-up), as release builds of Go CLIs usually are and as
    # scripts/install.sh builds them.
    CGO_ENABLED=0 go build -o "$tmp/static/oauthctl" ./cmd/oauthctl &&
    CGO_ENABLED=0 go build -o "$tmp/static/oauthctl-full" . &&
    CGO_ENABLED=0 go build -o "$tmp/static/keyringget" ./internal/bench/keyringget)
  cp "$tmp/bin/oauthctl" "$tmp/front-only/oauthctl"
  if [ "${BENCH_USE_SESSION_KEYRING:-}" = 1 ]; then
    OAUTHCTL_BENCH_INNER="$tmp" "$0" "$@"
    exit
  fi
  for tool in dbus-daemon gnome-keyring-daemon; do
    command -v "$tool" >/dev/null || { echo "bench-token.sh: $tool not found (apt-get install dbus gnome-keyring)" >&2; exit 1; }
  done
  # A private session bus with a throwaway, unlocked gnome-keyring, started
  # as the tests start theirs (internal/testkeyring): the bus activates no
  # services, so a second, locked daemon cannot appear in the middle of a
  # run (with dbus-run-session's default configuration one did, under load:
  # "the keychain is locked").
  HOME="$tmp/home" XDG_DATA_HOME="$tmp/home/data" XDG_CONFIG_HOME="$tmp/home/config" \
    XDG_RUNTIME_DIR="$tmp/run" OAUTHCTL_BENCH_INNER="$tmp" \
    "$tmp/bin/harness" keyring "$0" "$@"
  exit
fi

tmp=$OAUTHCTL_BENCH_INNER
bin="$tmp/bin" static="$tmp/static"
export OAUTHCTL_STATE_DIR="$tmp/state"
# Locks follow the UID, not XDG_RUNTIME_DIR (which only isolates the keyring
# daemon above); keep the bench's out of the user's real lock directory.
export OAUTHCTL_LOCK_DIR="$tmp/locks"
# No providers.yaml: the hot path needs none. (It looks for the default one
# only to see whether it names `store: vault`; none there answers
# "keychain". An OAUTHCTL_CONFIG naming a missing file is an error.)
unset OAUTHCTL_CONFIG
provider=bench account="bench-$$"
"$bin/harness" seed "$provider" "$account"
trap '"$bin/harness" unseed "$provider" "$account" || true' EXIT

# Sanity: the commands under test print the seeded token and nothing else.
# The front alone (front-only: no oauthctl-full beside it, so a hand-over
# would fail) answers with the cache off (one keychain read) and then on
# (that call fills the kernel key), so the front rows measure the front.
check() {
  local out
  out=$("$@") || { echo "bench-token.sh: $* failed" >&2; exit 1; }
  case "$out" in fake-bench-access-token-*) ;; *) echo "bench-token.sh: unexpected token output from $*" >&2; exit 1 ;; esac
}
off=OAUTHCTL_KERNEL_CACHE=0
check env "$off" "$tmp/front-only/oauthctl" token "$provider"
check "$tmp/front-only/oauthctl" token "$provider"
for b in "$bin" "$static"; do
  check "$b/oauthctl" token "$provider"
  check "$b/oauthctl-full" token "$provider"
done

# That first cached call filled the kernel cache, unless keyctl is
# unavailable (then the "oauthctl" rows measure the fallback, and the goals
# fail). The key answers the request as given ("token bench": no --account).
if grep -q " oauthctl:[0-9a-f]*:$provider:: " /proc/keys 2>/dev/null; then
  echo "kernel cache: filled" >&2
else
  echo "kernel cache: not filled (keyctl unavailable?); the cached rows measure the fallback" >&2
fi

echo "machine: $(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)" >&2
status=0
"$bin/harness" run -n "$runs" \
  -goal "oauthctl/keyringget<=0.5" -known "oauthctl/hello<=1.8" -goal "oauthctl.rss<10" \
  -goal "oauthctl-nocache/keyringget<=1.1" \
  -goal "oauthctl-static/keyringget-static<=0.5" -goal "oauthctl-static/hello<=1.8" -goal "oauthctl-static.rss<10" \
  -goal "oauthctl-static-nocache/keyringget-static<=1.1" \
  "hello=$bin/hello" \
  "keyringget=$bin/keyringget oauthctl $provider:$account" \
  "oauthctl=$bin/oauthctl token $provider" \
  "oauthctl-nocache=$off $bin/oauthctl token $provider" \
  "oauthctl-full=$bin/oauthctl-full token $provider" \
  "keyringget-static=$static/keyringget oauthctl $provider:$account" \
  "oauthctl-static=$static/oauthctl token $provider" \
  "oauthctl-static-nocache=$off $static/oauthctl token $provider" \
  "oauthctl-full-static=$static/oauthctl-full token $provider" || status=$?
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo ?)" >&2
exit "$status"
