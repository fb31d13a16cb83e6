#!/usr/bin/env bash
# `make chart-check`: the chart and the plain manifests, checked without a cluster and offline.
#
#   1. The generated files are current: crds/, charts/kopfka/crds/ and manifests/install.yaml
#      are made again in a temporary directory (as `make manifests` would) and must not differ.
#   2. helm lint --strict with the default values and with each charts/kopfka/ci/*-values.yaml.
#   3. kubeconform -strict over `helm template` of each of those value sets (both RBAC modes, and
#      every value away from its default), every manifest under manifests/ and e2e/demo/, and
#      what each kustomization under manifests/ builds. The schemas come from
#      hack/crd-json-schemas.py: Kubernetes' kinds from the kubernetes-validate package,
#      kopfka's from the CRDs (kubeconform would otherwise download them). A kind without a
#      schema is an error, not skipped, but for the Prometheus Operator's kinds (4).
#   4. The same value sets rendered as for a cluster with the Prometheus Operator
#      (`--api-versions monitoring.coreos.com/v1`), validated without its PodMonitor,
#      ServiceMonitor and PrometheusRule: no package registry ships their CRDs, so
#      tests/chart/test_monitoring.py checks what they select and carry instead.
#   5. promtool: the alert rules the chart ships (charts/kopfka/files/alerts.rules.yaml) are
#      valid, and their unit tests (tests/chart/alerts.test.yaml) pass.
#
# Needs helm, kubeconform, kubectl and promtool (hack/build-tools.sh) and the .venv (make venv).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"
BIN=${KOPFKA_CACHE:-$HOME/.cache/kopfka}/bin
PY=${PY:-$REPO/.venv/bin/python}
CHART=charts/kopfka
HELM=$BIN/helm

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() {
  echo "chart-check: $*" >&2
  exit 1
}

echo "== generated files are current"
"$PY" -m kopfka.model.crds "$work/generated/crds"
HELM=$HELM hack/manifests.sh "$work/generated/crds" "$work/generated" >/dev/null
stale=0
for path in crds charts/kopfka/crds manifests/install.yaml; do
  diff -r -u "$path" "$work/generated/$path" || stale=1
done
((stale == 0)) || fail "generated files are stale (diff above): run make manifests"

value_sets=("")
for values in "$CHART"/ci/*-values.yaml; do
  value_sets+=("$values")
done

echo "== helm lint"
for values in "${value_sets[@]}"; do
  echo "values: ${values:-defaults}"
  "$HELM" lint --strict "$CHART" ${values:+--values "$values"}
done

echo "== kubeconform"
"$PY" hack/crd-json-schemas.py --crds crds --out "$work/schemas"
kubeconform=(
  "$BIN/kubeconform" -strict -summary
  -schema-location "$work/schemas/kubernetes/{{ .ResourceKind }}{{ .KindSuffix }}.json"
  -schema-location "$work/schemas/crds/{{ .ResourceKind }}{{ .KindSuffix }}.json"
)
mkdir "$work/rendered" "$work/rendered-monitoring"
for values in "${value_sets[@]}"; do
  name=$(basename "${values:-default}" .yaml)
  "$HELM" template kopfka "$CHART" --namespace kopfka-system ${values:+--values "$values"} \
    >"$work/rendered/$name.yaml"
  "$HELM" template kopfka "$CHART" --namespace kopfka-system ${values:+--values "$values"} \
    --api-versions monitoring.coreos.com/v1 >"$work/rendered-monitoring/$name.yaml"
done
"${kubeconform[@]}" "$work/rendered"
echo "with the Prometheus Operator's API (its kinds skipped):"
"${kubeconform[@]}" -skip PodMonitor,ServiceMonitor,PrometheusRule "$work/rendered-monitoring"
# Kustomizations are kustomize's input, not Kubernetes objects: what they build is checked.
mapfile -t manifests < <(find manifests e2e/demo -name '*.yaml' ! -name kustomization.yaml | sort)
"${kubeconform[@]}" "${manifests[@]}"
while read -r kustomization; do
  dir=$(dirname "$kustomization")
  "$BIN/kubectl" kustomize "$dir" >"$work/kustomized.yaml"
  echo "$dir (kustomize):"
  "${kubeconform[@]}" "$work/kustomized.yaml"
done < <(find manifests -name kustomization.yaml | sort)

echo "== promtool"
"$BIN/promtool" check rules "$CHART/files/alerts.rules.yaml"
"$BIN/promtool" test rules tests/chart/alerts.test.yaml
