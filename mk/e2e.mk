# The e2e tier's real node (docs/e2e.md): a local control plane (kwokctl, no simulated nodes)
# and one real node on this host (containerd, kubelet, kube-proxy, CoreDNS, local-path-provisioner),
# everything built from the package registries and cached under $(KOPFKA_CACHE). Needs root.
#
#   make e2e-up && export KUBECONFIG=$$(e2e/node.sh kubeconfig)
#   make e2e-smoke          brings the node up if needed, leaves it running
#   make e2e-down           stops everything e2e-up started
#   make test-e2e-smoke     down, up, smoke test, down (also when the test fails)
#   make test-e2e           down, up, smoke test, the e2e suite (e2e/suite), down: what CI runs

.PHONY: e2e-build e2e-up e2e-down e2e-status e2e-smoke test-e2e-smoke e2e-suite test-e2e

e2e-build:  ## build the e2e node's kubelet, kube-proxy, CoreDNS, local-path-provisioner, crictl and images
	e2e/build.sh

# The broker images (both served Kafka releases: the upgrade test rolls one onto the other) are
# imported into the node; the operator image too when it has been built.
e2e-up: broker-images  ## start a local control plane and a real node on this host (root); prints the kubeconfig path
	e2e/node.sh up

e2e-down:  ## stop the e2e node and its control plane and undo their host changes
	e2e/node.sh down

e2e-status:  ## the e2e node's processes with their memory, the node and the system pods
	e2e/node.sh status

e2e-smoke: e2e-up  ## the broker image as a StatefulSet pod on the e2e node: Ready, PVC, DNS, restart with its data
	e2e/smoke.sh

# The test targets start from nothing: a node or control plane left by an earlier run that was
# killed (its kubelet gone, its API server still serving old objects) is stopped first, so a test
# never runs against half of someone else's node.
test-e2e-smoke: broker-image  ## e2e-down, e2e-up, e2e-smoke and e2e-down, the node stopped even when a step fails
	status=0; e2e/node.sh down >/dev/null && e2e/node.sh up >/dev/null && e2e/smoke.sh || status=$$?; \
	e2e/node.sh down; exit $$status

# The suite's monitoring test runs a Prometheus server on this host (e2e/suite/prometheus.py).
e2e-suite: $(STAMP) e2e-up operator-image  ## the e2e suite (kopfka installed by its chart, a real cluster's life) on the running node
	hack/build-tools.sh prometheus
	e2e/node.sh images >/dev/null
	$(PY) -m pytest e2e/suite

test-e2e: $(STAMP) broker-images operator-image  ## e2e-down, e2e-up, the smoke test, the e2e suite and e2e-down, the node stopped even when a step fails
	hack/build-tools.sh prometheus
	status=0; e2e/node.sh down >/dev/null && e2e/node.sh up >/dev/null && e2e/smoke.sh && \
	  $(PY) -m pytest e2e/suite || status=$$?; \
	e2e/node.sh down; exit $$status
