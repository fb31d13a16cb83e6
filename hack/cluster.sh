#!/usr/bin/env bash
# A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler) with kwok simulating nodes and pod status, run as local processes by
# kwokctl from the binaries hack/build-tools.sh builds. The integration tier and people
# debugging the operator use it; nothing is downloaded.
#
#   hack/cluster.sh up [NAME]          create (or restart) cluster NAME, print its kubeconfig path
#   hack/cluster.sh down [NAME]        stop every process of NAME and delete its state
#   hack/cluster.sh status [NAME]      processes and nodes of NAME
#   hack/cluster.sh kubeconfig [NAME]  print the kubeconfig path of NAME
#
# NAME defaults to "kopfka". Environment:
#   KOPFKA_CACHE            tool and state cache (default ~/.cache/kopfka)
#   KWOK_WORKDIR            kwokctl state, one directory per cluster (default $KOPFKA_CACHE/kwok)
#   KOPFKA_NODES            number of fake nodes (default 3), spread over zone-a, zone-b, zone-c
#   KOPFKA_CLUSTER_TIMEOUT  seconds `up` waits for the cluster to be ready (default 180)
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
# kwokctl's default Service range is a /24: 254 ClusterIPs, which the 200-cluster benchmark (two
# Services per KafkaCluster, plus the copies its floor measurement makes) runs out of.
SERVICE_CIDR=10.0.0.0/16
TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwok kwokctl kubectl)
# Ports are a host-wide resource, whatever KWOK_WORKDIR or KOPFKA_CACHE each caller uses.
PORTS_LOCK=/tmp/kopfka-cluster-ports.lock

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

# A killed process counts as gone once it is a zombie: reaping it is up to whatever adopted it.
process_running() {
  local state
  state=$(ps -o stat= -p "$1" || true)
  [[ -n $state && $state != Z* ]]
}

# kwokctl keeps one pid file per component, named after it, and leaves it when the process dies.
pid_files() {
  local pidfile
  for pidfile in "$(cluster_dir "$1")"/pids/*.pid; do
    if [[ -f $pidfile ]]; then echo "$pidfile"; fi
  done
}

# Pid files of the components that have exited (kwokctl leaves the file behind).
exited_pid_files() {
  local pidfile
  for pidfile in $(pid_files "$1"); do
    if ! process_running "$(<"$pidfile")"; then echo "$pidfile"; fi
  done
}

# kwokctl starts every component at once and never restarts one. kube-controller-manager gives
# up when the API server is not healthy within 10 s of its start (hard-coded), which happens on
# a loaded machine (seen at a load of 20). So the waits of `up` restart a component that exited,
# a few times; after that `up` fails at once with the end of its log (a port another program
# took, a flag its version refuses), rather than waiting out the timeout.
RESTARTS_LEFT=3
revive_exited() {
  local name=$1 pidfile component log_file exited
  exited=$(exited_pid_files "$name")
  [[ -n $exited ]] || return 0
  for pidfile in $exited; do
    component=$(basename "$pidfile" .pid)
    log_file=$(cluster_dir "$name")/logs/$component.log
    ((RESTARTS_LEFT > 0)) || die "$component of cluster $name exited; the end of $log_file:
$(tail -n 5 "$log_file" 2>/dev/null)"
    RESTARTS_LEFT=$((RESTARTS_LEFT - 1))
    log "$component of cluster $name exited; restarting it"
    # `kwokctl start` skips a component whose pid file is there, whether it runs or not.
    rm -f "$pidfile"
  done
  # Not holding the ports lock (fd 9, when open): see start_processes.
  kwokctl start cluster --name "$name" >&2 9>&-
}

# Polls a command until it succeeds; the last attempt's output explains a timeout.
wait_for() {
  local name=$1 what=$2 output
  local deadline=$((SECONDS + TIMEOUT))
  shift 2
  until output=$("$@" 2>&1); do
    revive_exited "$name"
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what: $output"
    sleep 0.2
  done
}

# kwokctl binds every component (etcd too, which has no authentication) to 0.0.0.0 by default;
# nothing outside this host needs them.
kwokctl_config() {
  cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
componentsPatches:
  - name: kube-apiserver
    extraArgs:
      - {key: service-cluster-ip-range, value: "$SERVICE_CIDR"}
  - name: kube-controller-manager
    extraArgs:
      - {key: service-cluster-ip-range, value: "$SERVICE_CIDR"}
EOF
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

# Without a provisioner, a StatefulSet's PVCs stay Pending and the scheduler leaves their pods
# Pending too ("pod has unbound immediate PersistentVolumeClaims"). kube-controller-manager's
# built-in hostPath provisioner (enabled at create) binds them with no extra process: it makes
# a PV of the requested size and an empty directory under /tmp/hostpath_pv, which it removes
# when the PV is deleted. WaitForFirstConsumer, as on real clusters: the scheduler picks the
# node first, so a test sees the same PVC/pod ordering as in production.
storage_class_manifest() {
  cat <<EOF
---
apiVersion: storage.k8s.io/v1
kind: StorageClass
metadata:
  name: standard
  annotations:
    storageclass.kubernetes.io/is-default-class: "true"
provisioner: kubernetes.io/host-path
reclaimPolicy: Delete
volumeBindingMode: WaitForFirstConsumer
EOF
}

# Starts the processes. kwokctl leaves them running in the background, and they inherit its
# open files: the caller closes the lock's descriptor for this call so they do not hold it.
start_processes() {
  local name=$1
  if [[ -d $(cluster_dir "$name") ]]; then
    local exited
    exited=$(exited_pid_files "$name")
    if [[ -z $exited ]]; then
      log "cluster $name is running"
      return
    fi
    log "starting the stopped components of cluster $name"
    # `kwokctl start` skips a component whose pid file is there, whether it runs or not.
    # shellcheck disable=SC2086
    rm -f $exited
    kwokctl start cluster --name "$name" >&2
  else
    log "creating cluster $name"
    # --kubeconfig '' keeps kwokctl from adding a context to ~/.kube/config.
    kwokctl --config <(kwokctl_config) create cluster --name "$name" \
      --runtime binary --kubeconfig '' \
      --etcd-binary "$BIN/etcd" \
      --kube-apiserver-binary "$BIN/kube-apiserver" \
      --kube-controller-manager-binary "$BIN/kube-controller-manager" \
      --kube-scheduler-binary "$BIN/kube-scheduler" \
      --kwok-controller-binary "$BIN/kwok" \
      --extra-args kube-controller-manager=enable-hostpath-provisioner=true >&2
  fi
}

cmd_up() {
  local name=$1
  "$HACK_DIR/build-tools.sh" "${TOOLS[@]}"
  mkdir -p "$KWOK_WORKDIR"
  local start=$SECONDS
  # kwokctl picks ports that are free when it looks, and only avoids the ports recorded by
  # clusters in the same KWOK_WORKDIR. So ups take turns, and each keeps the lock until all of its
  # processes have shown that they run (and so listen), also those that had to be restarted.
  (
    flock 9
    start_processes "$name" 9>&-
    wait_for "$name" "the API server of $name" kubectl_in "$name" get --raw /readyz
    { node_manifests && storage_class_manifest; } | kubectl_in "$name" apply -f - >&2
    wait_for "$name" "the nodes of $name to be Ready" \
      kubectl_in "$name" wait --for=condition=Ready node --all --timeout=1s
    # Pods cannot be created before kube-controller-manager has made the namespace's default
    # ServiceAccount; tests that start right away would fail on that.
    wait_for "$name" "the default ServiceAccount of $name" \
      kubectl_in "$name" get serviceaccount default --namespace default
    # Their leader election leases: the scheduler and the controller manager run and reach the API.
    wait_for "$name" "kube-scheduler and kube-controller-manager of $name" \
      kubectl_in "$name" get lease kube-scheduler kube-controller-manager --namespace kube-system
    [[ -z $(exited_pid_files "$name") ]] ||
      die "a component of cluster $name exited just now; see hack/cluster.sh status $name"
  ) 9>"$PORTS_LOCK"
  log "cluster $name is up with $NODES nodes in $((SECONDS - start))s"
  kubeconfig_of "$name"
}

cmd_down() {
  local name=$1
  if [[ ! -d $(cluster_dir "$name") ]]; then
    log "cluster $name does not exist"
    return
  fi
  local start=$SECONDS pids=() pidfile volumes volume
  for pidfile in $(pid_files "$name"); do
    pids+=("$(<"$pidfile")")
  done
  # The hostPath provisioner's directories of PVs that still exist; nobody deletes them once the
  # cluster is gone. Best effort: a cluster whose API server is already down has none to give.
  volumes=$(kubectl_in "$name" get persistentvolumes --request-timeout=5s \
    -o jsonpath='{range .items[*]}{.spec.hostPath.path}{"\n"}{end}' 2>/dev/null || true)
  kwokctl delete cluster --name "$name" >&2
  # kwokctl sends SIGKILL and returns; wait until the processes are really gone, so that the
  # next cluster (or the end of a test session) finds their ports free.
  local deadline=$((SECONDS + 30)) pid
  for pid in "${pids[@]}"; do
    while process_running "$pid"; do
      ((SECONDS < deadline)) || die "process $pid of cluster $name is still running after SIGKILL"
      sleep 0.2
    done
  done
  for volume in $volumes; do
    if [[ $volume == /tmp/hostpath_pv/* ]]; then
      rmdir "$volume" 2>/dev/null || true # not empty: someone put something there; keep it
    fi
  done
  log "cluster $name deleted in $((SECONDS - start))s"
}

cmd_status() {
  local name=$1 pidfile pid
  [[ -d $(cluster_dir "$name") ]] || die "cluster $name does not exist (KWOK_WORKDIR=$KWOK_WORKDIR)"
  for pidfile in $(pid_files "$name"); do
    pid=$(<"$pidfile")
    if process_running "$pid"; then
      echo "$(basename "$pidfile" .pid): running, pid $pid"
    else
      echo "$(basename "$pidfile" .pid): stopped (see $(cluster_dir "$name")/logs)"
    fi
  done
  kubectl_in "$name" get nodes --label-columns topology.kubernetes.io/zone --request-timeout=5s
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
