#!/usr/bin/env bash
# Usage: hack/debian-base.sh NAME IMAGE SUITE PACKAGES [CHECK]
#
# Builds a local base image from the Debian archive, because no container registry is
# reachable to pull one: debootstrap a minimal Debian SUITE with PACKAGES (comma-separated),
# run CHECK (a shell command) inside it if given, then `docker import` it as IMAGE. The JRE
# base of the broker image (hack/jre-base.sh) and the Python base of the operator image
# (hack/python-base.sh) are made this way. Needs root (debootstrap) and a running engine
# (hack/docker.sh).
#
# Cached: nothing is done when IMAGE exists; the root filesystem tarball is kept in
# $KOPFKA_CACHE/NAME/, keyed by suite and package list, so re-importing it after the engine
# lost its images takes seconds instead of a fresh debootstrap.
set -euo pipefail

name=$1 image=$2 suite=$3 packages=$4 check=${5:-}
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
mirror=${KOPFKA_DEBIAN_MIRROR:-http://deb.debian.org/debian}

log() { echo "$name: $*" >&2; }

if docker image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi

key=$(echo "$suite $packages" | sha256sum | cut -c1-12)
tarball=$cache/$name/$suite-$key.tar

if [[ ! -f $tarball ]]; then
  if ! command -v debootstrap >/dev/null; then
    log "installing debootstrap from the Debian archive"
    export DEBIAN_FRONTEND=noninteractive
    # A fresh machine has no package lists yet; update only when the install needs it.
    apt-get install -y debootstrap >/dev/null 2>&1 ||
      { apt-get update >/dev/null && apt-get install -y debootstrap >/dev/null; }
  fi
  mkdir -p "$cache/$name"
  work=$(mktemp -d "$cache/$name/build.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  log "debootstrap $suite with $packages (log: $cache/$name/debootstrap.log)"
  if ! debootstrap --variant=minbase --include="$packages" \
    "$suite" "$work/rootfs" "$mirror" >"$cache/$name/debootstrap.log" 2>&1; then
    tail -n 20 "$cache/$name/debootstrap.log" >&2
    log "debootstrap failed"
    exit 1
  fi
  if [[ -n $check ]] && ! chroot "$work/rootfs" /bin/sh -c "$check"; then
    log "the check failed in the new root filesystem: $check"
    exit 1
  fi
  # Downloaded .debs and package lists are dead weight in an image that never runs apt
  # (containers here have no network for it anyway).
  rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
  tar --numeric-owner -C "$work/rootfs" -cf "$work/rootfs.tar" .
  mv "$work/rootfs.tar" "$tarball"
fi

log "importing $tarball as $image"
# An imported image has no config at all: give it the PATH a Debian image has (so images
# built on it can extend PATH) and a UTF-8 locale, as the public slim images set it.
docker import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  "$tarball" "$image" >/dev/null
