#!/usr/bin/env bash
# Usage: broker-image/build.sh [KAFKA_VERSION]
#
# Builds kopfka/kafka:KAFKA_VERSION (default from versions.env) on BASE_IMAGE (default
# the local JRE base, JRE_BASE_IMAGE). Expects a running engine and, for the default
# base, the base image: `make broker-image` takes care of both (hack/docker.sh,
# hack/jre-base.sh). Assembles the jars, the probe agent and the JMX exporter agent itself
# (all cached).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(dirname "$here")
# shellcheck source=broker-image/versions.env
. "$here/versions.env"

version=${1:-$KAFKA_VERSION}
base=${BASE_IMAGE:-$JRE_BASE_IMAGE}
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
tag=kopfka/kafka:$version

libs=$("$repo/hack/kafka-libs.sh" "$version")
agent=$("$here/agent/build.sh")
exporter=$("$here/jmx-exporter.sh")

# The context holds only what the image needs (no sources, no build scripts), laid out as
# the Dockerfile expects; it is rebuilt every time so nothing stale slips in.
context=$cache/broker-image/context-$version
rm -rf "$context"
mkdir -p "$context"
cp -a "$libs" "$context/libs"
rm -f "$context/libs/.kopfka-stamp"
cp "$agent" "$context/kopfka-agent.jar"
cp "$exporter" "$context/jmx_prometheus_javaagent.jar"
cp -a "$here/bin" "$here/config" "$here/Dockerfile" "$context/"

# DOCKER_BUILDKIT=0: the legacy builder works with any client/engine pair found here
# (BuildKit needs the buildx plugin with newer clients). --network none: no build step
# needs the network, and this proves it.
DOCKER_BUILDKIT=0 docker build --network none --quiet \
  --build-arg BASE_IMAGE="$base" --build-arg KAFKA_VERSION="$version" \
  --tag "$tag" "$context" >/dev/null
echo "$tag"
