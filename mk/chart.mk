# The Helm chart (charts/kopfka) and the plain manifests made from it (manifests/). The CRDs
# have one source, the model: `make manifests` regenerates crds/, copies them into the chart, and
# renders manifests/install.yaml from the chart with its default values (hack/manifests.sh).

.PHONY: manifests chart-check

manifests: crds  ## regenerate crds/, charts/kopfka/crds/ and manifests/install.yaml
	hack/build-tools.sh helm
	hack/manifests.sh

chart-check: $(STAMP)  ## helm lint, kubeconform -strict (offline schemas) over the chart and manifests/, generated files current, promtool on the alert rules, template tests
	hack/build-tools.sh helm kubeconform kubectl promtool
	PY=$(PY) hack/chart-check.sh
	$(PY) -m pytest tests/chart
