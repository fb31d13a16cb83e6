#!/usr/bin/env bash
# Usage: broker-image/jmx-exporter.sh
#
# Fetches the Prometheus JMX exporter Java agent (io.prometheus.jmx:jmx_prometheus_javaagent,
# JMX_EXPORTER_VERSION in versions.env) from Maven Central with the host's Maven into
# $KOPFKA_CACHE/jmx-exporter/VERSION/jmx_prometheus_javaagent.jar and prints that path.
# The jar is checked against JMX_EXPORTER_SHA256, so a different file under the same version
# never reaches the image. Idempotent: a jar already in the cache is reused as is.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=broker-image/versions.env
. "$here/versions.env"

version=$JMX_EXPORTER_VERSION
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
dest=$cache/jmx-exporter/$version/jmx_prometheus_javaagent.jar

verified() { [[ $(sha256sum "$1" | cut -d' ' -f1) == "$JMX_EXPORTER_SHA256" ]]; }

if [[ -f $dest ]] && verified "$dest"; then
  echo "$dest"
  exit 0
fi

# Fetched next to the destination and renamed at the end, so an interrupted run never leaves a
# partial jar that a JVM would try to load as an agent.
mkdir -p "$(dirname "$dest")"
tmp=$(mktemp -d "$(dirname "$dest")/fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
log=$(dirname "$dest")/mvn.log

# The same pinned maven-dependency-plugin as kafka-libs/pom.xml; `copy` needs no project.
if ! (cd "$tmp" && mvn -B --no-transfer-progress \
  org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy \
  -Dartifact="io.prometheus.jmx:jmx_prometheus_javaagent:$version" \
  -DoutputDirectory="$tmp/out" -Dmdep.stripVersion=true) >"$log" 2>&1; then
  tail -n 40 "$log" >&2
  echo "jmx-exporter: maven failed, full log in $log" >&2
  exit 1
fi

jar=$tmp/out/jmx_prometheus_javaagent.jar
if ! verified "$jar"; then
  echo "jmx-exporter: $jar has sha256 $(sha256sum "$jar" | cut -d' ' -f1)," \
    "not JMX_EXPORTER_SHA256=$JMX_EXPORTER_SHA256 from broker-image/versions.env" >&2
  exit 1
fi
mv "$jar" "$dest"
echo "$dest"
