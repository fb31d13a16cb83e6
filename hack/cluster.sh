#!/usr/bin/env bash
# A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) with kwok simulating nodes and pod status, run as local processes by
# kwokctl from the binaries hack/build-tools.sh builds. The integration tier and people
# debugging the operator use it; nothing is downloaded.
#
#   hack/cluster.sh up [NAME]          create (or restart) cluster NAME, print its kubeconfig path
#   hack/cluster.sh down [NAME]        stop every process of NAME and delete its state
#   hack/cluster.sh status [NAME]      components and nodes of NAME
#   hack/cluster.sh kubeconfig [NAME]  print the kubeconfig path of NAME
#
# NAME defaults to "kopfka". Environment:
#   KOPFKA_CACHE            tool and state cache (default ~/.cache/kopfka)
#   KWOK_WORKDIR            kwokctl state, one directory per cluster (default $KOPFKA_CACHE/kwok)
#   KOPFKA_NODES            number of fake nodes (default 3), spread over zone-a, zone-b, zone-c
#   KOPFKA_CLUSTER_TIMEOUT  seconds `up` waits for the API server and the nodes (default 180)
#
# Only the kubeconfig path goes to stdout, so `KUBECONFIG=$(hack/cluster.sh up)` works.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
BIN=$CACHE/bin
# kwokctl reads KWOK_WORKDIR itself; without it, it would keep state (and look for a config
# file) under ~/.kwok, shared with whatever else the user runs.
export KWOK_WORKDIR=${KWOK_WORKDIR:-$CACHE/kwok}
NODES=${KOPFKA_NODES:-3}
TIMEOUT=${KOPFKA_CLUSTER_TIMEOUT:-180}
ZONES=(zone-a zone-b zone-c)
TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl kubectl)

die() {
  echo "cluster: error: $*" >&2
  exit 1
}
log() { echo "cluster: $*" >&2; }

usage() {
  sed -n '/^#   hack/s/^# *//p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

cluster_dir() { echo "$KWOK_WORKDIR/clusters/$1"; }
kubeconfig_of() { echo "$(cluster_dir "$1")/kubeconfig.yaml"; }
kwokctl() { "$BIN/kwokctl" "$@"; }
kubectl_in() {
  local name=$1
  shift
  "$BIN/kubectl" --kubeconfig "$(kubeconfig_of "$name")" "$@"
}

# Polls a command until it succeeds or the deadline passes; the last attempt's output is shown
# on failure, because that is what explains it.
wait_for() {
  local what=$1 seconds=$2 output
  local deadline=$((SECONDS + seconds))
  shift 2
  until output=$("$@" 2>&1); do
    ((SECONDS < deadline)) || die "timed out after ${seconds}s waiting for $what: $output"
    sleep 1
  done
}

# Fake nodes big enough for many Kafka pods, spread over three zones so that rack awareness and
# topology spread constraints have something to spread over. The annotation is the one kwok's
# documentation uses for the nodes it manages; there is no taint, so pods need no toleration.
node_manifests() {
  local i name
  for ((i = 0; i < NODES; i++)); do
    name=kwok-node-$i
    cat <<EOF
---
apiVersion: v1
kind: Node
metadata:
  name: $name
  annotations:
    kwok.x-k8s.io/node: fake
    node.alpha.kubernetes.io/ttl: "0"
  labels:
    kubernetes.io/arch: amd64
    kubernetes.io/hostname: $name
    kubernetes.io/os: linux
    topology.kubernetes.io/zone: ${ZONES[i % ${#ZONES[@]}]}
    type: kwok
status:
  allocatable: {cpu: "32", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}
  capacity: {cpu: "32", memory: 256Gi, pods: "250", ephemeral-storage: 1Ti}
EOF
  done
}

cmd_up() {
  local name=$1
  "$HACK_DIR/build-tools.sh" "${TOOLS[@]}"
  mkdir -p "$KWOK_WORKDIR"
  local start=$SECONDS
  if [[ -d $(cluster_dir "$name") ]]; then
    log "cluster $name exists; starting it"
    kwokctl start cluster --name "$name" >&2
  else
    log "creating cluster $name"
    # kwokctl picks free ports and skips those recorded by the other clusters in KWOK_WORKDIR;
    # two creates at once could still pick the same free port, so creates take turns.
    (
      flock 9
      # --kubeconfig '' keeps kwokctl from adding a context to ~/.kube/config.
      kwokctl create cluster --name "$name" --runtime binary --kubeconfig '' \
        --etcd-binary "$BIN/etcd" \
        --kube-apiserver-binary "$BIN/kube-apiserver" \
        --kube-controller-manager-binary "$BIN/kube-controller-manager" \
        --kube-scheduler-binary "$BIN/kube-scheduler" \
        --kwok-controller-binary "$BIN/kwok" >&2
    ) 9>"$KWOK_WORKDIR/create.lock"
  fi

  wait_for "the API server of $name" "$TIMEOUT" kubectl_in "$name" get --raw /readyz
  node_manifests | kubectl_in "$name" apply -f - >&2
  kubectl_in "$name" wait --for=condition=Ready node --all --timeout="${TIMEOUT}s" >&2
  # Pods cannot be created before kube-controller-manager has made the namespace's default
  # ServiceAccount; tests that start right away would fail on that.
  wait_for "the default ServiceAccount of $name" "$TIMEOUT" \
    kubectl_in "$name" get serviceaccount default --namespace default
  log "cluster $name is up with $NODES nodes in $((SECONDS - start))s"
  kubeconfig_of "$name"
}

cmd_down() {
  local name=$1
  if [[ ! -d $(cluster_dir "$name") ]]; then
    log "cluster $name does not exist"
    return
  fi
  local start=$SECONDS
  kwokctl delete cluster --name "$name" >&2
  log "cluster $name deleted in $((SECONDS - start))s"
}

cmd_status() {
  local name=$1
  [[ -d $(cluster_dir "$name") ]] || die "cluster $name does not exist (KWOK_WORKDIR=$KWOK_WORKDIR)"
  kwokctl get components --name "$name"
  kubectl_in "$name" get nodes --label-columns topology.kubernetes.io/zone
}

cmd_kubeconfig() {
  local name=$1
  [[ -f $(kubeconfig_of "$name") ]] || die "cluster $name does not exist (KWOK_WORKDIR=$KWOK_WORKDIR)"
  kubeconfig_of "$name"
}

main() {
  (($# >= 1 && $# <= 2)) || usage
  local command=$1 name=${2:-kopfka}
  [[ $name =~ ^[a-z0-9]([-a-z0-9]*[a-z0-9])?$ ]] || die "cluster name '$name' must be a DNS label"
  [[ $NODES =~ ^[1-9][0-9]*$ ]] || die "KOPFKA_NODES must be a positive number, not '$NODES'"
  case $command in
    up) cmd_up "$name" ;;
    down) cmd_down "$name" ;;
    status) cmd_status "$name" ;;
    kubeconfig) cmd_kubeconfig "$name" ;;
    *) usage ;;
  esac
}

main "$@"
