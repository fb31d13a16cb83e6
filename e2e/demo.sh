#!/usr/bin/env bash
# `make demo`: kopfka on a real node of this machine, with a Kafka cluster, a topic and two
# applications using it. `make demo` builds what it needs first (tools, images, the node's
# parts; cached under $KOPFKA_CACHE), then runs `e2e/demo.sh up`.
#
#   e2e/demo.sh up      start the node (e2e/node.sh), install kopfka with its Helm chart, create
#                       the demo cluster (3 nodes), its topic and the example producer and consumer
#                       in namespace kopfka-demo; shows progress; safe to run again
#   e2e/demo.sh down    remove the demo, uninstall kopfka, stop the node (e2e/node.sh down)
#
# Environment: KOPFKA_CACHE (default ~/.cache/kopfka), KOPFKA_DEMO_TIMEOUT (seconds to wait for
# the cluster, default 600). Needs root, like the node.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$E2E_DIR")
CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
BIN=$CACHE/bin
TIMEOUT=${KOPFKA_DEMO_TIMEOUT:-600}
NS=kopfka-demo
OPERATOR_NS=kopfka-system
RELEASE=kopfka
CLUSTER=demo
TOPIC=greetings

log() { echo "demo: $*" >&2; }
die() {
  echo "demo: error: $*" >&2
  exit 1
}

kubectl() { "$BIN/kubectl" "$@"; }
helm() { "$BIN/helm" "$@"; }

# The demo's Kafka objects, and the example applications of manifests/examples, which are
# deployed once the cluster is Ready, as application teams deploy against a running cluster.
kafka_files=("$E2E_DIR/demo/kafkacluster.yaml" "$E2E_DIR/demo/kafkatopic.yaml")
app_files=("$REPO/manifests/examples/producer.yaml" "$REPO/manifests/examples/consumer.yaml")

jsonpath() { kubectl -n "$NS" get "$1" "$2" -o "jsonpath=$3" 2>/dev/null || true; }

# Prints the cluster's Ready condition each time it changes, until it is True or time is up.
wait_cluster_ready() {
  local start=$SECONDS deadline=$((SECONDS + TIMEOUT)) seen="" now status
  while ((SECONDS < deadline)); do
    status=$(jsonpath kafkacluster "$CLUSTER" \
      '{.status.conditions[?(@.type=="Ready")].status}')
    now=$(jsonpath kafkacluster "$CLUSTER" \
      '{.status.conditions[?(@.type=="Ready")].reason}: {.status.conditions[?(@.type=="Ready")].message}')
    if [[ $now != "$seen" && $now != ": " ]]; then
      log "  $((SECONDS - start))s  KafkaCluster $CLUSTER Ready=${status:-?} ${now}"
      seen=$now
    fi
    [[ $status == True ]] && return 0
    sleep 2
  done
  kubectl -n "$NS" get pods -o wide >&2 || true
  die "the cluster was not Ready after ${TIMEOUT}s (kubectl -n $NS describe kafkacluster $CLUSTER)"
}

# Waits until the consumer has printed a message the producer wrote: the applications work.
wait_messages_flow() {
  local start=$SECONDS deadline=$((SECONDS + TIMEOUT)) line
  while ((SECONDS < deadline)); do
    line=$(kubectl -n "$NS" logs deployment/greetings-consumer 2>/dev/null | grep -m1 '^greeting ' || true)
    if [[ -n $line ]]; then
      log "  the consumer read \"$line\" $((SECONDS - start))s after both were available"
      return 0
    fi
    sleep 1
  done
  die "the consumer printed no message after ${TIMEOUT}s (kubectl -n $NS logs deployment/greetings-producer)"
}

wait_deployment() {
  kubectl -n "$NS" rollout status "deployment/$1" --timeout="${TIMEOUT}s" >/dev/null ||
    die "deployment $1 did not become available"
}

cmd_up() {
  ((EUID == 0)) || die "run as root (the node runs containerd and a kubelet on this host)"
  log "starting the node (e2e/node.sh up)"
  "$E2E_DIR/node.sh" up >/dev/null
  export KUBECONFIG
  KUBECONFIG=$("$E2E_DIR/node.sh" kubeconfig)

  log "installing kopfka with its Helm chart (release $RELEASE in $OPERATOR_NS)"
  helm upgrade --install "$RELEASE" "$REPO/charts/kopfka" --namespace "$OPERATOR_NS" \
    --create-namespace --wait --timeout "${TIMEOUT}s" >/dev/null

  kubectl get namespace "$NS" >/dev/null 2>&1 || kubectl create namespace "$NS" >/dev/null
  log "applying the demo cluster and its topic to $NS"
  local file
  for file in "${kafka_files[@]}"; do
    kubectl -n "$NS" apply -f "$file" >/dev/null
  done
  wait_cluster_ready
  log "  bootstrap address: $(jsonpath kafkacluster "$CLUSTER" '{.status.bootstrapServers}')"
  log "deploying the example producer and consumer"
  for file in "${app_files[@]}"; do
    kubectl -n "$NS" apply -f "$file" >/dev/null
  done
  wait_deployment greetings-producer
  wait_deployment greetings-consumer
  wait_messages_flow
  summary
}

summary() {
  cat <<EOF

kopfka is running, with a 3-node Kafka cluster and two applications using it.

  export KUBECONFIG=$KUBECONFIG PATH=$BIN:\$PATH
  kubectl -n $NS get kafkaclusters,kafkatopics,pods

Watch the messages flow (the consumer prints what the producer writes, one a second):
  kubectl -n $NS logs -f deployment/greetings-consumer

Produce and consume by hand, from a pod beside the cluster:
  kubectl -n $NS run kafka-shell -it --rm --restart=Never --image=kopfka/kafka:4.4.0 --command -- bash
  # then, inside it:
  java -cp '/opt/kafka/libs/*' org.apache.kafka.tools.ConsoleProducer \\
    --bootstrap-server $CLUSTER-kafka-bootstrap:9092 --topic $TOPIC
  java -cp '/opt/kafka/libs/*' org.apache.kafka.tools.consumer.ConsoleConsumer \\
    --bootstrap-server $CLUSTER-kafka-bootstrap:9092 --topic $TOPIC --from-beginning

Things to try: delete a pod (kubectl -n $NS delete pod $CLUSTER-nodes-1) and watch the consumer
carry on; kubectl -n $OPERATOR_NS logs deployment/$RELEASE for the operator's side.
Remove it all: make demo-down
EOF
}

cmd_down() {
  ((EUID == 0)) || die "run as root"
  if KUBECONFIG=$("$E2E_DIR/node.sh" kubeconfig 2>/dev/null); then
    export KUBECONFIG
    log "removing the demo and uninstalling kopfka"
    kubectl delete namespace "$NS" --ignore-not-found --wait=false >/dev/null || true
    helm uninstall "$RELEASE" --namespace "$OPERATOR_NS" --ignore-not-found >/dev/null || true
  fi
  log "stopping the node (e2e/node.sh down)"
  "$E2E_DIR/node.sh" down
}

case ${1:-} in
  up) cmd_up ;;
  down) cmd_down ;;
  *) sed -n '/^#   e2e\/demo.sh up/,/^#   e2e\/demo.sh down/p' "${BASH_SOURCE[0]}" >&2 && exit 2 ;;
esac
