#!/usr/bin/env bash
# Usage: broker-image/agent/build.sh
#
# Compiles the agent (the probe agent and the principal builder of the internal listeners)
# from source with the JDK's javac and jar (no Maven) into
# $KOPFKA_CACHE/agent/<hash>/kopfka-agent.jar and prints the path. The principal builder is
# compiled against kafka-clients of the default Kafka (hack/kafka-libs.sh; the interfaces it
# uses are the same in every supported version), which Kafka's class path provides at run
# time: the jar holds only kopfka's classes. Keyed by the hash of the sources and that Kafka
# version, so an unchanged agent is never rebuilt.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
# shellcheck source=broker-image/versions.env
. "$repo/broker-image/versions.env"

cd "$here"
mapfile -t sources < <(find src -name '*.java' | sort)
key=$( (cat MANIFEST.MF "${sources[@]}"; echo "kafka=$KAFKA_VERSION") | sha256sum | cut -c1-12)
jar=$cache/agent/$key/kopfka-agent.jar
if [[ -f $jar ]]; then
  echo "$jar"
  exit 0
fi

clients=$("$repo/hack/kafka-libs.sh" "$KAFKA_VERSION")/kafka-clients-$KAFKA_VERSION.jar
mkdir -p "$cache/agent"
tmp=$(mktemp -d "$cache/agent/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# --release 17: the image's JRE is 17, whatever JDK builds the agent.
javac --release 17 -Xlint:all -Werror -cp "$clients" -d "$tmp/classes" "${sources[@]}"
jar --create --file "$tmp/kopfka-agent.jar" --manifest MANIFEST.MF -C "$tmp/classes" .
mkdir -p "$(dirname "$jar")"
mv "$tmp/kopfka-agent.jar" "$jar"
echo "$jar"
