#!/usr/bin/env bash
# Usage: hack/docker.sh
#
# Makes sure a Docker engine answers on this machine: installs Debian's docker.io when
# dockerd is missing, starts containerd and dockerd in the background when they are not
# running (there is no init system to do it here), and waits until `docker info` works.
# Idempotent: with a working engine it only checks and returns.
#
# Daemon logs and pid files: $KOPFKA_CACHE/docker/. Stop the daemons with
#   kill "$(cat "$KOPFKA_CACHE/docker/dockerd.pid")" "$(cat "$KOPFKA_CACHE/docker/containerd.pid")"
set -euo pipefail

cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
state=$cache/docker
timeout=${KOPFKA_DOCKER_TIMEOUT:-120}
containerd_sock=/run/containerd/containerd.sock

log() { echo "docker.sh: $*" >&2; }

# Waits until "$@" succeeds, polling, or fails after $timeout seconds naming $what.
wait_for() {
  local what=$1
  shift
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if ((SECONDS >= deadline)); then
      log "$what not ready after ${timeout}s; see $state/*.log"
      exit 1
    fi
    sleep 0.2
  done
}

# The daemons must outlive this script (make calls it once, later steps use the
# engine), so they get their own session and no controlling terminal.
start_daemon() {
  local name=$1
  shift
  log "starting $name (log: $state/$name.log)"
  setsid "$@" >>"$state/$name.log" 2>&1 </dev/null &
  echo $! >"$state/$name.pid"
}

if docker info >/dev/null 2>&1; then
  exit 0
fi

mkdir -p "$state"

if ! command -v dockerd >/dev/null; then
  log "installing docker.io from the Debian archive"
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists yet; update only when the install needs it.
  if ! apt-get install -y docker.io >"$state/apt.log" 2>&1; then
    apt-get update >>"$state/apt.log" 2>&1
    apt-get install -y docker.io >>"$state/apt.log" 2>&1 || {
      tail -n 20 "$state/apt.log" >&2
      log "apt-get install docker.io failed"
      exit 1
    }
  fi
fi

if ! ctr --address "$containerd_sock" version >/dev/null 2>&1; then
  start_daemon containerd containerd --address "$containerd_sock"
  wait_for containerd ctr --address "$containerd_sock" version
fi

if [[ ! -S /var/run/docker.sock ]] || ! docker info >/dev/null 2>&1; then
  start_daemon dockerd dockerd --containerd="$containerd_sock"
fi
wait_for dockerd docker info
log "docker engine ready"
