#!/usr/bin/env bash
# Usage: broker-image/dev/local-cluster.sh [--controllers N] [--brokers M] [--version V] [--dir DIR]
#
# Runs a KRaft cluster as local processes through the broker image's own entrypoint, for poking
# at the runtime by hand, in the foreground until Ctrl-C. It is the Kafka tier's own launcher
# (tests/kafka/localkafka.py): the config files and container environment come from render/, as
# a KafkaCluster's pods get them, so what you poke at is what the operator ships. Defaults: 3
# controllers and 3 brokers; --brokers 0 makes the controllers combined nodes. Needs root (a
# mount namespace per node, pod names in /etc/hosts) and the venv (`make venv`).
set -euo pipefail

repo=$(cd "$(dirname "$0")/../.." && pwd)
cd "$repo"
exec .venv/bin/python -m tests.kafka.localkafka "$@"
