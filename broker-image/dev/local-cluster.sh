#!/usr/bin/env bash
# Usage: broker-image/dev/local-cluster.sh start DIR [CONTROLLERS [BROKERS]]
#        broker-image/dev/local-cluster.sh status DIR
#        broker-image/dev/local-cluster.sh stop DIR
#
# Runs a KRaft cluster as local processes through the broker image's own entrypoint, the
# way the Kafka test tier does, for poking at the runtime by hand. Defaults: 3 controllers
# and 3 brokers; BROKERS=0 makes CONTROLLERS combined (broker,controller) nodes.
#
# Every node binds the same ports (controller 9093, broker 9092) on its own loopback
# address (127.0.0.11, .12, ...) and is reached through a pod-like DNS name such as
# demo-controllers-0.demo-controllers.default.svc, resolved by DIR/hosts, the
# KOPFKA_HOSTS_FILE every JVM gets. Node ids: controllers from 0, brokers from 100.
# Kafka version: $KAFKA_VERSION, default the one in broker-image/versions.env.
# The placeholders are literal '${...}' text in single quotes, not expansions.
# shellcheck disable=SC2016
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
image=$(dirname "$here")
repo=$(dirname "$image")
version=${KAFKA_VERSION:-}
# shellcheck source=broker-image/versions.env
. "$image/versions.env"
version=${version:-$KAFKA_VERSION}
deadline_s=${KOPFKA_DEADLINE:-120}
cluster=demo

die() {
  echo "local-cluster: $*" >&2
  exit 1
}

# Prints the directories of all nodes of the cluster in DIR.
nodes() { find "$1" -mindepth 2 -maxdepth 2 -name node.env -printf '%h\n' | sort; }

# Writes the node's rendered server.properties, with the placeholders the operator's
# renderer leaves for the entrypoint.
render() {
  local node=$1 roles=$2 pod_dns=$3 voters=$4
  local listeners controller_only=1
  [[ $roles == *broker* ]] && controller_only=0
  if [[ $roles == controller ]]; then
    listeners='CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093'
  elif [[ $roles == broker ]]; then
    listeners='INTERNAL://${KOPFKA_BIND_ADDRESS}:9092'
  else
    listeners='INTERNAL://${KOPFKA_BIND_ADDRESS}:9092,CONTROLLER://${KOPFKA_BIND_ADDRESS}:9093'
  fi
  mkdir -p "$node/config"
  {
    echo "process.roles=$roles"
    echo 'node.id=${KOPFKA_NODE_ID}'
    echo "controller.quorum.voters=$voters"
    echo "controller.listener.names=CONTROLLER"
    echo "listeners=$listeners"
    echo "listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT"
    echo "log.dirs=$node/data"
    if ((controller_only == 0)); then
      echo "advertised.listeners=INTERNAL://$pod_dns:9092"
      echo "inter.broker.listener.name=INTERNAL"
      echo 'broker.rack=${KOPFKA_RACK}'
    fi
  } >"$node/config/server.properties"
}

start() {
  local dir=$1 controllers=${2:-3} brokers=${3:-3}
  [[ ! -e $dir/hosts ]] || die "$dir already holds a cluster; stop it and remove the directory first"
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  local libs agent cluster_id
  libs=$("$repo/hack/kafka-libs.sh" "$version")
  agent=$("$image/agent/build.sh")
  cluster_id=$(java -cp "$libs/*" kafka.tools.StorageTool random-uuid)

  local controller_set=$cluster-controllers controller_roles=controller
  if ((brokers == 0)); then
    controller_set=$cluster-nodes
    controller_roles=broker,controller
  fi
  local -a specs=() # set:ordinal:address:roles:node_id_base
  local i address=10 voters=""
  for ((i = 0; i < controllers; i++)); do
    address=$((address + 1))
    specs+=("$controller_set:$i:127.0.0.$address:$controller_roles:0")
    voters+="${voters:+,}$i@$controller_set-$i.$controller_set.default.svc:9093"
  done
  for ((i = 0; i < brokers; i++)); do
    address=$((address + 1))
    specs+=("$cluster-brokers:$i:127.0.0.$address:broker:100")
  done

  echo "127.0.0.1 localhost" >"$dir/hosts"
  local spec set ordinal ip roles base pod node
  for spec in "${specs[@]}"; do
    IFS=: read -r set ordinal ip roles base <<<"$spec"
    echo "$ip $set-$ordinal.$set.default.svc" >>"$dir/hosts"
  done

  for spec in "${specs[@]}"; do
    IFS=: read -r set ordinal ip roles base <<<"$spec"
    pod=$set-$ordinal
    node=$dir/$pod
    render "$node" "$roles" "$pod.$set.default.svc" "$voters"
    # Everything the entrypoint reads, kept so `status` and `stop` know the node too.
    cat >"$node/node.env" <<EOF
export POD_NAME=$pod KOPFKA_NODE_ID_BASE=$base KOPFKA_CLUSTER_ID=$cluster_id
export KOPFKA_BIND_ADDRESS=$ip KOPFKA_RACK=rack-$((ordinal % 3))
export KOPFKA_CONFIG_DIR=$node/config KOPFKA_WORK_DIR=$node/work
export KOPFKA_LIBS=$libs KOPFKA_AGENT_JAR=$agent KOPFKA_HOSTS_FILE=$dir/hosts
export KAFKA_HEAP_OPTS="${KAFKA_HEAP_OPTS:--Xmx512m -Xms512m}"
EOF
    [[ $roles == controller || -f $dir/bootstrap ]] || echo "$pod.$set.default.svc:9092" >"$dir/bootstrap"
    # The waiting subshell records the exit code, so `stop` can tell a clean stop.
    (
      # shellcheck source=/dev/null
      . "$node/node.env"
      "$image/bin/kopfka-entrypoint" >"$node/out.log" 2>&1 &
      echo $! >"$node/pid"
      rc=0
      wait $! || rc=$?
      echo $rc >"$node/exit"
    ) >/dev/null 2>&1 &
  done

  local end=$((SECONDS + deadline_s)) all problem=""
  mapfile -t all < <(nodes "$dir")
  for node in "${all[@]}"; do
    until KOPFKA_WORK_DIR=$node/work "$image/bin/kopfka-ready" 2>/dev/null; do
      if [[ -f $node/exit ]]; then
        problem="$(basename "$node") exited with $(<"$node/exit")"
      elif ((SECONDS >= end)); then
        problem="$(basename "$node") not ready after ${deadline_s}s"
      fi
      if [[ -n $problem ]]; then
        # Leave nothing running behind a failed start.
        stop "$dir" >&2 || true
        die "$problem; see $node/out.log"
      fi
      sleep 0.5
    done
    echo "$(basename "$node") ready"
  done
  echo "cluster $cluster_id up in $dir"
}

status() {
  local dir=$1 node all
  mapfile -t all < <(nodes "$dir")
  for node in "${all[@]}"; do
    local state=stopped
    if [[ ! -f $node/exit ]]; then
      state="running (pid $(<"$node/pid"))"
      KOPFKA_WORK_DIR=$node/work "$image/bin/kopfka-ready" 2>/dev/null && state+=", ready" || state+=", not ready"
    fi
    echo "$(basename "$node"): $state"
  done
  local libs
  # shellcheck source=/dev/null
  libs=$(. "${all[0]}/node.env" && echo "$KOPFKA_LIBS")
  java -Djdk.net.hosts.file="$dir/hosts" -cp "$libs/*" org.apache.kafka.tools.MetadataQuorumCommand \
    --bootstrap-server "$(<"$dir/bootstrap")" describe --status
}

# Sends SIGTERM to the given nodes at once and waits until each has exited.
stop_group() {
  local node failed=0
  for node in "$@"; do
    [[ -f $node/exit ]] || kill -TERM "$(<"$node/pid")"
  done
  local end=$((SECONDS + deadline_s))
  for node in "$@"; do
    until [[ -f $node/exit ]]; do
      ((SECONDS < end)) || die "$(basename "$node") did not stop within ${deadline_s}s"
      sleep 0.2
    done
    echo "$(basename "$node") stopped, exit code $(<"$node/exit")"
    [[ $(<"$node/exit") == 0 || $(<"$node/exit") == 143 ]] || failed=1
  done
  return $failed
}

stop() {
  local dir=$1 failed=0 brokers quorum
  mapfile -t brokers < <(nodes "$dir" | grep -- -brokers-)
  mapfile -t quorum < <(nodes "$dir" | grep -v -- -brokers-)
  # Brokers first, while the quorum still answers their controlled shutdown. The quorum
  # nodes go together: stopped one by one, the last combined node would wait for a
  # quorum that no longer exists before its broker half could finish.
  stop_group "${brokers[@]}" || failed=1
  stop_group "${quorum[@]}" || failed=1
  return $failed
}

case ${1:-} in
  start | status | stop)
    [[ $# -ge 2 ]] || die "usage: $0 $1 DIR"
    "$@"
    ;;
  *) die "usage: $0 start DIR [CONTROLLERS [BROKERS]] | status DIR | stop DIR" ;;
esac
