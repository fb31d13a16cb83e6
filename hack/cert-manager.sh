#!/usr/bin/env bash
# Builds cert-manager's controller for the integration tier, which runs it against its own control
# plane so that kopfka is tested with certificates that cert-manager really issues.
#
#   hack/cert-manager.sh        prints the directory below on its last stdout line
#
# cert-manager's release binary is a module of its own that the Go module proxy does not serve,
# and its images come from a container registry; its main module, with every controller and the
# CRDs, is served. So hack/cert-manager/ holds a small main of ours that links the controllers
# (its go.mod pins the cert-manager version), and this script builds it and copies the CRDs of
# the four kinds it serves from the same module version into
#
#   $KOPFKA_CACHE/cert-manager-<version>/
#     cert-manager-controller
#     crds/cert-manager.io_{certificates,certificaterequests,issuers,clusterissuers}.yaml
#     source.sha256            hash of hack/cert-manager's files the binary was built from
#
# Nothing of cert-manager's is kept in the repository. A second run finds the directory complete
# and does nothing; a changed main (another hash) is rebuilt. Go's module and build caches are
# build-tools.sh's, under $KOPFKA_CACHE/go. Concurrent runs wait for each other on a flock.
set -euo pipefail

HACK_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SOURCE=$HACK_DIR/cert-manager
MODULE=github.com/cert-manager/cert-manager
CRD_KINDS=(certificates certificaterequests issuers clusterissuers)

CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
GO_DIR=$CACHE/go

die() {
  echo "cert-manager: error: $*" >&2
  exit 1
}
log() { echo "cert-manager: $*" >&2; }

VERSION=$(awk -v m="$MODULE" '$1 == m { print $2 }' "$SOURCE/go.mod")
[[ -n $VERSION ]] || die "$SOURCE/go.mod does not require $MODULE"
DEST=$CACHE/cert-manager-$VERSION
BINARY=$DEST/cert-manager-controller

# Names and contents, so that a renamed or added file also counts as a change.
source_hash() { (cd "$SOURCE" && sha256sum go.mod go.sum ./*.go | sha256sum | cut -c1-16); }
HASH=$(source_hash)

complete() {
  local kind
  [[ -x $BINARY && $(cat "$DEST/source.sha256" 2>/dev/null) == "$HASH" ]] || return 1
  for kind in "${CRD_KINDS[@]}"; do
    [[ -s $DEST/crds/cert-manager.io_$kind.yaml ]] || return 1
  done
}

build() {
  local module_dir kind start=$SECONDS partial=$BINARY.tmp.$$
  # shellcheck disable=SC2064  # expanded now, as in build-tools.sh
  trap "rm -f $(printf '%q' "$partial") $(printf '%q' "$DEST")/crds/.*.tmp.$$" EXIT
  log "building cert-manager $VERSION's controller (a cold build takes several minutes)"
  mkdir -p "$DEST/crds"
  # The source hash goes last, so an interrupted run is never taken for a complete one.
  rm -f "$DEST/source.sha256"
  (
    cd "$SOURCE"
    go mod download "$MODULE"
    module_dir=$(go list -m -f '{{.Dir}}' "$MODULE")
    for kind in "${CRD_KINDS[@]}"; do
      local crd=cert-manager.io_$kind.yaml
      [[ -s $module_dir/deploy/crds/$crd ]] || die "$MODULE@$VERSION has no deploy/crds/$crd"
      install -m 0644 "$module_dir/deploy/crds/$crd" "$DEST/crds/.$crd.tmp.$$"
      mv -f "$DEST/crds/.$crd.tmp.$$" "$DEST/crds/$crd"
    done
    # The version goes where cert-manager's own release build puts it (make/00_mod.mk); it is
    # in the controllers' user agent and the first log line.
    go build -trimpath -o "$partial" \
      -ldflags "-s -w -X $MODULE/pkg/util.AppVersion=$VERSION" .
  )
  local reported
  reported=$("$partial" --version 2>&1) || true
  [[ $reported == "$VERSION" ]] ||
    die "the built controller reports '$reported', not $VERSION; has pkg/util.AppVersion moved?"
  mv -f "$partial" "$BINARY"
  echo "$HASH" >"$DEST/source.sha256"
  log "built cert-manager $VERSION's controller in $((SECONDS - start))s"
}

main() {
  if ! complete; then
    command -v go >/dev/null || die "go is not on PATH; cert-manager $VERSION needs Go 1.26 or newer"
    mkdir -p "$CACHE/locks" "$GO_DIR"
    export GOPATH=$GO_DIR GOMODCACHE=$GO_DIR/pkg/mod GOCACHE=$GO_DIR/cache
    # As in build-tools.sh: writable module cache, the caller's Go settings ignored, a static
    # binary; -buildvcs=false because the main module sits in this repository's checkout.
    export GOFLAGS="-modcacherw -buildvcs=false" GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0
    export GO111MODULE=on
    (
      flock 9
      # A run that waited for the lock finds the work done.
      complete || build
    ) 9>"$CACHE/locks/cert-manager-$VERSION.lock"
  fi
  echo "$DEST"
}

main "$@"
