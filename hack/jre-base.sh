#!/usr/bin/env bash
# Usage: hack/jre-base.sh
#
# Builds the local JRE base image (JRE_BASE_IMAGE in broker-image/versions.env) from the
# Debian archive, because no container registry is reachable to pull one: debootstrap a
# minimal Debian with the JRE, then `docker import` it.
# Needs root (debootstrap) and a running engine (hack/docker.sh).
#
# Cached: nothing is done when the image exists; the root filesystem tarball is kept in
# $KOPFKA_CACHE/jre-base/, keyed by suite and package list, so re-importing it on a
# machine whose engine was reset takes seconds instead of a fresh debootstrap.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=broker-image/versions.env
. "$repo/broker-image/versions.env"

cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
mirror=${KOPFKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "jre-base.sh: $*" >&2; }

if docker image inspect "$JRE_BASE_IMAGE" >/dev/null 2>&1; then
  exit 0
fi

key=$(echo "$JRE_BASE_SUITE $JRE_BASE_PACKAGES" | sha256sum | cut -c1-12)
tarball=$cache/jre-base/$JRE_BASE_SUITE-$key.tar

if [[ ! -f $tarball ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap from the Debian archive"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; update only when the install needs it.
    apt-get install -y debootstrap >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
  fi
  mkdir -p "$cache/jre-base"
  work=$(mktemp -d "$cache/jre-base/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  log "debootstrap $JRE_BASE_SUITE with $JRE_BASE_PACKAGES (log: $cache/jre-base/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$JRE_BASE_PACKAGES" \
    "$JRE_BASE_SUITE" "$work/rootfs" "$mirror" >"$cache/jre-base/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/jre-base/debootstrap.log" >&2
    log "debootstrap failed"
    exit 1
  fi
  # Downloaded .debs and package lists are only dead weight in an image that never
  # runs apt (containers here have no network for it anyway).
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tarball"
fi

log "importing $tarball as $JRE_BASE_IMAGE"
# An imported image has no config at all; give it the PATH a Debian image would have, so
# that images built on it can extend PATH without it starting with an empty entry.
docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$tarball" "$JRE_BASE_IMAGE" >/dev/null
