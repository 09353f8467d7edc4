#!/bin/sh
# install.sh — build oauthctl's two files and install them side by side.
#
#   scripts/install.sh [DIR]      (default: ~/.local/bin)
#
# oauthctl is a small front binary (cmd/oauthctl), which answers
# `oauthctl token` from stored state, and the full program (the module's
# root package), which the front runs for everything else and finds in its
# own directory as oauthctl-full. Both are built static (CGO_ENABLED=0): no
# dynamic loader at start-up. Each file is built to a temporary name and
# renamed into place, so a running oauthctl never sees half a file.
set -eu

dir=${1:-"$HOME/.local/bin"}
root=$(cd "$(dirname "$0")/.." && pwd)
mkdir -p "$dir"
dir=$(cd "$dir" && pwd) # absolute: the builds run in the checkout
cd "$root"
CGO_ENABLED=0 go build -trimpath -o "$dir/.oauthctl-full.new" .
CGO_ENABLED=0 go build -trimpath -o "$dir/.oauthctl.new" ./cmd/oauthctl
# The full program first: a new front must never find an old full program.
mv -f "$dir/.oauthctl-full.new" "$dir/oauthctl-full"
mv -f "$dir/.oauthctl.new" "$dir/oauthctl"
echo "installed $dir/oauthctl and $dir/oauthctl-full" >&2
case ":$PATH:" in
*":$dir:"*) ;;
*) echo "note: $dir is not on your PATH" >&2 ;;
esac
