# shellcheck shell=bash
# Sourced by e2e/build.sh and e2e/node.sh, which define log and die.
#
# apt_install LOG_FILE PACKAGE...   installs the Debian packages that are missing. A fresh
# machine has no package lists yet, so they are updated only when an install fails without them.
apt_install() {
  local log_file=$1 missing=() package
  shift
  for package in "$@"; do
    dpkg-query -W -f '${Status}' "$package" 2>/dev/null | grep -q 'ok installed' ||
      missing+=("$package")
  done
  ((${#missing[@]})) || return 0
  log "installing ${missing[*]} from the Debian archive (log: $log_file)"
  mkdir -p "$(dirname "$log_file")"
  export DEBIAN_FRONTEND=noninteractive
  if ! apt-get install -y --no-install-recommends "${missing[@]}" >"$log_file" 2>&1; then
    apt-get update >>"$log_file" 2>&1
    apt-get install -y --no-install-recommends "${missing[@]}" >>"$log_file" 2>&1 || {
      tail -n 20 "$log_file" >&2
      die "apt-get install ${missing[*]} failed"
    }
  fi
}
