# kopfka's pods on the e2e node against the same Kafka processes bare on this host: apply -> Ready
# against a bare start, and producer throughput through the bootstrap Service against the bare
# cluster (bench/e2e.py, docs/e2e.md "Benchmark"). Needs root. Brings the e2e node up if it is
# down and leaves it running (`make e2e-down` stops it). Refuses to share the node with another
# kopfka operator that watches every namespace (the demo's, for one): it waits up to
# BENCH_E2E_OTHERS_TIMEOUT seconds for it to go. One round took 10 minutes on a busy 2-core machine;
# writes bench/results/e2e.json.
BENCH_E2E_ROUNDS ?= 3
BENCH_E2E_RECORDS ?= 60000
BENCH_E2E_WARMUP ?= 30000
BENCH_E2E_OTHERS_TIMEOUT ?= 600

.PHONY: bench-e2e
bench-e2e: $(STAMP) e2e-up operator-image  ## apply -> Ready and producer throughput: kopfka's pods on the e2e node vs the same Kafka bare
	hack/kafka-libs.sh >/dev/null
	broker-image/agent/build.sh >/dev/null
	broker-image/jmx-exporter.sh >/dev/null
	e2e/node.sh images >/dev/null
	$(PY) -m bench.e2e --rounds $(BENCH_E2E_ROUNDS) --records $(BENCH_E2E_RECORDS) \
		--warmup-records $(BENCH_E2E_WARMUP) --others-timeout $(BENCH_E2E_OTHERS_TIMEOUT) \
		--output bench/results/e2e.json
