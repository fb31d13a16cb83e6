#!/usr/bin/env bash
# Usage: hack/kafka-config-tool.sh [VERSION]
#
# Compiles the Kafka config tool (hack/kafka-config-tool/src, docs/kafka-config-tables.md) with the
# JDK's javac against Kafka VERSION's jars (hack/kafka-libs.sh) into
# $KOPFKA_CACHE/config-tool/<version>-<source hash>/classes, and prints the classpath to run it
# with on its last stdout line:
#
#   java -cp "$(hack/kafka-config-tool.sh 4.4.0 | tail -n1)" dev.kopfka.tools.KafkaConfigTool table
#
# Keyed by the hash of the sources, so an unchanged tool is never rebuilt.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=broker-image/versions.env
. "$repo/broker-image/versions.env"

version=${1:-$KAFKA_VERSION}
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
libs=$("$repo/hack/kafka-libs.sh" "$version" | tail -n1)

cd "$repo/hack/kafka-config-tool"
mapfile -t sources < <(find src -name '*.java' | sort)
# Names and contents: a renamed class is a different tool.
key=$(sha256sum "${sources[@]}" | sha256sum | cut -c1-12)
dest=$cache/config-tool/$version-$key
if [[ ! -d $dest/classes ]]; then
  mkdir -p "$cache/config-tool"
  # Build next to the destination and rename at the end: an interrupted build never leaves a
  # half-filled directory that a later run would take as complete.
  tmp=$(mktemp -d "$cache/config-tool/build.XXXXXX")
  trap 'rm -rf "$tmp"' EXIT
  # --release 17: the oldest Java that Kafka 4.x runs on, whatever JDK builds the tool.
  javac --release 17 -Xlint:all -Werror -cp "$libs/*" -d "$tmp/tool/classes" "${sources[@]}"
  # A concurrent build may have won the rename; its result is the same.
  mv -T "$tmp/tool" "$dest" 2>/dev/null || [[ -d $dest/classes ]]
fi
echo "$dest/classes:$libs/*"
