#!/usr/bin/env bash
# Builds everything the e2e node runs that is not part of the control plane, because no
# container registry or download site can be reached here: only the Go module proxy and the
# Debian archive. Binaries land in $KOPFKA_CACHE/bin/<tool>-<version> (with a <tool>
# symlink, as hack/build-tools.sh does), infrastructure images in $KOPFKA_CACHE/e2e/images/
# as OCI archives; both are skipped when already there.
#
#   e2e/build.sh            every part
#   e2e/build.sh PART...    kubernetes coredns local-path-provisioner crictl images
#
# kubernetes: the control plane, kubectl, kubelet and kube-proxy (hack/build-tools.sh).
# images: the pause, CoreDNS, local-path-provisioner and volume-helper images (builds their
# binaries first), and $KOPFKA_CACHE/e2e/images/images.env with their names and archives
# (<NAME>_IMAGE, <NAME>_ARCHIVE, <NAME>_DIGEST) for e2e/node.sh.
set -euo pipefail

E2E_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(dirname "$E2E_DIR")
# shellcheck source=hack/versions.env
source "$REPO/hack/versions.env"
# shellcheck source=e2e/versions.env
source "$E2E_DIR/versions.env"
# shellcheck source=e2e/lib/apt.sh
source "$E2E_DIR/lib/apt.sh"

CACHE=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
BIN=$CACHE/bin
GO_DIR=$CACHE/go
IMAGES=$CACHE/e2e/images
BUILD=$CACHE/e2e/build
PYTHON=${PYTHON:-python3}
# The Kubernetes binaries the node and its control plane need; kwok is not among them (the
# e2e cluster has no simulated nodes).
KUBERNETES_TOOLS=(etcd kube-apiserver kube-controller-manager kube-scheduler kwokctl kubectl
  kubelet kube-proxy)
PARTS=(kubernetes coredns local-path-provisioner crictl images)

die() {
  echo "e2e-build: error: $*" >&2
  exit 1
}
log() { echo "e2e-build: $*" >&2; }

go_env() {
  export GOPATH=$GO_DIR GOMODCACHE=$GO_DIR/pkg/mod GOCACHE=$GO_DIR/cache
  # The same isolation as hack/build-tools.sh: no go.work, no toolchain download, static binaries.
  export GOFLAGS=-modcacherw GOWORK=off GOTOOLCHAIN=local CGO_ENABLED=0 GO111MODULE=on
}

# Runs "$@" (which writes $partial) unless $out exists, under a lock per output, then moves the
# result into place and points the stable symlink $BIN/$tool at it.
build_once() {
  local tool=$1 version=$2
  shift 2
  local out=$BIN/$tool-$version
  mkdir -p "$BIN" "$CACHE/locks"
  if [[ ! -x $out ]]; then
    (
      flock 9
      [[ -x $out ]] && exit 0
      partial=$out.tmp.$$
      # shellcheck disable=SC2064  # expanded now, on purpose
      trap "rm -rf '$partial' '$partial.gobin'" EXIT
      log "building $tool $version"
      local start=$SECONDS
      "$@" "$partial"
      mv -f "$partial" "$out"
      log "built $tool $version in $((SECONDS - start))s"
    ) 9>"$CACHE/locks/$tool-$version.lock"
  fi
  ln -sfn "$tool-$version" "$BIN/.$tool.$$"
  mv -fT "$BIN/.$tool.$$" "$BIN/$tool"
}

# `go install` into a private GOBIN, then moved to the output path.
go_install_to() {
  local pkg=$1 ldflags=$2 out=$3
  mkdir -p "$out.gobin"
  GOBIN=$out.gobin go install -trimpath -ldflags "-s -w $ldflags" "$pkg"
  mv -f "$out.gobin/$(basename "${pkg%@*}")" "$out"
  rmdir "$out.gobin"
}

# CoreDNS's own main package links every plugin it ships, cloud DNS providers included (their
# SDKs are most of its build time and size). The node serves cluster.local only, so a small
# wrapper module links CoreDNS's server with just the plugins the Corefile in
# e2e/manifests/coredns.yaml uses; `-plugins` on the binary lists them.
build_coredns() {
  local out=$1 dir=$GO_DIR/wrappers/coredns-$COREDNS_VERSION
  if [[ ! -f $dir/main.go ]]; then
    rm -rf "$dir.tmp"
    mkdir -p "$dir.tmp"
    cat >"$dir.tmp/main.go" <<'EOF'
// CoreDNS with only the plugins the kopfka e2e node's cluster DNS uses (e2e/build.sh).
package main

import (
	"github.com/coredns/coredns/coremain"

	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/loadbalance"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() {
	coremain.Run()
}
EOF
    (
      cd "$dir.tmp"
      go mod init kopfka.dev/tools/coredns >/dev/null 2>&1
      go mod edit -require="github.com/coredns/coredns@$COREDNS_VERSION"
    )
    mv -T "$dir.tmp" "$dir"
  fi
  (cd "$dir" && go build -mod=mod -trimpath -ldflags "-s -w" -o "$out" .)
  "$out" -version | grep -q "${COREDNS_VERSION#v}" ||
    die "coredns reports '$("$out" -version)', not $COREDNS_VERSION"
}

build_local_path_provisioner() {
  go_install_to "github.com/rancher/local-path-provisioner@$LOCAL_PATH_PROVISIONER_VERSION" \
    "-X main.VERSION=$LOCAL_PATH_PROVISIONER_VERSION" "$1"
}

build_crictl() {
  go_install_to "sigs.k8s.io/cri-tools/cmd/crictl@$CRI_TOOLS_VERSION" \
    "-X sigs.k8s.io/cri-tools/pkg/version.Version=$CRI_TOOLS_VERSION" "$1"
}

# The pause image's version is the one Kubernetes' own build of it uses.
pause_version() {
  local makefile
  makefile=$(kubernetes_source)/build/pause/Makefile
  sed -n 's/^TAG ?= *//p' "$makefile"
}

kubernetes_source() {
  (cd / && go mod download -json "k8s.io/kubernetes@$KUBERNETES_VERSION" |
    sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
}

# The pause container holds a pod's namespaces and reaps zombies; Kubernetes ships its C
# source in the k8s.io/kubernetes module. Compiled static, as Kubernetes' own build does.
build_pause() {
  local version=$1 out=$2 src
  src=$(kubernetes_source)/build/pause/linux/pause.c
  [[ -f $src ]] || die "no $src in the k8s.io/kubernetes module"
  apt_install "$CACHE/e2e/apt.log" gcc libc6-dev
  gcc -Os -Wall -Werror -static -DVERSION="v$version-kopfka" -o "$out" "$src"
  strip "$out"
}

# Image names: the images are only ever imported, never pulled; docker.io/ is how containerd
# normalizes a name without a registry, so pods may say kopfka/pause:... as well.
image_name() { echo "docker.io/kopfka/$1:$2"; }

# Writes $IMAGES/<name>-<tag>.tar and <name>-<tag>.digest unless they are newer than every
# input (the binaries and the writer), and records the image in images.env. VAR names it there.
image_archive() {
  local var=$1 name=$2 tag=$3
  shift 3
  local archive=$IMAGES/$name-$tag.tar input fresh=1
  for input in "$E2E_DIR/lib/oci_image.py" "${IMAGE_INPUTS[@]}"; do
    [[ $archive -nt $input ]] || fresh=0
  done
  if ((!fresh)) || [[ ! -f $IMAGES/$name-$tag.digest ]]; then
    mkdir -p "$IMAGES"
    "$PYTHON" "$E2E_DIR/lib/oci_image.py" --name "$(image_name "$name" "$tag")" \
      --output "$archive" "$@" >"$IMAGES/$name-$tag.digest.tmp"
    mv -f "$IMAGES/$name-$tag.digest.tmp" "$IMAGES/$name-$tag.digest"
    log "wrote image $(image_name "$name" "$tag")"
  fi
  IMAGES_ENV+="${var}_IMAGE=$(image_name "$name" "$tag")
${var}_ARCHIVE=$archive
${var}_DIGEST=$(<"$IMAGES/$name-$tag.digest")
"
}

# The volume helper runs local-path-provisioner's setup and teardown scripts on the node: it
# needs a shell, mkdir, chmod and rm. Debian's busybox-static is one static binary with them.
busybox_binary() {
  apt_install "$CACHE/e2e/apt.log" busybox-static
  echo /bin/busybox
}

build_images() {
  local pause_tag busybox_tag busybox applet links=()
  pause_tag=$(pause_version)
  [[ -n $pause_tag ]] || die "no TAG in Kubernetes' build/pause/Makefile"
  mkdir -p "$BUILD"
  if [[ ! -x $BUILD/pause-$pause_tag ]]; then
    build_pause "$pause_tag" "$BUILD/pause-$pause_tag.tmp"
    mv -f "$BUILD/pause-$pause_tag.tmp" "$BUILD/pause-$pause_tag"
  fi
  IMAGES_ENV=''
  IMAGE_INPUTS=("$BUILD/pause-$pause_tag")
  image_archive PAUSE pause "$pause_tag" --file "$BUILD/pause-$pause_tag:/pause:0755" \
    --entrypoint /pause --user 65535:65535

  IMAGE_INPUTS=("$BIN/coredns-$COREDNS_VERSION")
  image_archive COREDNS coredns "${COREDNS_VERSION#v}" \
    --file "$BIN/coredns-$COREDNS_VERSION:/coredns:0755" --entrypoint /coredns

  IMAGE_INPUTS=("$BIN/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION")
  image_archive LOCAL_PATH_PROVISIONER local-path-provisioner "${LOCAL_PATH_PROVISIONER_VERSION#v}" \
    --file "$BIN/local-path-provisioner-$LOCAL_PATH_PROVISIONER_VERSION:/local-path-provisioner:0755" \
    --dir /tmp --entrypoint /local-path-provisioner

  busybox=$(busybox_binary)
  busybox_tag=$(dpkg-query -W -f '${Version}' busybox-static | sed 's/^[0-9]*://; s/-.*//')
  for applet in sh mkdir rmdir rm chmod chown ls cat echo test; do
    links+=(--symlink "/bin/$applet:busybox")
  done
  IMAGE_INPUTS=("$busybox")
  image_archive VOLUME_HELPER volume-helper "$busybox_tag" --file "$busybox:/bin/busybox:0755" "${links[@]}" \
    --dir /tmp --entrypoint /bin/sh --user 0:0
  printf '%s' "$IMAGES_ENV" >"$IMAGES/images.env.tmp"
  mv -f "$IMAGES/images.env.tmp" "$IMAGES/images.env"
}

main() {
  local parts=("$@") part
  ((${#parts[@]})) || parts=("${PARTS[@]}")
  command -v go >/dev/null || die "go is not on PATH; the node's tools need Go 1.26 or newer"
  go_env
  for part in "${parts[@]}"; do
    case $part in
      kubernetes) "$REPO/hack/build-tools.sh" "${KUBERNETES_TOOLS[@]}" ;;
      coredns) build_once coredns "$COREDNS_VERSION" build_coredns ;;
      local-path-provisioner)
        build_once local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" \
          build_local_path_provisioner ;;
      crictl) build_once crictl "$CRI_TOOLS_VERSION" build_crictl ;;
      images)
        build_once coredns "$COREDNS_VERSION" build_coredns
        build_once local-path-provisioner "$LOCAL_PATH_PROVISIONER_VERSION" \
          build_local_path_provisioner
        build_images ;;
      *) die "unknown part '$part'; known: ${PARTS[*]}" ;;
    esac
  done
}

main "$@"
