# Replica moves of a rebalance (issue 13): kopfka's plan and Kafka's own
# `kafka-reassign-partitions --generate`, each against the fewest moves balance needs, on local
# KRaft clusters started as the Kafka tier starts them (bench/rebalance.py, docs/rebalance.md
# "Benchmark"); kopfka's plan is then carried out by `kopfka rebalance-apply` under an acks=all
# producer, timed, and checked for balance and lost records. Needs root. About 7 minutes a round
# on a heavily shared 2-core machine (20 for the 3 rounds); writes bench/results/rebalance.json.
BENCH_REBALANCE_ROUNDS ?= 3

.PHONY: bench-rebalance
bench-rebalance: $(STAMP)  ## replica moves: kopfka's plan vs kafka-reassign-partitions --generate vs the minimum; the rebalance under load
	hack/kafka-libs.sh >/dev/null
	broker-image/agent/build.sh >/dev/null
	broker-image/jmx-exporter.sh >/dev/null
	$(PY) -m bench.rebalance --rounds $(BENCH_REBALANCE_ROUNDS) --output bench/results/rebalance.json
