#!/usr/bin/env bash
# Builds the pinned upstream tools (hack/versions.env) from the Go module proxy, because
# the module proxy is the only source of these tools that every machine here can reach.
#
#   hack/build-tools.sh [tool ...]      no tool: every default tool
#
# Each tool lands in $KOPFKA_CACHE/bin/<tool>-<version> (skipped when already there), with a
# stable symlink $KOPFKA_CACHE/bin/<tool> to it so that callers need one PATH entry. Go's
# module and build caches live under $KOPFKA_CACHE/go, so a rebuild reuses them. Concurrent
# runs are safe: each build holds a flock, and a run that waited finds the binary and skips.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=hack/versions.env
source "$HACK_DIR/versions.env"

CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
BIN=$CACHE/bin
GO_DIR=$CACHE/go

DEFAULT_TOOLS=(
  kube-apiserver kube-controller-manager kube-scheduler kubectl etcd kwok kwokctl helm kubeconform
)
# Built when asked for by name: only the e2e tier's real node runs kubelet and kube-proxy, only
# `make chart-check` promtool, and only the e2e tier's monitoring test the Prometheus server.
OPTIONAL_TOOLS=(kubelet kube-proxy promtool prometheus)

die() {
  echo "build-tools: error: $*" >&2
  exit 1
}
log() { echo "build-tools: $*" >&2; }

version_of() {
  case $1 in
    kube-apiserver | kube-controller-manager | kube-scheduler | kubectl | kubelet | kube-proxy)
      echo "$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok | kwokctl) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    kubeconform) echo "$KUBECONFORM_VERSION" ;;
    promtool | prometheus) echo "$PROMETHEUS_VERSION" ;;
    *) return 1 ;;
  esac
}

# Path of a module version's go.mod in the module cache (downloads it if needed). Run outside
# any module: a wrapper module whose requirements do not resolve yet cannot answer `go list`.
gomod_of() { (cd / && go list -m -f '{{.GoMod}}' "$1"); }

# k8s.io/kubernetes requires its staging modules (k8s.io/api, k8s.io/client-go, ...) at v0.0.0
# and replaces them with ./staging/src/...; replace directives only count in the main module,
# so `go install k8s.io/kubernetes/cmd/x@v` refuses. A wrapper module that requires
# k8s.io/kubernetes and maps each of those modules to its published v0.<minor>.<patch> builds.
# The list comes from the downloaded go.mod, so a new release's new staging module is covered.
prepare_kubernetes_module() {
  local dir=$1 gomod staging_version modules
  gomod=$(gomod_of "k8s.io/kubernetes@$KUBERNETES_VERSION")
  staging_version=v0.${KUBERNETES_VERSION#v1.}
  modules=$(awk '$1 ~ /^k8s\.io\// && $2 == "v0.0.0" { print $1 }' "$gomod")
  [[ -n $modules ]] ||
    die "found no k8s.io/* v0.0.0 requirements in $gomod; has k8s.io/kubernetes' layout changed?"
  # Written aside and moved into place, so an interrupted run never leaves a half-made module.
  rm -rf "$dir.tmp"
  mkdir -p "$dir.tmp"
  (
    cd "$dir.tmp"
    go mod init kopfka.dev/tools/kubernetes
    go mod edit -require="k8s.io/kubernetes@$KUBERNETES_VERSION"
    local m
    for m in $modules; do
      go mod edit -replace="$m=$m@$staging_version"
    done
  )
  mv -T "$dir.tmp" "$dir"
}

# The same ldflags as Kubernetes' hack/lib/version.sh, so that `kube-apiserver --version` and
# `kubectl version` report the real version instead of v0.0.0 (kwokctl and clients read it).
kubernetes_ldflags() {
  local minor=${KUBERNETES_VERSION#v1.} flags=() pkg
  minor=${minor%%.*}
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    flags+=(
      "-X $pkg.gitVersion=$KUBERNETES_VERSION"
      "-X $pkg.gitMajor=1"
      "-X $pkg.gitMinor=$minor"
      "-X $pkg.gitTreeState=clean"
      "-X $pkg.buildDate=$(date -u +%Y-%m-%dT%H:%M:%SZ)"
    )
  done
  echo "-s -w ${flags[*]}"
}

build_kubernetes() {
  local tool=$1 out=$2 dir=$GO_DIR/wrappers/kubernetes-$KUBERNETES_VERSION
  [[ -d $dir ]] || prepare_kubernetes_module "$dir"
  (cd "$dir" && go build -mod=mod -trimpath -ldflags "$(kubernetes_ldflags)" -o "$out" \
    "k8s.io/kubernetes/cmd/$tool")
  local reported
  if [[ $tool == kubectl ]]; then
    reported=$("$out" version --client 2>&1 || true)
  else
    reported=$("$out" --version 2>&1 || true)
  fi
  [[ $reported == *"$KUBERNETES_VERSION"* ]] ||
    die "$tool reports '$reported', not $KUBERNETES_VERSION; did the version ldflags' package paths change?"
}

# go.etcd.io/etcd/server/v3 replaces its sibling modules with ../api etc., so, as for
# Kubernetes, only a wrapper module can build it; it needs no replaces of its own.
build_etcd() {
  local out=$1 dir=$GO_DIR/wrappers/etcd-$ETCD_VERSION
  if [[ ! -d $dir ]]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    (
      cd "$dir.tmp"
      go mod init kopfka.dev/tools/etcd
      go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
    )
    mv -T "$dir.tmp" "$dir"
  fi
  (cd "$dir" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$out" go.etcd.io/etcd/server/v3)
}

# `go install pkg@version` is the upstream-supported way for modules without replaces; it can
# only write to GOBIN, so it installs into $out.gobin (which ensure_tool cleans up on failure)
# and moves the result to $out. An optional fourth argument gives build tags.
go_install() {
  local pkg=$1 out=$2 ldflags=$3 tags=${4:-} gobin=$2.gobin
  mkdir -p "$gobin"
  GOBIN=$gobin go install -trimpath -tags "$tags" -ldflags "-s -w $ldflags" "$pkg"
  mv -f "$gobin/$(basename "${pkg%@*}")" "$out"
  rmdir "$gobin"
}

build_tool() {
  local tool=$1 out=$2
  case $tool in
    kube-* | kubectl | kubelet) build_kubernetes "$tool" "$out" ;;
    etcd) build_etcd "$out" ;;
    kwok | kwokctl)
      # KubeVersion is kwokctl's default Kubernetes version; make it the one we build.
      go_install "sigs.k8s.io/kwok/cmd/$tool@$KWOK_VERSION" "$out" \
        "-X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBERNETES_VERSION#v}" ;;
    helm)
      # Helm's Makefile derives the Kubernetes version it assumes for charts (Capabilities)
      # from the client-go it links; without these flags it falls back to an old default.
      local client_go major minor
      client_go=$(awk '$1 == "k8s.io/client-go" { print $2 }' "$(gomod_of "helm.sh/helm/v3@$HELM_VERSION")")
      major=$(($(cut -d. -f1 <<<"${client_go#v}") + 1))
      minor=$(cut -d. -f2 <<<"$client_go")
      go_install "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" "$out" "$(printf -- '-X %s ' \
        "helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
        "helm.sh/helm/v3/internal/version.gitTreeState=clean" \
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$major" \
        "helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$minor" \
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$major" \
        "helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$minor")" ;;
    kubeconform)
      go_install "github.com/yannh/kubeconform/cmd/kubeconform@$KUBECONFORM_VERSION" "$out" \
        "-X main.version=$KUBECONFORM_VERSION" ;;
    promtool | prometheus)
      # The module's v0.3XX.Y tags stand for Prometheus 3.XX.Y: the release's own VERSION file
      # says which, and goes where Prometheus' release build (promu) puts it. remove_all_sd is
      # Prometheus' own build tag that leaves out every service discovery but file and http
      # (the cloud SDKs are most of the build time), which checking and testing rules never
      # uses; the server keeps Kubernetes' with its enable_kubernetes_sd tag (plugins/
      # plugin_kubernetes.go), which the e2e tier's Prometheus finds the pods with. Without the
      # builtinassets tag the server has no web UI, and its HTTP API is all the tests use.
      local module=github.com/prometheus/prometheus@$PROMETHEUS_VERSION release tags=remove_all_sd
      if [[ $tool == prometheus ]]; then tags+=,enable_kubernetes_sd; fi
      release=$(<"$(cd / && go mod download "$module" && go list -m -f '{{.Dir}}' "$module")/VERSION")
      go_install "github.com/prometheus/prometheus/cmd/$tool@$PROMETHEUS_VERSION" "$out" \
        "-X github.com/prometheus/common/version.Version=$release" "$tags" ;;
  esac
}

# Builds one tool unless it is there, under a lock shared by everything that writes the same
# wrapper module, then points the stable symlink at it.
ensure_tool() {
  local tool=$1 version lock
  version=$(version_of "$tool")
  local out=$BIN/$tool-$version
  case $tool in
    kube-* | kubectl | kubelet) lock=kubernetes-$version ;;
    *) lock=$tool-$version ;;
  esac
  if [[ ! -x $out ]]; then
    building="$tool $version"
    (
      # Build to a temporary name: an interrupted build must not leave a file that looks done.
      # Expanded now: at exit, the functions' own `out` variables would shadow this one.
      local partial=$out.tmp.$$
      # shellcheck disable=SC2064
      trap "rm -rf $(printf '%q ' "$partial" "$partial.gobin")" EXIT
      flock 9
      [[ -x $out ]] && exit 0
      log "building $tool $version"
      start=$SECONDS
      build_tool "$tool" "$partial"
      mv -f "$partial" "$out"
      log "built $tool $version in $((SECONDS - start))s"
    ) 9>"$CACHE/locks/$lock.lock"
    building=
  fi
  # Replace the symlink atomically, so a concurrent reader never finds it missing.
  ln -sfn "$tool-$version" "$BIN/.$tool.$$"
  mv -fT "$BIN/.$tool.$$" "$BIN/$tool"
}

# set -e ends the script at the first failing command; say which tool it was building.
building=
report_failure() {
  local status=$?
  if ((status != 0)) && [[ -n $building ]]; then
    echo "build-tools: error: building $building failed (exit $status); see the output above" >&2
  fi
}

main() {
  trap report_failure EXIT
  command -v go >/dev/null || die "go is not on PATH; these tools need Go 1.26 or newer"
  local tools=("$@") tool
  ((${#tools[@]})) || tools=("${DEFAULT_TOOLS[@]}")
  for tool in "${tools[@]}"; do
    version_of "$tool" >/dev/null ||
      die "unknown tool '$tool'; known: ${DEFAULT_TOOLS[*]} ${OPTIONAL_TOOLS[*]}"
  done

  mkdir -p "$BIN" "$CACHE/locks" "$GO_DIR"
  export GOPATH=$GO_DIR GOMODCACHE=$GO_DIR/pkg/mod GOCACHE=$GO_DIR/cache
  # Module cache files are read-only by default; -modcacherw keeps `rm -rf $KOPFKA_CACHE` working.
  # The rest makes the build independent of the caller's Go settings: no go.work, no toolchain
  # download, static binaries that run anywhere.
  export GOFLAGS=-modcacherw GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on

  for tool in "${tools[@]}"; do
    ensure_tool "$tool"
  done
}

main "$@"
