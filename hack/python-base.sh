#!/usr/bin/env bash
# Usage: hack/python-base.sh
#
# Builds the local Python base image of the operator image (PYTHON_BASE_IMAGE in
# operator/versions.env) from the Debian archive, because no container registry is
# reachable to pull python:3.11-slim: debootstrap a minimal bookworm (whose python3 is
# 3.11) and `docker import` it. Needs root (debootstrap) and a running engine
# (hack/docker.sh).
#
# Cached: nothing is done when the image exists; the root filesystem tarball is kept in
# $KOPFKA_CACHE/python-base/, keyed by suite and package list, so re-importing it after
# the engine lost its images takes seconds instead of a fresh debootstrap.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=operator/versions.env
. "$repo/operator/versions.env"

cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
mirror=${KOPFKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "python-base.sh: $*" >&2; }

if docker image inspect "$PYTHON_BASE_IMAGE" >/dev/null 2>&1; then
  exit 0
fi

key=$(echo "$PYTHON_BASE_SUITE $PYTHON_BASE_PACKAGES" | sha256sum | cut -c1-12)
tarball=$cache/python-base/$PYTHON_BASE_SUITE-$key.tar

if [[ ! -f $tarball ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap from the Debian archive"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; update only when the install needs it.
    apt-get install -y debootstrap >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
  fi
  mkdir -p "$cache/python-base"
  work=$(mktemp -d "$cache/python-base/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  log "debootstrap $PYTHON_BASE_SUITE with $PYTHON_BASE_PACKAGES (log: $cache/python-base/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$PYTHON_BASE_PACKAGES" \
    "$PYTHON_BASE_SUITE" "$work/rootfs" "$mirror" >"$cache/python-base/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/python-base/debootstrap.log" >&2
    log "debootstrap failed"
    exit 1
  fi
  version=$(chroot "$work/rootfs" python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [[ $version != "$PYTHON_IMAGE_VERSION" ]]; then
    log "$PYTHON_BASE_SUITE has python3 $version, expected $PYTHON_IMAGE_VERSION (operator/versions.env)"
    exit 1
  fi
  # Downloaded .debs and package lists are dead weight in an image that never runs apt
  # (containers here have no network for it anyway).
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tarball"
fi

log "importing $tarball as $PYTHON_BASE_IMAGE"
# An imported image has no config at all: give it the PATH a Debian image has (so images
# built on it can extend PATH) and the UTF-8 locale that python:3.11-slim sets too.
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$PYTHON_BASE_IMAGE" >/dev/null
