#!/usr/bin/env bash
# Usage: broker-image/check.sh [KAFKA_VERSION]
#
# Smoke test of a built kopfka/kafka image, run the way a pod runs it: read-only root
# filesystem, /tmp as a scratch mount, a data volume at /var/lib/kafka, the rendered
# config and exporter rules mounted read-only. One combined (broker,controller) node must
# become ready per the probe agent (GET /ready on port 9405), serve Prometheus metrics on port
# 9404, run as uid 1001 with the JVM as PID 1, stop cleanly on SIGTERM, and start again on the same volume (formatting
# is skipped then). The container gets no network
# but its own loopback (--network none), so it cannot collide with anything on the host.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=broker-image/versions.env
. "$here/versions.env"

version=${1:-$KAFKA_VERSION}
image=kopfka/kafka:$version
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
ready_deadline=${KOPFKA_CHECK_READY_TIMEOUT:-120}
stop_deadline=${KOPFKA_CHECK_STOP_TIMEOUT:-60}
name=kopfka-check-$$
volume=kopfka-check-$$

log() { echo "check: $*" >&2; }

mkdir -p "$cache/broker-image"
tmp=$(mktemp -d "$cache/broker-image/check.XXXXXX")
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker volume rm "$volume" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
  log "FAILED: $*"
  docker logs --tail 40 "$name" 2>&1 | sed 's/^/  | /' >&2 || true
  exit 1
}

# A hand-made stand-in for what the operator renders, placeholders included.
mkdir -p "$tmp/config"
cat >"$tmp/config/server.properties" <<'EOF'
process.roles=broker,controller
node.id=${KOPFKA_NODE_ID}
controller.quorum.voters=0@${POD_NAME}.check.default.svc:9093
controller.listener.names=CONTROLLER
listeners=INTERNAL://${KOPFKA_BIND_ADDRESS}:9092,CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093
advertised.listeners=INTERNAL://${POD_NAME}.check.default.svc:9092
inter.broker.listener.name=INTERNAL
listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
broker.rack=${KOPFKA_RACK}
log.dirs=/var/lib/kafka/data
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
EOF
cp "$here/config/log4j2.yaml" "$tmp/config/"
# A stand-in for the metrics ConfigMap: one of kopfka's rules, and the exporter's JVM collectors.
mkdir -p "$tmp/metrics"
cat >"$tmp/metrics/jmx-exporter.yaml" <<'EOF'
includeObjectNames: ["kafka.server:type=ReplicaManager,name=UnderReplicatedPartitions,*"]
lowercaseOutputName: true
rules:
- pattern: kafka.server<type=ReplicaManager, name=UnderReplicatedPartitions><>Value
  name: kafka_server_under_replicated_partitions
  type: GAUGE
EOF
# mktemp makes 0700; the container's uid 1001 must read the mounted files.
chmod -R a+rX "$tmp"

# No network but the container's own loopback; like a pod's /etc/hosts, this one must
# resolve the hostname (Log4j looks it up) and the pod's DNS name.
net=(--network none --hostname check-0 --add-host check-0:127.0.0.1
  --add-host check-0.check.default.svc:127.0.0.1)

cluster_id=$(docker run --rm "${net[@]}" --entrypoint java "$image" \
  -cp '/opt/kafka/libs/*' kafka.tools.StorageTool random-uuid)
docker volume create "$volume" >/dev/null

# Runs the node, waits until it is ready, checks it, stops it with SIGTERM and prints
# the exit code.
# The status line of the probe agent's answer on $1, asked from inside the container the way
# the kubelet asks (HTTP GET); empty while nothing listens. bash's /dev/tcp is the client.
probe() {
  docker exec "$name" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9405 &&
    printf "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n" "$1" >&3 &&
    head -n 1 <&3' bash "$1" 2>/dev/null || true
}

run_once() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  docker run -d --name "$name" "${net[@]}" --read-only \
    --tmpfs /tmp:rw,exec,nosuid,nodev,size=256m \
    -v "$volume:/var/lib/kafka" -v "$tmp/config:/etc/kopfka/config:ro" \
    -v "$tmp/metrics:/etc/kopfka/metrics:ro" -e KOPFKA_METRICS_PORT=9404 \
    -e POD_NAME=check-0 -e KOPFKA_NODE_ID_BASE=0 -e KOPFKA_CLUSTER_ID="$cluster_id" \
    -e KOPFKA_RACK=rack-a -e KAFKA_HEAP_OPTS="-Xmx512m -Xms512m" \
    "$image" >/dev/null

  local start=$SECONDS end=$((SECONDS + ready_deadline))
  until [[ $(probe /ready) == "HTTP/1.1 200 "* ]]; do
    [[ $(docker inspect -f '{{.State.Running}}' "$name") == true ]] ||
      fail "container exited with $(docker inspect -f '{{.State.ExitCode}}' "$name") before ready"
    ((SECONDS < end)) || fail "not ready within ${ready_deadline}s"
    sleep 0.5
  done
  log "ready after $((SECONDS - start))s"

  [[ $(probe /live) == "HTTP/1.1 200 "* ]] || fail "/live does not answer 200 on a running node"
  [[ $(docker exec "$name" id -u) == 1001 ]] || fail "not running as uid 1001"
  # grep without -q reads all input: an early exit would SIGPIPE the writer (pipefail).
  docker exec "$name" sh -c 'tr "\0" " " </proc/1/cmdline' | grep 'kafka.Kafka' >/dev/null ||
    fail "PID 1 is not the Kafka JVM (the entrypoint must exec it)"
  docker exec "$name" grep -qx 'broker.rack=rack-a' /tmp/kopfka/server.properties ||
    fail "placeholders not substituted in /tmp/kopfka/server.properties"
  # The image has no HTTP client; bash's /dev/tcp is one, and the exporter answers HTTP/1.0.
  local scraped family
  scraped=$(docker exec "$name" bash -c 'exec 3<>/dev/tcp/127.0.0.1/9404 &&
    printf "GET /metrics HTTP/1.0\r\nHost: localhost\r\n\r\n" >&3 && cat <&3') ||
    fail "no answer from the JMX exporter on port 9404"
  for family in kafka_server_under_replicated_partitions jvm_memory_used_bytes; do
    grep "^$family" <<<"$scraped" >/dev/null || fail "the JMX exporter does not serve $family"
  done

  start=$SECONDS
  docker kill --signal TERM "$name" >/dev/null
  local code
  code=$(timeout "$stop_deadline" docker wait "$name") || fail "did not stop within ${stop_deadline}s of SIGTERM"
  [[ $code == 0 || $code == 143 ]] || fail "exit code $code after SIGTERM"
  docker logs "$name" 2>&1 | grep 'Beginning controlled shutdown' >/dev/null ||
    fail "no controlled shutdown in the log"
  log "stopped by SIGTERM in $((SECONDS - start))s, exit code $code"
}

log "first start of $image (formats the volume)"
run_once
log "second start on the same volume (already formatted)"
run_once
docker logs "$name" 2>&1 | grep 'already formatted' >/dev/null || fail "second start did not find the storage formatted"
log "OK: $image"
