#!/usr/bin/env bash
# A real Kubernetes node on this host, joined to a local control plane, for the e2e tier: no
# container registry can be reached here, so kind's node image cannot be pulled, and the
# operator must still be proven against real pods. Everything comes from the package
# registries: the control plane and the kubelet from the Go module proxy (e2e/build.sh),
# containerd, runc and the CNI plugins from the Debian archive, the infrastructure images
# written locally, the broker and operator images built by Docker and imported.
#
#   e2e/node.sh up           start (or finish starting) everything; prints the kubeconfig path
#   e2e/node.sh down         stop everything it started (every node), undo its host changes,
#                            delete the cluster's state (the image stores are kept:
#                            KOPFKA_E2E_PURGE=1 drops them)
#   e2e/node.sh status       each process with its memory (per node), the nodes and system pods
#   e2e/node.sh kubeconfig   print the kubeconfig path
#   e2e/node.sh images       (re-)import the images named by KOPFKA_E2E_IMAGES into every node
#
# What runs (docs/e2e.md has the details and how to debug):
#   control plane  kwokctl cluster "kopfka-e2e": etcd, kube-apiserver (on 0.0.0.0, so that pods
#                  reach it through the `kubernetes` Service), kube-controller-manager,
#                  kube-scheduler; no kwok-controller (there are no simulated nodes)
#   node           containerd (its own instance, apart from Docker's), kubelet, kube-proxy
#                  (iptables), a bridge CNI network; CoreDNS and local-path-provisioner as pods
#
# Several nodes, one per zone (opt-in, for rack awareness; docs/e2e.md "Several zones"):
# KOPFKA_E2E_ZONES="zone-a zone-b zone-c" e2e/node.sh up. The first zone's node is the one above
# (e2e-node, the same names and paths); node N of the list (counting from 0) is e2e-node-N with its
# own containerd (socket, root, state, runc root under .../nodes/e2e-node-N), CNI config, bridge
# kopfka-e2eN and pod subnet 10.244.N.0/24, kubelet (root and pod logs dirs, port 10250+100N,
# healthz port 10248+100N, cgroupRoot /kopfka-e2e-node-N) and its own copy of every image. One
# kube-proxy serves the host; pod-to-pod traffic between the bridges is routed without NAT. `up`
# records the zones in /run/kopfka-e2e/zones: `down`, `status` and `images` act on the nodes
# recorded, whatever the shell's KOPFKA_E2E_ZONES says.
#
# Environment:
#   KOPFKA_CACHE              tools, images and node state (default ~/.cache/kopfka)
#   KOPFKA_E2E_ZONES          `up`: zones, space separated, one node each (default: the zones of the
#                             nodes that run, else zone-a); `up` refuses another list while nodes
#                             of a different one run
#   KOPFKA_E2E_IMAGES         images to import from Docker, space separated (default: the broker
#                             images of both releases in broker-image/versions.env and the
#                             operator image of pyproject.toml's version); a missing one is
#                             skipped with a note
#   KOPFKA_E2E_NODE_IP        the node's address (default: the source address of the default route)
#   KOPFKA_E2E_TIMEOUT        seconds each wait may take (default 300)
#
# Needs root, Linux, iptables (tested on cgroup v1, Debian 12). Only one e2e node set runs per host.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$E2E_DIR")
# shellcheck source=e2e/lib/apt.sh
source "$E2E_DIR/lib/apt.sh"
CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
BIN=$CACHE/bin
TIMEOUT=${KOPFKA_E2E_TIMEOUT:-300}

CLUSTER=kopfka-e2e
DEFAULT_ZONES="zone-a"
# Node N's ports, subnet and bridge are derived from N (see use_node).
MAX_NODES=10
SERVICE_CIDR=10.96.0.0/16
KUBERNETES_SERVICE_IP=10.96.0.1
CLUSTER_DNS_IP=10.96.0.10
CLUSTER_DOMAIN=cluster.local
POD_CIDR=10.244.0.0/16
CNI_BIN_DIR=/usr/lib/cni
# With several nodes: traffic from pod to pod (between the nodes' bridges) keeps its addresses, as
# between the nodes of a real cluster (the bridge plugin's ipMasq would masquerade it).
POD_TO_POD_CHAIN=KOPFKA-E2E-POD-TO-POD
# kube-proxy's masquerade mark (masqueradeBit 14): such packets must still be masqueraded.
KUBE_PROXY_MASQ_MARK=0x4000/0x4000

# Host-wide: one node per host, whatever KOPFKA_CACHE each caller uses. `up` records its cache
# here, so that `down` finds the node's state and tools even from a shell with another one.
RUN_DIR=/run/kopfka-e2e
LOCK=/run/kopfka-e2e.lock
# kwokctl picks free ports; hack/cluster.sh serialises that with this lock, and so do we.
PORTS_LOCK=/tmp/kopfka-cluster-ports.lock
# One zone per node, the first node's first (set_zones).
ZONES=()

die() {
  echo "e2e-node: error: $*" >&2
  exit 1
}
log() { echo "e2e-node: $*" >&2; }

usage() {
  sed -n '/^#   e2e\/node.sh up/,/^#   e2e\/node.sh images/s/^# //p' "${BASH_SOURCE[0]}" >&2
  exit 2
}

# Paths that depend on the state directory; set by use_state_dir.
use_state_dir() {
  STATE=$1
  export KWOK_WORKDIR=$STATE/kwok
  CLUSTER_DIR=$KWOK_WORKDIR/clusters/$CLUSTER
  PKI=$CLUSTER_DIR/pki
  ADMIN_KUBECONFIG=$CLUSTER_DIR/kubeconfig.yaml
  CONFIG=$STATE/config
  LOGS=$STATE/logs
  KUBELET_DIR=$STATE/kubelet
  POD_LOGS=$STATE/pod-logs
  VOLUMES=$STATE/volumes
  PIDS=$RUN_DIR/pids
  use_node 0 "${ZONES[0]:-$DEFAULT_ZONES}"
}

# The node of index $1 (0: the first, e2e-node, with the paths and names of a single node) in
# zone $2: its names, paths, ports, bridge and subnet. Everything a node's programs write is
# apart from the other nodes' (containerd instance, CNI, kubelet dirs and cgroups), except the
# local volumes' directory, which local-path-provisioner shares: all nodes are this host.
use_node() {
  NODE_INDEX=$1
  NODE_ZONE=$2
  if ((NODE_INDEX == 0)); then
    NODE_NAME=e2e-node
    local suffix='' node_state=$STATE node_run=$RUN_DIR
    CNI_NETWORK=kopfka-e2e
    CGROUP_ROOT=/
  else
    NODE_NAME=e2e-node-$NODE_INDEX
    local suffix=-$NODE_INDEX node_state=$STATE/nodes/$NODE_NAME node_run=$RUN_DIR/nodes/$NODE_NAME
    CNI_NETWORK=kopfka-e2e-$NODE_INDEX
    # With cgroupsPerQOS and cgroupfs, a kubelet removes the pod cgroups under its
    # <cgroupRoot>/kubepods that it does not know as orphans: two kubelets must not share one.
    CGROUP_ROOT=/kopfka-$NODE_NAME
  fi
  NODE_DIR=$node_state
  BRIDGE=kopfka-e2e$NODE_INDEX
  NODE_POD_SUBNET=10.244.$NODE_INDEX.0/24
  # Apart from each other's and from kube-proxy's 10249/10256.
  KUBELET_PORT=$((10250 + 100 * NODE_INDEX))
  KUBELET_HEALTHZ_PORT=$((10248 + 100 * NODE_INDEX))
  # Daemon names: their pid files, logs and configuration files.
  CONTAINERD=containerd$suffix
  KUBELET=kubelet$suffix
  KUBELET_DIR=$node_state/kubelet
  POD_LOGS=$node_state/pod-logs
  CNI_CONF_DIR=$node_state/cni/net.d
  CNI_IPAM_DIR=$node_state/cni/ipam
  CONTAINERD_ROOT=$node_state/containerd
  IMPORTED=$node_state/containerd-imported
  CONTAINERD_STATE=$node_run/containerd
  CONTAINERD_SOCK=$node_run/containerd/containerd.sock
  RUNC_ROOT=$node_run/runc
}

# " on e2e-node-N" for the further nodes' messages; nothing for the first node's.
on_node() {
  if ((NODE_INDEX > 0)); then echo " on $NODE_NAME"; fi
}

# Runs "$@" once per node of ZONES, with use_node set; the first node's settings afterwards.
for_each_node() {
  local index
  for index in "${!ZONES[@]}"; do
    use_node "$index" "${ZONES[index]}"
    "$@"
  done
  use_node 0 "${ZONES[0]}"
}

kubectl() { "$BIN/kubectl" --kubeconfig "$ADMIN_KUBECONFIG" "$@"; }
ctr() { command ctr --address "$CONTAINERD_SOCK" --namespace k8s.io "$@"; }
crictl() { "$BIN/crictl" --runtime-endpoint "unix://$CONTAINERD_SOCK" "$@"; }

# ---------------------------------------------------------------------------------------------
# Processes

# A process counts as ours when its pid file names it and its executable is the one we started
# (a pid can be reused after a reboot or a crash).
pid_of() {
  local name=$1 pid exe
  [[ -f $PIDS/$name.pid ]] || return 1
  pid=$(<"$PIDS/$name.pid")
  exe=$(readlink "/proc/$pid/exe" 2>/dev/null) || return 1
  [[ $exe == "$(<"$PIDS/$name.exe")" ]] || return 1
  local state
  state=$(ps -o stat= -p "$pid" 2>/dev/null) || return 1
  [[ $state != Z* ]] || return 1
  echo "$pid"
}

running() { pid_of "$1" >/dev/null; }

# Writes stdin to FILE unless FILE holds exactly that already (kube-proxy exits when its
# configuration file is rewritten, and containerd reloads its CNI directory); returns 0 when the
# file changed.
update_file() {
  local file=$1
  cat >"$file.tmp"
  if cmp -s "$file.tmp" "$file"; then
    rm -f "$file.tmp"
    return 1
  fi
  mv -f "$file.tmp" "$file"
}

# Stops DAEMON when its configuration changed under it, so that it is started with the new one.
restart_if_changed() {
  local daemon=$1 file=$2
  shift 2
  if "$@" | update_file "$file" && running "$daemon"; then
    log "the configuration of $daemon changed"
    stop_daemon "$daemon"
  fi
}

# Starts a daemon in its own session (it outlives this script), logging to $LOGS/<name>.log.
start_daemon() {
  local name=$1 exe
  shift
  exe=$(readlink -f "$1")
  mkdir -p "$PIDS" "$LOGS"
  log "starting $name (log: $LOGS/$name.log)"
  echo "--- $(date -u +%FT%TZ) starting: $*" >>"$LOGS/$name.log"
  # Not holding this script's locks (fds 8 and 9) for its whole life.
  setsid "$@" >>"$LOGS/$name.log" 2>&1 </dev/null 8>&- 9>&- &
  echo "$exe" >"$PIDS/$name.exe"
  echo $! >"$PIDS/$name.pid"
}

# SIGTERM, then SIGKILL after a grace period; returns when the process is gone.
stop_daemon() {
  local name=$1 grace=${2:-20} pid deadline
  pid=$(pid_of "$name") || {
    rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
    return 0
  }
  log "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  deadline=$((SECONDS + grace))
  local killed=0
  while running "$name"; do
    if ((SECONDS >= deadline)); then
      ((!killed)) || die "$name (pid $pid) survives SIGKILL"
      log "$name did not stop within ${grace}s of SIGTERM; sending SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      killed=1
      deadline=$((SECONDS + 10))
    fi
    sleep 0.1
  done
  rm -f "$PIDS/$name.pid" "$PIDS/$name.exe"
}

# Polls "$@" until it succeeds; fails after $TIMEOUT with its last output, or at once when one of
# the node's daemons died (with the end of its log).
wait_for() {
  local what=$1 output deadline=$((SECONDS + TIMEOUT)) daemon
  shift
  until output=$("$@" 2>&1); do
    for daemon in "${WATCHED[@]}"; do
      running "$daemon" || die "$daemon exited while waiting for $what; the end of $LOGS/$daemon.log:
$(tail -n 15 "$LOGS/$daemon.log" 2>/dev/null)"
    done
    revive_control_plane
    ((SECONDS < deadline)) || die "timed out after ${TIMEOUT}s waiting for $what: $output"
    sleep 0.2
  done
}
WATCHED=()

# ---------------------------------------------------------------------------------------------
# Host

require_host() {
  ((EUID == 0)) || die "the e2e node needs root (containerd, kubelet, iptables, mounts)"
  [[ $(uname -s) == Linux ]] || die "the e2e node needs Linux"
  local tool
  for tool in iptables ip mount umount setsid flock openssl curl; do
    command -v "$tool" >/dev/null || die "$tool is not on PATH"
  done
}

# Kernel settings the node changes: pods need forwarding and bridged traffic through iptables
# (kube-proxy's Service rules); the kubelet itself sets the vm.* and kernel.* ones when it starts
# (its protectKernelDefaults is off, as on kubeadm nodes). The values before the first `up` are
# saved and `down` puts them back.
SYSCTLS=(net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables net.bridge.bridge-nf-call-ip6tables
  vm.overcommit_memory vm.panic_on_oom kernel.panic kernel.panic_on_oops
  kernel.keys.root_maxkeys kernel.keys.root_maxbytes)

save_and_set_sysctls() {
  local key
  if [[ ! -f $RUN_DIR/sysctl.saved ]]; then
    for key in "${SYSCTLS[@]}"; do
      echo "$key=$(sysctl -n "$key")"
    done >"$RUN_DIR/sysctl.saved.tmp"
    mv "$RUN_DIR/sysctl.saved.tmp" "$RUN_DIR/sysctl.saved"
  fi
  for key in net.ipv4.ip_forward net.bridge.bridge-nf-call-iptables \
    net.bridge.bridge-nf-call-ip6tables; do
    [[ $(sysctl -n "$key") == 1 ]] || sysctl -qw "$key=1"
  done
}

restore_sysctls() {
  [[ -f $RUN_DIR/sysctl.saved ]] || return 0
  local line
  while IFS= read -r line; do
    [[ $(sysctl -n "${line%%=*}") == "${line#*=}" ]] || sysctl -qw "$line"
  done <"$RUN_DIR/sysctl.saved"
  rm -f "$RUN_DIR/sysctl.saved"
}

node_ip() {
  if [[ -n ${KOPFKA_E2E_NODE_IP:-} ]]; then
    echo "$KOPFKA_E2E_NODE_IP"
    return
  fi
  local ip
  ip=$(ip -4 route get 1.1.1.1 2>/dev/null | sed -n 's/.* src \([0-9.]*\).*/\1/p')
  [[ -n $ip ]] || die "no default IPv4 route to take the node's address from; set KOPFKA_E2E_NODE_IP"
  echo "$ip"
}

# ---------------------------------------------------------------------------------------------
# Control plane

# etcd, the scheduler and the controller manager stay on loopback. The API server binds to every
# address: the `kubernetes` Service sends pods to its advertise address (this host's), and
# kwokctl's own kubeconfig uses 127.0.0.1. Its certificate gets the Service's IP and names.
kwokctl_config() {
  cat <<EOF
apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
options:
  bindAddress: 127.0.0.1
  disable: [kwok-controller]
  kubeApiserverCertSANs:
    - $KUBERNETES_SERVICE_IP
    - kubernetes
    - kubernetes.default
    - kubernetes.default.svc
    - kubernetes.default.svc.$CLUSTER_DOMAIN
componentsPatches:
  - name: kube-apiserver
    extraArgs:
      - {key: bind-address, value: 0.0.0.0, override: true}
      - {key: advertise-address, value: "$NODE_IP"}
      - {key: service-cluster-ip-range, value: "$SERVICE_CIDR"}
      - {key: enable-admission-plugins, value: NodeRestriction}
      - {key: kubelet-preferred-address-types, value: "InternalIP,Hostname"}
      - {key: kubelet-client-certificate, value: "$PKI/admin.crt"}
      - {key: kubelet-client-key, value: "$PKI/admin.key"}
      # Deleting a collection (a namespace's objects, thousands of KafkaTopics) one object at a
      # time took over 15 minutes for 10,000 on a busy host; 4 workers share the work.
      - {key: delete-collection-workers, value: "4"}
  - name: kube-controller-manager
    extraArgs:
      - {key: service-cluster-ip-range, value: "$SERVICE_CIDR"}
EOF
}

control_plane_pid_files() {
  local pidfile
  for pidfile in "$CLUSTER_DIR"/pids/*.pid; do
    if [[ -f $pidfile ]]; then echo "$pidfile"; fi
  done
}

process_alive() {
  local state
  state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
  [[ $state != Z* ]]
}

exited_control_plane() {
  local pidfile
  for pidfile in $(control_plane_pid_files); do
    process_alive "$(<"$pidfile")" || echo "$pidfile"
  done
}

# kwokctl starts every component at once and never restarts one; kube-controller-manager gives
# up when the API server is not healthy within 10 s of its start, which a loaded machine
# misses. So waits restart exited components (kwokctl skips a component whose pid file is
# there), a few times, and then fail with the end of the component's log.
RESTARTS_LEFT=3
revive_control_plane() {
  [[ -d $CLUSTER_DIR ]] || return 0
  local exited pidfile component
  exited=$(exited_control_plane)
  [[ -n $exited ]] || return 0
  for pidfile in $exited; do
    component=$(basename "$pidfile" .pid)
    ((RESTARTS_LEFT > 0)) || die "$component exited; the end of $CLUSTER_DIR/logs/$component.log:
$(tail -n 10 "$CLUSTER_DIR/logs/$component.log" 2>/dev/null)"
    RESTARTS_LEFT=$((RESTARTS_LEFT - 1))
    log "$component exited; restarting it"
    rm -f "$pidfile"
  done
  "$BIN/kwokctl" start cluster --name "$CLUSTER" >&2 8>&- 9>&-
}

start_control_plane() {
  mkdir -p "$KWOK_WORKDIR"
  (
    flock 9
    if [[ -d $CLUSTER_DIR ]]; then
      local exited
      exited=$(exited_control_plane)
      if [[ -n $exited ]]; then
        log "starting the stopped components of cluster $CLUSTER"
        # shellcheck disable=SC2086  # one path per line, no spaces
        rm -f $exited
        "$BIN/kwokctl" start cluster --name "$CLUSTER" >&2 8>&- 9>&-
      fi
    else
      log "creating control plane $CLUSTER (logs: $CLUSTER_DIR/logs)"
      # --kubeconfig '' keeps kwokctl away from ~/.kube/config.
      "$BIN/kwokctl" --config <(kwokctl_config) create cluster --name "$CLUSTER" \
        --runtime binary --kubeconfig '' --wait 0s \
        --etcd-binary "$BIN/etcd" \
        --kube-apiserver-binary "$BIN/kube-apiserver" \
        --kube-controller-manager-binary "$BIN/kube-controller-manager" \
        --kube-scheduler-binary "$BIN/kube-scheduler" >&2 8>&- 9>&-
    fi
    wait_for "the API server" kubectl get --raw /readyz
    # Pods cannot be created before kube-controller-manager made the default ServiceAccount.
    wait_for "kube-controller-manager" kubectl get serviceaccount default --namespace default
    wait_for "kube-scheduler" kubectl get lease kube-scheduler --namespace kube-system
  ) 9>"$PORTS_LOCK"
}

stop_control_plane() {
  [[ -d $CLUSTER_DIR ]] || return 0
  local pids=() pidfile pid deadline=$((SECONDS + 30))
  for pidfile in $(control_plane_pid_files); do
    pids+=("$(<"$pidfile")")
  done
  log "deleting control plane $CLUSTER"
  "$BIN/kwokctl" delete cluster --name "$CLUSTER" >&2
  # kwokctl sends SIGKILL and returns; wait until the processes are gone so their ports are free.
  for pid in "${pids[@]}"; do
    while process_alive "$pid"; do
      ((SECONDS < deadline)) || die "control plane process $pid survives SIGKILL"
      sleep 0.1
    done
  done
}

# ---------------------------------------------------------------------------------------------
# Credentials: the kubelet and kube-proxy get their own client certificates from the cluster's
# CA, so that the API server's Node authorizer, NodeRestriction and RBAC treat them as on a real
# cluster (system:node:<name> in system:nodes, and system:kube-proxy).

client_kubeconfig() {
  local name=$1 subject=$2 dir=$CONFIG/$1
  [[ -f $CONFIG/$name.kubeconfig && $CONFIG/$name.kubeconfig -nt $PKI/ca.crt ]] && return 0
  mkdir -p "$dir"
  openssl req -new -newkey rsa:2048 -nodes -keyout "$dir/client.key" -subj "$subject" \
    -out "$dir/client.csr" 2>/dev/null
  openssl x509 -req -in "$dir/client.csr" -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days 365 -out "$dir/client.crt" \
    -extfile <(printf 'keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n') \
    2>/dev/null
  local server
  server=$(kubectl config view --minify -o jsonpath='{.clusters[0].cluster.server}')
  local file=$CONFIG/$name.kubeconfig.tmp
  rm -f "$file"
  "$BIN/kubectl" config --kubeconfig "$file" set-cluster "$CLUSTER" --server "$server" \
    --certificate-authority "$PKI/ca.crt" --embed-certs >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file" set-credentials "$name" \
    --client-certificate "$dir/client.crt" --client-key "$dir/client.key" --embed-certs >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file" set-context default --cluster "$CLUSTER" \
    --user "$name" >/dev/null
  "$BIN/kubectl" config --kubeconfig "$file" use-context default >/dev/null
  mv -f "$file" "$CONFIG/$name.kubeconfig"
}

# ---------------------------------------------------------------------------------------------
# containerd: an instance of its own (socket, root, state, runc root), so that Docker's
# containerd and its images are untouched and `down` can stop this one.

# Open files of containerd and so of every container (they inherit its limit, as under systemd's
# LimitNOFILE): a broker keeps a file open per log segment, and a shell's limit (often 20,000 or
# less) stops one of a 20,000-topic cluster ("Too many open files", its log dir then failed).
# Raising the hard limit needs CAP_SYS_RESOURCE; without it the limit stays as it is (logged).
CONTAINER_OPEN_FILES=1048576

containerd_config() {
  cat <<EOF
# Started with ulimit -n $CONTAINER_OPEN_FILES (start_containerd).
version = 2
root = "$CONTAINERD_ROOT"
state = "$CONTAINERD_STATE"

[grpc]
  address = "$CONTAINERD_SOCK"

[ttrpc]
  address = "$CONTAINERD_SOCK.ttrpc"

[plugins]
  [plugins."io.containerd.internal.v1.opt"]
    path = "$CONTAINERD_ROOT/opt"
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "$PAUSE_IMAGE"
    # Root here lacks CAP_SYS_RESOURCE, so a container may not get a lower oom_score_adj than
    # containerd's; without this no sandbox starts.
    restrict_oom_score_adj = true
    [plugins."io.containerd.grpc.v1.cri".containerd]
      snapshotter = "overlayfs"
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          SystemdCgroup = false
          Root = "$RUNC_ROOT"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$CNI_BIN_DIR"
      conf_dir = "$CNI_CONF_DIR"
      max_conf_num = 1
EOF
}

# One bridge for the node's pods. The firewall plugin lets their traffic through the FORWARD
# chain, whose policy Docker sets to DROP; ipMasq gives them the host's address outside; hairpin
# lets a pod reach itself through a Service.
cni_config() {
  cat <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$CNI_NETWORK",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$NODE_POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$CNI_IPAM_DIR"
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}},
    {"type": "firewall", "backend": "iptables"}
  ]
}
EOF
}

start_containerd() {
  mkdir -p "$CONFIG" "$CNI_CONF_DIR" "$CNI_IPAM_DIR" "$CONTAINERD_ROOT" "$CONTAINERD_STATE"
  cni_config | update_file "$CNI_CONF_DIR/10-$CNI_NETWORK.conflist" || true
  restart_if_changed "$CONTAINERD" "$CONFIG/$CONTAINERD.toml" containerd_config
  running "$CONTAINERD" || (
    ulimit -n "$CONTAINER_OPEN_FILES" 2>/dev/null ||
      log "containers get $(ulimit -Hn) open files, not $CONTAINER_OPEN_FILES (no CAP_SYS_RESOURCE)"
    start_daemon "$CONTAINERD" "$(command -v containerd)" --config "$CONFIG/$CONTAINERD.toml"
  )
  WATCHED+=("$CONTAINERD")
  wait_for "$CONTAINERD" ctr version
}

# ---------------------------------------------------------------------------------------------
# Images

# An OCI archive from e2e/build.sh, unless containerd has that name at that digest already.
import_archive() {
  local name=$1 archive=$2 digest=$3 current
  current=$(ctr images ls "name==$name" 2>/dev/null | awk 'NR > 1 { print $3 }')
  [[ $current == "$digest" ]] && return 0
  log "importing $name$(on_node)"
  ctr images import "$archive" >/dev/null
}

default_images() {
  local kafka_version previous_version operator_version
  kafka_version=$(sed -n 's/^KAFKA_VERSION=//p' "$REPO/broker-image/versions.env")
  previous_version=$(sed -n 's/^KAFKA_PREVIOUS_VERSION=//p' "$REPO/broker-image/versions.env")
  operator_version=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$REPO/pyproject.toml" | head -n 1)
  echo "kopfka/kafka:$kafka_version kopfka/kafka:$previous_version kopfka/operator:$operator_version"
}

# Images built by Docker (the broker, the operator): `docker save` into containerd, skipped
# when containerd has the name and it was imported from the same Docker image id.
import_docker_images() {
  local images=${KOPFKA_E2E_IMAGES:-$(default_images)} image id stamp
  mkdir -p "$IMPORTED"
  for image in $images; do
    if ! id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null); then
      log "image $image is not in Docker; not imported (build it, then run: e2e/node.sh images)"
      continue
    fi
    stamp=$IMPORTED/$(echo "$image" | tr '/:' '__')
    if [[ -f $stamp && $(<"$stamp") == "$id" ]] &&
      [[ -n $(ctr images ls -q "name==docker.io/$image") ]]; then
      continue
    fi
    log "importing $image from Docker$(on_node)"
    local start=$SECONDS
    docker save "$image" | ctr images import - >/dev/null
    echo "$id" >"$stamp"
    log "imported $image$(on_node) in $((SECONDS - start))s"
  done
}

import_images() {
  import_archive "$PAUSE_IMAGE" "$PAUSE_ARCHIVE" "$PAUSE_DIGEST"
  import_archive "$COREDNS_IMAGE" "$COREDNS_ARCHIVE" "$COREDNS_DIGEST"
  import_archive "$LOCAL_PATH_PROVISIONER_IMAGE" "$LOCAL_PATH_PROVISIONER_ARCHIVE" \
    "$LOCAL_PATH_PROVISIONER_DIGEST"
  import_archive "$VOLUME_HELPER_IMAGE" "$VOLUME_HELPER_ARCHIVE" "$VOLUME_HELPER_DIGEST"
  import_docker_images
}

# ---------------------------------------------------------------------------------------------
# kubelet and kube-proxy

kubelet_config() {
  cat <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
address: $NODE_IP
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $KUBELET_HEALTHZ_PORT
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $PKI/ca.crt}
authorization:
  mode: Webhook
containerRuntimeEndpoint: unix://$CONTAINERD_SOCK
# PID 1 here is not systemd and the hosts use cgroup v1, which the kubelet refuses from 1.35 on
# unless told otherwise.
cgroupDriver: cgroupfs
failCgroupV1: false
clusterDNS: [$CLUSTER_DNS_IP]
clusterDomain: $CLUSTER_DOMAIN
resolvConf: /etc/resolv.conf
podLogsDir: $POD_LOGS
# The images are imported, never pulled: garbage-collecting one would lose it for good, and the
# shared disk of a CI machine must not evict test pods.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: 100Mi
  nodefs.available: 1%
  nodefs.inodesFree: 1%
  imagefs.available: 1%
  imagefs.inodesFree: 1%
serializeImagePulls: false
EOF
  ((NODE_INDEX > 0)) || return 0
  cat <<EOF
# Another node's kubelet on this host has the default port and the pod cgroups under /kubepods.
port: $KUBELET_PORT
cgroupRoot: $CGROUP_ROOT
EOF
}

kube_proxy_config() {
  cat <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: iptables
clientConnection:
  kubeconfig: $CONFIG/kube-proxy.kubeconfig
hostnameOverride: $NODE_NAME
clusterCIDR: $POD_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
# Zeros leave the host's conntrack settings alone, and no route_localnet for NodePorts on
# 127.0.0.1: kube-proxy would otherwise change those sysctls.
conntrack:
  maxPerCore: 0
  min: 0
  tcpEstablishedTimeout: 0s
  tcpCloseWaitTimeout: 0s
iptables:
  localhostNodePorts: false
EOF
}

# The cgroup directories of a further node's cgroupRoot, one per hierarchy (cgroup v1), or the
# one (v2).
cgroup_root_dirs() {
  if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
    echo "/sys/fs/cgroup$CGROUP_ROOT"
    return
  fi
  local hierarchy
  for hierarchy in /sys/fs/cgroup/*/; do
    if [[ -f $hierarchy/cgroup.procs ]]; then echo "${hierarchy%/}$CGROUP_ROOT"; fi
  done
}

# The kubelet refuses a cgroupRoot that is missing from a hierarchy. A new v1 cpuset cgroup has
# no CPUs and no memory nodes: it gets its parent's.
make_cgroup_root() {
  local dir file
  for dir in $(cgroup_root_dirs); do
    mkdir -p "$dir"
    for file in cpuset.cpus cpuset.mems; do
      if [[ -f $dir/$file && -z $(<"$dir/$file") ]]; then
        cat "$(dirname "$dir")/$file" >"$dir/$file"
      fi
    done
  done
}

start_kubelet() {
  mkdir -p "$KUBELET_DIR" "$POD_LOGS"
  if ((NODE_INDEX > 0)); then make_cgroup_root; fi
  restart_if_changed "$KUBELET" "$CONFIG/$KUBELET.yaml" kubelet_config
  running "$KUBELET" || start_daemon "$KUBELET" "$BIN/kubelet" \
    --config "$CONFIG/$KUBELET.yaml" \
    --kubeconfig "$CONFIG/$KUBELET.kubeconfig" \
    --root-dir "$KUBELET_DIR" \
    --cert-dir "$KUBELET_DIR/pki" \
    --hostname-override "$NODE_NAME" \
    --node-ip "$NODE_IP" \
    --node-labels "topology.kubernetes.io/zone=$NODE_ZONE"
  WATCHED+=("$KUBELET")
}

wait_for_kubelet() {
  # The node's Ready condition may still be the one a kubelet that died posted: ask this one.
  wait_for "the kubelet$(on_node)" curl -sf "http://127.0.0.1:$KUBELET_HEALTHZ_PORT/healthz"
  wait_for "node $NODE_NAME to register" kubectl get node "$NODE_NAME"
  wait_for "node $NODE_NAME to be Ready" \
    kubectl wait --for=condition=Ready "node/$NODE_NAME" --timeout=2s
}

# Pods of different nodes are on different bridges, and the bridge plugin's ipMasq masquerades
# whatever leaves a pod's own subnet: a pod would reach a pod of another node from the host's
# address. Accepting pod-to-pod traffic first in nat POSTROUTING keeps the addresses, as between
# the nodes of a real cluster; packets kube-proxy marked (a pod reaching itself through a Service)
# still get KUBE-POSTROUTING's masquerade.
POD_TO_POD_COMMENT="kopfka-e2e: pod to pod between nodes without NAT"

ensure_pod_to_pod_without_nat() {
  local rule=(-s "$POD_CIDR" -d "$POD_CIDR" -m mark ! --mark "$KUBE_PROXY_MASQ_MARK" -j ACCEPT)
  local jump=(-m comment --comment "$POD_TO_POD_COMMENT" -j "$POD_TO_POD_CHAIN")
  iptables_chain_exists iptables nat "$POD_TO_POD_CHAIN" || iptables -t nat -N "$POD_TO_POD_CHAIN"
  iptables -t nat -C "$POD_TO_POD_CHAIN" "${rule[@]}" 2>/dev/null ||
    iptables -t nat -A "$POD_TO_POD_CHAIN" "${rule[@]}"
  iptables -t nat -C POSTROUTING "${jump[@]}" 2>/dev/null ||
    iptables -t nat -I POSTROUTING 1 "${jump[@]}"
}

remove_pod_to_pod_chain() {
  iptables_chain_exists iptables nat "$POD_TO_POD_CHAIN" || return 0
  while iptables -t nat -D POSTROUTING -m comment --comment "$POD_TO_POD_COMMENT" \
    -j "$POD_TO_POD_CHAIN" 2>/dev/null; do :; done
  iptables -t nat -F "$POD_TO_POD_CHAIN"
  iptables -t nat -X "$POD_TO_POD_CHAIN"
}

start_kube_proxy() {
  restart_if_changed kube-proxy "$CONFIG/kube-proxy.yaml" kube_proxy_config
  running kube-proxy || start_daemon kube-proxy "$BIN/kube-proxy" --config "$CONFIG/kube-proxy.yaml"
  WATCHED+=(kube-proxy)
  wait_for "kube-proxy" curl -sf http://127.0.0.1:10256/healthz
}

# ---------------------------------------------------------------------------------------------
# Add-ons

render_manifest() {
  sed -e "s|@COREDNS_IMAGE@|$COREDNS_IMAGE|g" \
    -e "s|@CLUSTER_DNS_IP@|$CLUSTER_DNS_IP|g" \
    -e "s|@LOCAL_PATH_PROVISIONER_IMAGE@|$LOCAL_PATH_PROVISIONER_IMAGE|g" \
    -e "s|@VOLUME_HELPER_IMAGE@|$VOLUME_HELPER_IMAGE|g" \
    -e "s|@VOLUMES_DIR@|$VOLUMES|g" \
    "$1"
}

apply_addons() {
  mkdir -p "$VOLUMES"
  local manifest
  for manifest in coredns local-path; do
    render_manifest "$E2E_DIR/manifests/$manifest.yaml" |
      kubectl apply --server-side --force-conflicts --field-manager kopfka-e2e -f - >/dev/null
  done
  wait_for "CoreDNS" kubectl rollout status deployment/coredns --namespace kube-system --timeout=2s
  wait_for "local-path-provisioner" kubectl rollout status deployment/local-path-provisioner \
    --namespace local-path-storage --timeout=2s
}

# ---------------------------------------------------------------------------------------------
# Tear-down helpers

# Every mount point at or under the given directories, deepest first (the kubelet bind-mounts
# its root directory onto itself).
mounts_under() {
  local dir
  for dir in "$@"; do
    awk -v dir="$dir" '{ gsub(/\\040/, " ", $5) }
      $5 == dir || index($5, dir "/") == 1 { print $5 }' /proc/self/mountinfo
  done | sort -r -u
}

unmount_all() {
  local mountpoint
  for mountpoint in $(mounts_under "$@"); do
    umount "$mountpoint" 2>/dev/null || umount -l "$mountpoint" || true
  done
}

# Pods and their network: stopping the sandboxes runs the CNI plugins' DEL, which removes the
# veths and the per-pod iptables rules. The kubelet is stopped first, so it recreates nothing.
remove_pods() {
  running "$CONTAINERD" || return 0
  local ids
  ids=$(crictl pods -q 2>/dev/null || true)
  [[ -n $ids ]] || return 0
  log "removing $(wc -w <<<"$ids") pod sandboxes$(on_node)"
  # shellcheck disable=SC2086  # one id a word
  crictl stopp $ids >/dev/null 2>&1 || true
  # shellcheck disable=SC2086
  crictl rmp --force $ids >/dev/null 2>&1 || true
}

# The shims of this containerd (identified by its socket) that outlived their pods.
stop_leftover_shims() {
  local pid cmdline
  for pid in $(pgrep -f containerd-shim-runc-v2 || true); do
    cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || continue
    if [[ $cmdline == *"-address $CONTAINERD_SOCK "* ]]; then kill -KILL "$pid" 2>/dev/null || true; fi
  done
}

iptables_chain_exists() { "$1" -t "$2" -n -L "$3" >/dev/null 2>&1; }

# What kube-proxy --cleanup, the CNI plugins' DEL and the kubelet leave in iptables, for IPv4
# and IPv6: every KUBE-* chain (the kubelet's canaries and KUBE-FIREWALL, which the cleanup keeps)
# with the built-in chains' jumps to them; the firewall plugin's CNI-FORWARD and CNI-ADMIN (and
# FORWARD's jump) once they hold no pod's rule. Only this node set's kubelets and kube-proxy run
# on a host, so KUBE-* chains are its own. Then the pod-to-pod chain of several nodes.
clean_iptables() {
  local tool table rule chain
  for tool in iptables ip6tables; do
    command -v "$tool" >/dev/null || continue
    for table in raw mangle nat filter; do
      "$tool-save" -t "$table" >/dev/null 2>&1 || continue
      # iptables-save quotes what needs quoting (comments), so its rules can be replayed by eval.
      while IFS= read -r rule; do
        eval "'$tool' -t '$table' ${rule/#-A/-D}" 2>/dev/null || true
      done < <("$tool-save" -t "$table" |
        grep -E '^-A (PREROUTING|INPUT|FORWARD|OUTPUT|POSTROUTING) .*-j KUBE-')
      for chain in $("$tool-save" -t "$table" | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
        "$tool" -t "$table" -F "$chain" 2>/dev/null || true
      done
      for chain in $("$tool-save" -t "$table" | sed -n 's/^:\(KUBE-[^ ]*\) .*/\1/p'); do
        "$tool" -t "$table" -X "$chain" 2>/dev/null || true
      done
    done
    if iptables_chain_exists "$tool" filter CNI-FORWARD &&
      [[ $("$tool" -t filter -S CNI-FORWARD | grep -cv -e '^-N' -e '-j CNI-ADMIN$') == 0 ]]; then
      while "$tool" -t filter -D FORWARD -m comment --comment "CNI firewall plugin rules" \
        -j CNI-FORWARD 2>/dev/null; do :; done
      "$tool" -t filter -F CNI-FORWARD 2>/dev/null || true
      "$tool" -t filter -X CNI-FORWARD 2>/dev/null || true
      if [[ $("$tool" -t filter -S CNI-ADMIN 2>/dev/null | grep -cv '^-N') == 0 ]]; then
        "$tool" -t filter -X CNI-ADMIN 2>/dev/null || true
      fi
    fi
  done
  remove_pod_to_pod_chain
}

# The kubelet's pod cgroups (it is stopped before the pods, so it cannot remove them itself); a
# further node's whole cgroupRoot.
remove_pod_cgroups() {
  local dir dirs
  if ((NODE_INDEX == 0)); then
    dirs=(/sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods)
  else
    mapfile -t dirs < <(cgroup_root_dirs)
  fi
  for dir in "${dirs[@]}"; do
    [[ -d $dir ]] || continue
    find "$dir" -depth -type d -exec rmdir {} \; 2>/dev/null || true
  done
}

# Host paths the node's programs use whatever they are told: the kubelet's symlinks in
# /var/log/containers, containerd's network namespaces in /run/netns and libcni's result cache
# in /var/lib/cni. Our entries go; the directories go when that leaves them empty.
remove_host_leftovers() {
  local link
  for link in /var/log/containers/*.log; do
    if [[ -L $link && $(readlink "$link") == "$POD_LOGS/"* ]]; then rm -f "$link"; fi
  done
  rm -f /var/lib/cni/results/"$CNI_NETWORK"-*
  rmdir /var/log/containers /run/netns /var/lib/cni/results /var/lib/cni 2>/dev/null || true
}

# ---------------------------------------------------------------------------------------------
# Commands

load_images_env() {
  local env=$CACHE/e2e/images/images.env
  [[ -f $env ]] || die "$env is missing; run e2e/build.sh images"
  # shellcheck source=/dev/null
  source "$env"
}

# The cache of the node that runs (or ran and was not stopped), else this shell's: `down` and
# `status` must find that node's state and tools whatever KOPFKA_CACHE says.
recorded_cache() {
  if [[ -f $RUN_DIR/cache ]]; then cat "$RUN_DIR/cache"; else echo "$CACHE"; fi
}

use_cache() {
  CACHE=$1
  BIN=$CACHE/bin
  use_state_dir "$CACHE/e2e/node"
}

# ZONES from a space-separated list: one zone per node, each a valid label value, none twice.
set_zones() {
  local zone seen=' '
  read -r -a ZONES <<<"$1"
  ((${#ZONES[@]} >= 1)) || die "no zone given (KOPFKA_E2E_ZONES)"
  ((${#ZONES[@]} <= MAX_NODES)) || die "at most $MAX_NODES zones (nodes): $1"
  for zone in "${ZONES[@]}"; do
    [[ ${#zone} -le 63 && $zone =~ ^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$ ]] ||
      die "zone '$zone' is not a valid label value"
    [[ $seen != *" $zone "* ]] || die "zone $zone is given twice"
    seen+="$zone "
  done
}

# The zones of the nodes `up` started (and `down` has not stopped), or nothing.
recorded_zones() {
  if [[ -f $RUN_DIR/zones ]]; then
    cat "$RUN_DIR/zones"
  elif [[ -f $RUN_DIR/cache ]]; then
    echo "$DEFAULT_ZONES" # started by a node.sh that recorded no zones: one node
  fi
}

# The recorded nodes (else the first alone), for the commands that act on what runs.
use_recorded_zones() {
  local zones
  zones=$(recorded_zones)
  set_zones "${zones:-$DEFAULT_ZONES}"
}

cmd_up() {
  require_host
  local start=$SECONDS recorded zones
  recorded=$(recorded_cache)
  [[ $recorded == "$CACHE" ]] ||
    die "an e2e node of KOPFKA_CACHE=$recorded runs; stop it first (e2e/node.sh down)"
  recorded=$(recorded_zones)
  set_zones "${KOPFKA_E2E_ZONES:-${recorded:-$DEFAULT_ZONES}}"
  zones=${ZONES[*]}
  [[ -z $recorded || $recorded == "$zones" ]] ||
    die "e2e nodes of the zones '$recorded' run; stop them first (e2e/node.sh down), or unset KOPFKA_E2E_ZONES to keep them"
  use_cache "$CACHE"
  mkdir -p "$RUN_DIR" "$STATE" "$LOGS"
  echo "$CACHE" >"$RUN_DIR/cache"
  # Before anything starts, so that `down` finds every node even after a failed `up`.
  echo "$zones" >"$RUN_DIR/zones"
  NODE_IP=$(node_ip)

  "$E2E_DIR/build.sh" kubernetes crictl images
  load_images_env
  apt_install "$LOGS/apt.log" containerd runc containernetworking-plugins
  local plugin
  for plugin in bridge host-local loopback portmap firewall; do
    [[ -x $CNI_BIN_DIR/$plugin ]] || die "CNI plugin $CNI_BIN_DIR/$plugin is missing"
  done
  save_and_set_sysctls

  start_control_plane
  for_each_node kubelet_kubeconfig
  client_kubeconfig kube-proxy "/CN=system:kube-proxy"
  for_each_node start_containerd_and_images
  for_each_node start_kubelet
  for_each_node wait_for_kubelet
  if ((${#ZONES[@]} > 1)); then ensure_pod_to_pod_without_nat; fi
  start_kube_proxy
  apply_addons
  local daemon
  for daemon in "${WATCHED[@]}"; do
    running "$daemon" || die "$daemon exited; the end of $LOGS/$daemon.log:
$(tail -n 15 "$LOGS/$daemon.log" 2>/dev/null)"
  done
  if ((${#ZONES[@]} == 1)); then
    log "node $NODE_NAME is up in $((SECONDS - start))s; export KUBECONFIG=$ADMIN_KUBECONFIG"
  else
    log "${#ZONES[@]} nodes (zones $zones) are up in $((SECONDS - start))s; export KUBECONFIG=$ADMIN_KUBECONFIG"
  fi
  echo "$ADMIN_KUBECONFIG"
}

kubelet_kubeconfig() { client_kubeconfig "$KUBELET" "/O=system:nodes/CN=system:node:$NODE_NAME"; }

start_containerd_and_images() {
  start_containerd
  import_images
}

# Every node `up` may have started: the recorded ones, and any whose run directory is there.
use_nodes_to_stop() {
  use_recorded_zones
  local dir index
  for dir in "$RUN_DIR"/nodes/e2e-node-*; do
    index=${dir##*-}
    if [[ -d $dir && $index =~ ^[0-9]+$ && -z ${ZONES[index]:-} ]]; then ZONES[index]=unknown; fi
  done
}

stop_kubelet() { stop_daemon "$KUBELET"; }

stop_node_runtime() {
  remove_pods
  stop_daemon "$CONTAINERD" 30
  stop_leftover_shims
  unmount_all "$KUBELET_DIR" "$CONTAINERD_STATE" "$CONTAINERD_ROOT"
}

remove_node_host_changes() {
  ip link delete "$BRIDGE" 2>/dev/null || true
  remove_pod_cgroups
  remove_host_leftovers
}

# A further node's state (the first node's is removed with the cluster's); its image store is
# kept, like the first node's.
remove_node_state() {
  ((NODE_INDEX > 0)) || return 0
  rm -rf --one-file-system "$KUBELET_DIR" "$POD_LOGS" "$NODE_DIR/cni"
}

cmd_down() {
  require_host
  local start=$SECONDS
  use_cache "$(recorded_cache)"
  use_nodes_to_stop
  mkdir -p "$LOGS"
  stop_daemon kube-proxy
  if [[ -x $BIN/kube-proxy ]]; then
    "$BIN/kube-proxy" --cleanup >"$LOGS/kube-proxy-cleanup.log" 2>&1 || true
  fi
  for_each_node stop_kubelet
  for_each_node stop_node_runtime
  unmount_all "$RUN_DIR"
  stop_control_plane
  for_each_node remove_node_host_changes
  clean_iptables
  restore_sysctls
  for_each_node remove_node_state
  # --one-file-system: should an unmount have failed, never follow a mount into the host.
  rm -rf --one-file-system "$KUBELET_DIR" "$POD_LOGS" "$VOLUMES" "$STATE/cni" "$CONFIG" \
    "$KWOK_WORKDIR" "$RUN_DIR"
  if [[ ${KOPFKA_E2E_PURGE:-0} == 1 ]]; then
    rm -rf --one-file-system "$CONTAINERD_ROOT" "$IMPORTED" "$STATE/nodes"
  fi
  if ((${#ZONES[@]} == 1)); then
    log "node and control plane stopped in $((SECONDS - start))s (logs kept in $LOGS)"
  else
    log "${#ZONES[@]} nodes and the control plane stopped in $((SECONDS - start))s (logs kept in $LOGS)"
  fi
}

rss_kib() {
  local rss
  rss=$(ps -o rss= -p "$1" 2>/dev/null | tr -d ' ') || true
  echo "${rss:-0}"
}

status_row() { printf '%-26s %-8s %10s\n' "$@"; }

# A daemon's row; adds its RSS (KiB) to NODE_RSS.
status_daemon() {
  local pid rss
  if pid=$(pid_of "$1"); then
    rss=$(rss_kib "$pid")
    NODE_RSS=$((NODE_RSS + rss))
    status_row "$1" "$pid" $((rss / 1024))
  else
    status_row "$1" stopped -
  fi
}

# The current node's rows: its containerd and kubelet (and the host's kube-proxy with the first
# node), its shims, its total, and what runs in its pods.
status_node() {
  NODE_RSS=0
  if ((NODE_INDEX > 0)); then
    echo "--- $NODE_NAME (zone $NODE_ZONE)"
  fi
  status_daemon "$CONTAINERD"
  status_daemon "$KUBELET"
  if ((NODE_INDEX == 0)); then status_daemon kube-proxy; fi
  local pid shims=0 shim_rss=0
  for pid in $(pgrep -f "containerd-shim-runc-v2 .*-address $CONTAINERD_SOCK" || true); do
    shims=$((shims + 1))
    shim_rss=$((shim_rss + $(rss_kib "$pid")))
  done
  NODE_RSS=$((NODE_RSS + shim_rss))
  status_row "containerd shims" "($shims)" $((shim_rss / 1024))
  local pods_rss=0 procs root=${CGROUP_ROOT%/}
  for procs in "/sys/fs/cgroup/memory$root/kubepods/cgroup.procs" \
    "/sys/fs/cgroup$root/kubepods/cgroup.procs"; do
    [[ -f $procs ]] || continue
    while read -r pid; do
      pods_rss=$((pods_rss + $(rss_kib "$pid")))
    done < <(find "$(dirname "$procs")" -name cgroup.procs -exec cat {} + 2>/dev/null | sort -u)
  done
  status_row "node total" "" $((NODE_RSS / 1024))
  status_row "processes in pods" "" $((pods_rss / 1024))
}

cmd_status() {
  use_cache "$(recorded_cache)"
  use_recorded_zones
  status_row PROCESS PID RSS_MIB
  for_each_node status_node
  local pid rss cp_rss=0 pidfile
  if [[ -d $CLUSTER_DIR ]]; then
    for pidfile in $(control_plane_pid_files); do
      pid=$(<"$pidfile")
      if process_alive "$pid"; then
        rss=$(rss_kib "$pid")
        cp_rss=$((cp_rss + rss))
        status_row "$(basename "$pidfile" .pid)" "$pid" $((rss / 1024))
      else
        status_row "$(basename "$pidfile" .pid)" stopped -
      fi
    done
    status_row "control plane total" "" $((cp_rss / 1024))
    echo
    kubectl get nodes -o wide --request-timeout=5s || true
    echo
    kubectl get pods --all-namespaces -o wide --request-timeout=5s || true
  else
    echo "control plane $CLUSTER does not exist"
  fi
}

cmd_kubeconfig() {
  use_cache "$(recorded_cache)"
  [[ -f $ADMIN_KUBECONFIG ]] || die "the e2e node is not up (no $ADMIN_KUBECONFIG)"
  echo "$ADMIN_KUBECONFIG"
}

cmd_images() {
  require_host
  use_cache "$(recorded_cache)"
  use_recorded_zones
  load_images_env
  for_each_node import_images_into_node
}

import_images_into_node() {
  running "$CONTAINERD" ||
    die "$CONTAINERD of the e2e node $NODE_NAME is not running; run e2e/node.sh up"
  import_images
}

main() {
  (($# == 1)) || usage
  local command=$1
  case $command in
    up | down | images)
      exec 8>"$LOCK"
      flock -w "$TIMEOUT" 8 || die "another e2e/node.sh $command holds $LOCK"
      "cmd_$command"
      ;;
    status) cmd_status ;;
    kubeconfig) cmd_kubeconfig ;;
    *) usage ;;
  esac
}

main "$@"
