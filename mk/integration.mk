# The integration tier: the operator (`kopfka run`, a real process) against a real control plane
# (etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kwok nodes) that the tier starts
# and stops itself (tests/integration/controlplane.py). The operator runs there with
# KOPFKA_DRIFT_INTERVAL=5 and KOPFKA_TOPIC_RECHECK_INTERVAL=3 (seconds) so that its periodic runs act
# within a test; production defaults are 60 and 30.
INTEGRATION_TEST_TIMEOUT ?= 600
BENCH_CLUSTERS ?= 50
BENCH_CLUSTERS_LARGE ?= 200
BENCH_SHAPE ?= 3+3
BENCH_STEADY_SECONDS ?= 300

.PHONY: test-integration bench-integration

# The tools are built first, outside pytest's per-test timeout: a cold build takes long. cert-manager's
# controller (hack/cert-manager.sh) runs only in the sessions that use it, but is built here too.
test-integration: $(STAMP)  ## operator against a real control plane with kwok nodes (builds the tools)
	hack/build-tools.sh
	hack/cert-manager.sh
	hack/lua.sh
	$(PY) -m pytest tests/integration --timeout=$(INTEGRATION_TEST_TIMEOUT)

bench-integration: $(STAMP)  ## 50, then 200 KafkaClusters at once: time to children and Ready, requests per reconcile, RSS, steady writes
	hack/build-tools.sh
	$(PY) -m bench.integration --clusters $(BENCH_CLUSTERS) --shape $(BENCH_SHAPE) \
		--steady $(BENCH_STEADY_SECONDS) --output bench/results/integration.json
	$(PY) -m bench.integration --clusters $(BENCH_CLUSTERS_LARGE) --shape $(BENCH_SHAPE) \
		--steady $(BENCH_STEADY_SECONDS) --output bench/results/integration-200.json

