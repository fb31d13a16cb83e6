#!/usr/bin/env bash
# Installs Debian's lua5.1, the interpreter the tests run the Argo CD health checks with
# (manifests/argocd/*.lua): Argo CD runs them on gopher-lua, which implements Lua 5.1.
#
#   hack/lua.sh
#
# Does nothing when lua5.1 is already on PATH. The package lists are refreshed only when the
# install fails without them (a fresh machine has none), so a second run needs no network.
set -euo pipefail

log() { echo "lua.sh: $*" >&2; }

if command -v lua5.1 >/dev/null 2>&1; then
  exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
  echo "lua.sh: error: lua5.1 is missing and installing it needs root: apt-get install -y lua5.1" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive NEEDRESTART_SUSPEND=1
log "installing lua5.1 from the Debian archive"
if ! apt-get install -y --no-install-recommends lua5.1 >/dev/null; then
  log "install failed; refreshing the package lists and trying again"
  apt-get update >/dev/null
  apt-get install -y --no-install-recommends lua5.1 >/dev/null
fi
command -v lua5.1 >/dev/null 2>&1 || {
  echo "lua.sh: error: lua5.1 is still not on PATH after installing it" >&2
  exit 1
}
log "$(lua5.1 -v 2>&1)"
