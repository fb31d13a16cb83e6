#!/usr/bin/env bash
# Usage: hack/operator-image-check.sh [IMAGE]
#
# Smoke test of a built operator image (default kopfka/operator:<version from
# pyproject.toml>), run the way a restricted pod runs it: read-only root filesystem, an
# arbitrary non-root uid in group 0, no capabilities, no network. Checks that the image's
# own user is not root, that `kopfka --help`, `kopfka <subcommand> --help` for every
# subcommand and `kopfka crds` work and that the CRDs it prints are the ones in crds/,
# that every module loads from precompiled bytecode, that `kopfka run` starts and stops
# on SIGTERM, and that no compiler, build tool or pip is left in the image. Prints the
# image size. Runs every check, then exits 1 if any failed.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
python=${PYTHON:-python3.11}
version=$("$python" -c 'import sys, tomllib; print(tomllib.load(open(sys.argv[1], "rb"))["project"]["version"])' \
  "$repo/pyproject.toml")
image=${1:-kopfka/operator:$version}
run_deadline=${KOPFKA_CHECK_RUN_TIMEOUT:-60}
stop_deadline=${KOPFKA_CHECK_STOP_TIMEOUT:-30}
name=kopfka-operator-check-$$

log() { echo "operator-image-check: $*" >&2; }

failures=0
fail() {
  log "FAILED: $*"
  failures=$((failures + 1))
}
pass() { log "ok: $*"; }

tmp=$(mktemp -d)
cleanup() {
  docker rm -f "$name" >/dev/null 2>&1 || true
  rm -rf "$tmp"
}
trap cleanup EXIT

if ! docker image inspect "$image" >/dev/null 2>&1; then
  log "FAILED: no image $image (make operator-image)"
  exit 1
fi

# Like a restricted pod: a uid the image does not know, group 0, nothing writable.
restricted=(--read-only --network none --user 54321:0 --cap-drop ALL
  --security-opt no-new-privileges)
run_kopfka() { docker run --rm "${restricted[@]}" "$image" "$@"; }
in_image() { docker run --rm "${restricted[@]}" --entrypoint "$1" "$image" "${@:2}"; }

# The image's own user, as a pod without runAsUser gets it.
user=$(docker image inspect -f '{{.Config.User}}' "$image")
uid=$(docker run --rm --network none --entrypoint id "$image" -u)
if [[ -n $user && $uid != 0 ]]; then
  pass "runs as uid $uid by default (USER $user)"
else
  fail "the image runs as uid $uid (USER '$user'); it must set a non-root USER"
fi

entrypoint=$(docker image inspect -f '{{json .Config.Entrypoint}} {{json .Config.Cmd}}' "$image")
if [[ $entrypoint == '["/opt/kopfka/bin/kopfka"] ["run"]' ]]; then
  pass "entry point kopfka, default command run"
else
  fail "entry point and command are $entrypoint, expected kopfka and run"
fi

if run_kopfka --help >"$tmp/help" 2>&1 && grep '^usage: kopfka' "$tmp/help" >/dev/null; then
  pass "kopfka --help"
else
  fail "kopfka --help: $(head -c 2000 "$tmp/help")"
fi

# Every subcommand that `kopfka --help` lists (usage: kopfka [-h] {run,crds,...} ...) must
# at least parse its arguments: Jobs run `kopfka <mode>` from this image.
subcommands=$(sed -n 's/^usage: kopfka .*{\([^}]*\)}.*/\1/p' "$tmp/help" | tr ',' ' ')
[[ -n $subcommands ]] || fail "no subcommands found in kopfka --help"
for subcommand in $subcommands; do
  if run_kopfka "$subcommand" --help >"$tmp/sub" 2>&1; then
    pass "kopfka $subcommand --help"
  else
    fail "kopfka $subcommand --help: $(head -c 2000 "$tmp/sub")"
  fi
done

# `kopfka crds` prints the CRDs separated by `---` lines; they must be crds/*.yaml, byte for
# byte, in any order.
hashes() { for file; do sha256sum <"$file" | cut -d' ' -f1; done | sort; }
if run_kopfka crds >"$tmp/crds.yaml" 2>"$tmp/crds.err"; then
  mkdir "$tmp/printed"
  awk -v dir="$tmp/printed" '$0 == "---" { n++; next } { print > (dir "/" n+0 ".yaml") }' "$tmp/crds.yaml"
  printed=$(hashes "$tmp/printed"/*.yaml)
  if [[ $printed == "$(hashes "$repo"/crds/*.yaml)" ]]; then
    pass "kopfka crds prints crds/*.yaml ($(wc -l <<<"$printed") CRDs)"
  else
    for file in "$repo"/crds/*.yaml; do
      grep -qxF "$(hashes "$file")" <<<"$printed" || log "  ${file#"$repo/"} is not among them"
    done
    fail "kopfka crds prints $(wc -l <<<"$printed") CRDs that differ from crds/*.yaml (crds/ out of date: make crds; image out of date: make operator-image)"
  fi
else
  fail "kopfka crds: $(head -c 2000 "$tmp/crds.err")"
fi

# With a read-only root nothing can write __pycache__: modules compiled from source at
# every start would only cost time, so the build must have compiled them all.
in_image python3 -v -c 'import kopfka.cli' >/dev/null 2>"$tmp/imports" || true
if ! grep -q "^# code object from '" "$tmp/imports"; then
  fail "python3 -v shows no module loaded at all: $(tail -c 2000 "$tmp/imports")"
elif grep "^# code object from [^']" "$tmp/imports" >"$tmp/from-source"; then
  fail "modules compiled from source at run time: $(head -n 5 "$tmp/from-source")"
else
  pass "every module loads from precompiled bytecode"
fi

# The operator itself: without a cluster it cannot log in, but it must get as far as
# kopf's startup activities and stop cleanly on SIGTERM, on a read-only root as an
# arbitrary uid (kopf asks for the user name, which such a uid does not have in /etc/passwd).
check_run() {
  docker run -d --name "$name" "${restricted[@]}" "$image" >/dev/null ||
    { fail "kopfka run: the container does not start" && return; }
  local deadline=$((SECONDS + run_deadline)) code
  until docker logs "$name" 2>&1 | grep -E "Activity '[^']+' (succeeded|failed)" >/dev/null; do
    if [[ $(docker inspect -f '{{.State.Running}}' "$name") != true ]]; then
      fail "kopfka run exited with $(docker inspect -f '{{.State.ExitCode}}' "$name") at start: $(docker logs --tail 20 "$name" 2>&1)"
      return
    fi
    if ((SECONDS >= deadline)); then
      fail "kopfka run did not reach kopf's startup activities within ${run_deadline}s: $(docker logs --tail 20 "$name" 2>&1)"
      return
    fi
    sleep 0.5
  done
  docker kill --signal TERM "$name" >/dev/null
  code=$(timeout "$stop_deadline" docker wait "$name") ||
    { fail "kopfka run did not stop within ${stop_deadline}s of SIGTERM" && return; }
  [[ $code == 0 ]] || { fail "kopfka run exited with $code after SIGTERM" && return; }
  pass "kopfka run starts and exits 0 on SIGTERM"
}
check_run
docker rm -f "$name" >/dev/null 2>&1 || true

# No compiler, build tool or package installer: none on PATH, and no pip, setuptools or
# wheel package for any Python in the image.
tools=(gcc cc c++ g++ cpp clang make cmake ninja ld as pip pip3 pip3.11 wheel easy_install)
# shellcheck disable=SC2016  # the image's sh expands $tool
found=$(in_image sh -c 'for tool; do command -v "$tool"; done
  find / -xdev -type d \( -path "*-packages/pip" -o -path "*-packages/setuptools" \
    -o -path "*-packages/wheel" \) 2>/dev/null' sh "${tools[@]}" || true)
if [[ -z $found ]]; then
  pass "no compiler, build tool, pip, setuptools or wheel"
else
  fail "build tools in the image: $(echo "$found" | tr '\n' ' ')"
fi

# The operator talks to the API server through its own transport (k8s/rest.py): the Kubernetes
# client is a dev dependency only, and took 118 MiB of the image when it was installed.
# shellcheck disable=SC2016  # the image's sh expands the glob
kube_client=$(in_image sh -c 'ls -d /opt/kopfka/lib/python3*/site-packages/kubernetes 2>/dev/null' || true)
if [[ -z $kube_client ]]; then
  pass "no Kubernetes client package"
else
  fail "the Kubernetes client is installed: $kube_client"
fi

size=$(docker image inspect -f '{{.Size}}' "$image")
log "size of $image: $((size / 1048576)) MiB"

if ((failures)); then
  log "$failures check(s) failed for $image"
  exit 1
fi
log "OK: $image"
