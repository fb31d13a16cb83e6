#!/usr/bin/env bash
# Usage: hack/kafka-libs.sh [VERSION]
#
# Assembles Kafka VERSION's runtime jars (server, tools and the tarball's logging backend)
# from Maven Central into $KOPFKA_CACHE/kafka/VERSION/libs and prints that directory.
# The release tarball cannot be downloaded here, but its jars are all on Maven Central.
# Idempotent: a complete directory built from the same pom is reused as is.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=broker-image/versions.env
. "$repo/broker-image/versions.env"

version=${1:-$KAFKA_VERSION}
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
pom=$repo/broker-image/kafka-libs/pom.xml

log4j_var="LOG4J_VERSION_${version//./_}"
log4j=${!log4j_var:-}
if [[ -z $log4j ]]; then
  echo "kafka-libs: no $log4j_var in broker-image/versions.env; add the Log4j2 version that" \
    "org.apache.kafka:kafka-server:$version depends on" >&2
  exit 1
fi

dest=$cache/kafka/$version/libs
# The stamp records what the directory was built from, so an edited pom or Log4j pin
# rebuilds it instead of silently serving stale jars.
want="kafka=$version log4j=$log4j pom=$(sha256sum "$pom" | cut -d' ' -f1)"
if [[ -f $dest/.kopfka-stamp && $(<"$dest/.kopfka-stamp") == "$want" ]]; then
  echo "$dest"
  exit 0
fi

# Build next to the destination and rename at the end, so an interrupted run never
# leaves a half-filled libs directory that a broker would start from.
mkdir -p "$cache/kafka/$version"
tmp=$(mktemp -d "$cache/kafka/$version/libs.tmp.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$cache/kafka/$version/mvn.log

if ! mvn -B --no-transfer-progress -f "$pom" dependency:copy-dependencies \
  -Dkafka.version="$version" -Dlog4j.version="$log4j" -Dlibs.dir="$tmp/libs" >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "kafka-libs: maven failed, full log in $log" >&2
  exit 1
fi

echo "$want" >"$tmp/libs/.kopfka-stamp"
rm -rf "$dest"
mv "$tmp/libs" "$dest"
echo "$dest"
