#!/usr/bin/env bash
# Smoke test of the e2e node (e2e/node.sh up): proves that what the operator will rely on works
# on a real node before any operator test runs there. It starts the broker image as a 1-replica
# StatefulSet in KRaft combined mode, shaped like the operator's (non-root with fsGroup, read-only
# root filesystem, probes, the rack from the node's zone label, a volume claim template on the
# default StorageClass), and checks:
#   - the pod becomes Ready (the time it took is printed);
#   - its claim is Bound to a local-path volume and the broker, uid 1001, writes to it;
#   - another pod resolves the broker's headless-Service name and kubernetes.default through
#     CoreDNS, reaches the API server's Service IP, and creates and lists a topic over the
#     pod network with Kafka's own tool;
#   - the pod, deleted, comes back on the same volume with its data and its topic;
#   - deleting the namespace removes the volume's directory from the node.
#
#   e2e/smoke.sh            KUBECONFIG: the e2e node's (e2e/node.sh kubeconfig)
#
# Environment: KAFKA_VERSION (default from broker-image/versions.env), KOPFKA_E2E_TIMEOUT (seconds
# per wait, default 180), KOPFKA_E2E_KEEP=1 leaves the namespace for a look after a failure.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$E2E_DIR")
CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
KUBECTL=$CACHE/bin/kubectl
TIMEOUT=${KOPFKA_E2E_TIMEOUT:-180}
KAFKA_VERSION=${KAFKA_VERSION:-$(sed -n 's/^KAFKA_VERSION=//p' "$REPO/broker-image/versions.env")}
IMAGE=kopfka/kafka:$KAFKA_VERSION
NS=kopfka-e2e-smoke
DOMAIN=cluster.local
BROKER_DNS=kafka-0.kafka.$NS.svc.$DOMAIN

log() { echo "e2e-smoke: $*" >&2; }

KUBECONFIG=$("$E2E_DIR/node.sh" kubeconfig)
export KUBECONFIG
kubectl() { "$KUBECTL" "$@"; }
k() { kubectl --namespace "$NS" "$@"; }

# What a failed run leaves for the reader: the objects, their events and the broker's log.
diagnose() {
  log "diagnostics:"
  {
    k get statefulsets,pods,pvc -o wide
    kubectl get pv -o wide
    k get events --sort-by=.lastTimestamp | tail -n 30
    k describe pod kafka-0 | tail -n 40
    k logs kafka-0 --tail=40 || true
  } 2>&1 | sed 's/^/  | /' >&2
}

finish() {
  local status=$?
  if ((status != 0)); then
    diagnose
    log "FAILED"
  fi
  if [[ ${KOPFKA_E2E_KEEP:-0} == 1 && $status != 0 ]]; then
    log "namespace $NS kept (KOPFKA_E2E_KEEP=1)"
  else
    kubectl delete namespace "$NS" --ignore-not-found --wait=true --timeout="${TIMEOUT}s" \
      >/dev/null 2>&1 || true
  fi
}

fail() {
  log "check failed: $*"
  exit 1
}

# Polls "$@" (a command or a function of this script) until it succeeds or TIMEOUT passes.
wait_for() {
  local what=$1 output deadline=$((SECONDS + TIMEOUT))
  shift
  until output=$("$@" 2>&1); do
    ((SECONDS < deadline)) || fail "timed out after ${TIMEOUT}s waiting for $what: $output"
    sleep 0.2
  done
}

pod_ready() {
  [[ $(k get pod "$1" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}') == True ]]
}

pod_uid() { k get pod "$1" -o jsonpath='{.metadata.uid}'; }

pod_replaced() { [[ $(pod_uid kafka-0) != "$1" ]]; }

pv_gone() { ! kubectl get pv "$1" >/dev/null 2>&1; }

# A stand-in for what the operator renders for a combined node (broker-image/check.sh uses
# the same settings): the placeholders are filled per pod by the image's entrypoint.
manifests() {
  local cluster_id=$1
  cat <<EOF
apiVersion: v1
kind: Service
metadata: {name: kafka}
spec:
  clusterIP: None
  # Nodes must find each other before any is ready (the quorum forms first).
  publishNotReadyAddresses: true
  selector: {app: kafka}
  ports:
    - {name: broker, port: 9092}
    - {name: controller, port: 9093}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: kafka-config}
data:
  server.properties: |
    process.roles=broker,controller
    node.id=\${KOPFKA_NODE_ID}
    controller.quorum.voters=0@kafka-0.kafka.$NS.svc.$DOMAIN:9093
    controller.listener.names=CONTROLLER
    listeners=INTERNAL://\${KOPFKA_BIND_ADDRESS}:9092,CONTROLLER://\${KOPFKA_BIND_ADDRESS}:9093
    advertised.listeners=INTERNAL://\${POD_NAME}.kafka.$NS.svc.$DOMAIN:9092
    inter.broker.listener.name=INTERNAL
    listener.security.protocol.map=INTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT
    broker.rack=\${KOPFKA_RACK}
    log.dirs=/var/lib/kafka/data
    offsets.topic.replication.factor=1
    transaction.state.log.replication.factor=1
    transaction.state.log.min.isr=1
    share.coordinator.state.topic.replication.factor=1
    share.coordinator.state.topic.min.isr=1
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: kafka}
spec:
  serviceName: kafka
  replicas: 1
  podManagementPolicy: Parallel
  updateStrategy: {type: OnDelete}
  selector:
    matchLabels: {app: kafka}
  template:
    metadata:
      labels: {app: kafka}
    spec:
      automountServiceAccountToken: false
      enableServiceLinks: false
      terminationGracePeriodSeconds: 30
      securityContext:
        runAsNonRoot: true
        runAsUser: 1001
        runAsGroup: 1001
        fsGroup: 1001
        seccompProfile: {type: RuntimeDefault}
      containers:
        - name: kafka
          image: $IMAGE
          imagePullPolicy: IfNotPresent
          env:
            - name: POD_NAME
              valueFrom: {fieldRef: {fieldPath: metadata.name}}
            # The API server copies the node's zone label onto the pod when it binds it.
            - name: KOPFKA_RACK
              valueFrom: {fieldRef: {fieldPath: "metadata.labels['topology.kubernetes.io/zone']"}}
            - {name: KOPFKA_NODE_ID_BASE, value: "0"}
            - {name: KOPFKA_CLUSTER_ID, value: "$cluster_id"}
            - {name: KAFKA_HEAP_OPTS, value: "-Xmx512m -Xms512m"}
          ports:
            - {name: broker, containerPort: 9092}
            - {name: controller, containerPort: 9093}
          readinessProbe:
            httpGet: {path: /ready, port: 9405}
            periodSeconds: 1
            failureThreshold: 3
          livenessProbe:
            httpGet: {path: /live, port: 9405}
            periodSeconds: 10
            failureThreshold: 3
          resources:
            requests: {cpu: 100m, memory: 768Mi}
            limits: {memory: 1Gi}
          securityContext:
            allowPrivilegeEscalation: false
            readOnlyRootFilesystem: true
            capabilities: {drop: [ALL]}
          volumeMounts:
            - {name: data, mountPath: /var/lib/kafka}
            - {name: config, mountPath: /etc/kopfka/config, readOnly: true}
            - {name: tmp, mountPath: /tmp}
      volumes:
        - name: config
          configMap: {name: kafka-config}
        - name: tmp
          emptyDir: {}
  volumeClaimTemplates:
    - metadata: {name: data}
      spec:
        accessModes: [ReadWriteOnce]
        resources:
          requests: {storage: 1Gi}
---
# The other pod: same image (it has getent, bash and Kafka's tools), nothing mounted.
apiVersion: v1
kind: Pod
metadata: {name: client}
spec:
  automountServiceAccountToken: false
  terminationGracePeriodSeconds: 0
  securityContext:
    runAsNonRoot: true
    runAsUser: 1001
    seccompProfile: {type: RuntimeDefault}
  containers:
    - name: client
      image: $IMAGE
      imagePullPolicy: IfNotPresent
      command: [sleep, infinity]
      env:
        - {name: KAFKA_HEAP_OPTS, value: "-Xmx256m"}
      resources:
        requests: {cpu: 50m, memory: 256Mi}
      securityContext:
        allowPrivilegeEscalation: false
        capabilities: {drop: [ALL]}
EOF
}

# Kafka's topic tool in the client pod, against the broker's DNS name.
topics() {
  k exec client -- java -Xmx256m -cp '/opt/kafka/libs/*' \
    -Dlog4j2.configurationFile=/opt/kafka/config/log4j2.yaml \
    org.apache.kafka.tools.TopicCommand --bootstrap-server "$BROKER_DNS:9092" "$@"
}

topic_listed() { topics --list | grep -x smoke >/dev/null; }

main() {
  trap finish EXIT
  kubectl get namespace "$NS" >/dev/null 2>&1 && {
    log "deleting namespace $NS left by an earlier run"
    kubectl delete namespace "$NS" --wait=true --timeout="${TIMEOUT}s" >/dev/null
  }
  kubectl create namespace "$NS" >/dev/null
  # A KRaft cluster id: 16 random bytes in URL-safe base64 without padding.
  local cluster_id
  cluster_id=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(16)).decode().rstrip("="))')

  local start=$SECONDS
  manifests "$cluster_id" | k apply -f - >/dev/null
  wait_for "pod kafka-0 to exist" k get pod kafka-0
  wait_for "pod kafka-0 to be Ready" pod_ready kafka-0
  local ready_s=$((SECONDS - start))
  log "broker pod Ready ${ready_s}s after apply"

  # Storage: bound to a local-path volume on the node, written by uid 1001 through fsGroup.
  local pv
  [[ $(k get pvc data-kafka-0 -o jsonpath='{.status.phase}') == Bound ]] || fail "claim not Bound"
  pv=$(k get pvc data-kafka-0 -o jsonpath='{.spec.volumeName}')
  [[ $(k get pvc data-kafka-0 -o jsonpath='{.spec.storageClassName}') == local-path ]] ||
    fail "claim did not get the default StorageClass local-path"
  local volume_dir
  volume_dir=$(kubectl get pv "$pv" -o jsonpath='{.spec.local.path}')
  [[ -n $volume_dir && -d $volume_dir ]] || fail "PV $pv is not a local volume with a directory on this host"
  [[ $(k exec kafka-0 -- id -u) == 1001 ]] || fail "the broker does not run as uid 1001"
  k exec kafka-0 -- sh -c 'echo smoke >/var/lib/kafka/smoke-marker' ||
    fail "uid 1001 cannot write its volume"
  k exec kafka-0 -- test -f /var/lib/kafka/data/meta.properties ||
    fail "the entrypoint did not format the storage on the volume"
  [[ -f $volume_dir/smoke-marker && -f $volume_dir/data/meta.properties ]] ||
    fail "what the pod wrote is not in $volume_dir on the node"
  log "claim Bound to $pv ($volume_dir), written by uid 1001"
  k exec kafka-0 -- grep -qx 'broker.rack=zone-a' /tmp/kopfka/server.properties ||
    fail "the rack did not come from the node's zone label"

  # DNS and Services from another pod.
  wait_for "pod client to be Ready" pod_ready client
  local broker_ip resolved
  broker_ip=$(k get pod kafka-0 -o jsonpath='{.status.podIP}')
  resolved=$(k exec client -- getent hosts "$BROKER_DNS" | awk '{ print $1 }')
  [[ $resolved == "$broker_ip" ]] || fail "$BROKER_DNS resolves to '$resolved', not $broker_ip"
  resolved=$(k exec client -- getent hosts "kubernetes.default.svc.$DOMAIN" | awk '{ print $1 }')
  [[ $resolved == "$(kubectl get service kubernetes -o jsonpath='{.spec.clusterIP}')" ]] ||
    fail "kubernetes.default resolves to '$resolved'"
  k exec client -- bash -c "exec 3<>/dev/tcp/$resolved/443" ||
    fail "the API server's Service IP $resolved:443 is not reachable from a pod"
  log "$BROKER_DNS resolves to the broker's pod IP; the API server's Service IP answers"
  topics --create --topic smoke --partitions 3 --replication-factor 1 >/dev/null ||
    fail "creating a topic through $BROKER_DNS:9092"
  topic_listed || fail "topic smoke not listed"
  log "topic created and listed through the pod network"

  # The pod comes back on the same volume, with its data.
  local old_uid
  old_uid=$(pod_uid kafka-0)
  start=$SECONDS
  k delete pod kafka-0 --wait=false >/dev/null
  wait_for "a new pod kafka-0" pod_replaced "$old_uid"
  wait_for "the new pod kafka-0 to be Ready" pod_ready kafka-0
  log "recreated broker pod Ready after $((SECONDS - start))s"
  [[ $(k exec kafka-0 -- cat /var/lib/kafka/smoke-marker) == smoke ]] ||
    fail "the recreated pod does not find its data"
  wait_for "topic smoke after the restart" topic_listed
  log "recreated pod found its data and its topic"

  # Deleting the claim deletes the volume's directory (local-path's helper pod).
  kubectl delete namespace "$NS" --wait=true --timeout="${TIMEOUT}s" >/dev/null
  wait_for "PV $pv to be deleted" pv_gone "$pv"
  [[ ! -e $volume_dir ]] || fail "$volume_dir is still on the node after its PV was deleted"
  log "namespace deleted; the volume's directory is gone"
  log "OK (broker Ready in ${ready_s}s)"
}

main "$@"
