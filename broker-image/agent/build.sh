#!/usr/bin/env bash
# Usage: broker-image/agent/build.sh
#
# Compiles the probe agent from source with the JDK's javac and jar (no Maven, no
# dependencies) into $KOPFKA_CACHE/agent/<source hash>/kopfka-agent.jar and prints the
# path. Keyed by the hash of the sources, so an unchanged agent is never rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}

cd "$here"
mapfile -t sources < <(find src -name '*.java' | sort)
key=$(cat MANIFEST.MF "${sources[@]}" | sha256sum | cut -c1-12)
jar=$cache/agent/$key/kopfka-agent.jar
if [[ -f $jar ]]; then
  echo "$jar"
  exit 0
fi

mkdir -p "$cache/agent"
tmp=$(mktemp -d "$cache/agent/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# --release 17: the image's JRE is 17, whatever JDK builds the agent.
javac --release 17 -Xlint:all -Werror -d "$tmp/classes" "${sources[@]}"
jar --create --file "$tmp/kopfka-agent.jar" --manifest MANIFEST.MF -C "$tmp/classes" .
mkdir -p "$(dirname "$jar")"
mv "$tmp/kopfka-agent.jar" "$jar"
echo "$jar"
