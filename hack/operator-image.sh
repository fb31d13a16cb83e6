#!/usr/bin/env bash
# Usage: hack/operator-image.sh
#
# Builds kopfka/operator:<version from pyproject.toml> (also tagged kopfka/operator:dev) on
# BASE_IMAGE (default the local Python base, PYTHON_BASE_IMAGE in operator/versions.env).
# Expects a running engine and, for the default base, the base image: `make operator-image`
# takes care of both (hack/docker.sh, hack/python-base.sh).
#
# Containers here have no network, so the Python dependencies are resolved on the host:
# the runtime dependencies of pyproject.toml (not the dev extra) are downloaded as CPython
# 3.11 manylinux wheels, with kopfka's build requirements and a pip to install them with,
# into $KOPFKA_CACHE/operator-wheels/<key>/, keyed by the requirements in pyproject.toml,
# the interpreter and the platform. kopfka's own wheel is built from the checkout, offline
# from that cache, whenever its sources change (see below); with nothing changed the whole
# run is cache hits and takes about a second.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=operator/versions.env
. "$repo/operator/versions.env"

base=${BASE_IMAGE:-$PYTHON_BASE_IMAGE}
cache=${KOPFKA_CACHE:-$HOME/.cache/kopfka}
# The host Python runs pip (downloads, kopfka's wheel build); any Python 3.11+ with pip does.
python=${PYTHON:-python3.11}

log() { echo "operator-image.sh: $*" >&2; }

# One build at a time per cache: two would share the context directory and the wheel slot.
mkdir -p "$cache/locks"
exec 9>"$cache/locks/operator-image.lock"
flock 9

mkdir -p "$cache/operator-image" "$cache/operator-wheels"
# Scratch space next to the caches, so finished results are moved into place atomically.
scratch=$(mktemp -d "$cache/operator-image/tmp.XXXXXX")
trap 'rm -rf "$scratch"' EXIT

host_pip() { "$python" -m pip --disable-pip-version-check --quiet "$@"; }

# Sets version, dependencies and build_requires from pyproject.toml: the Python prints
# shell assignments quoted by shlex, so eval is safe.
version='' dependencies=() build_requires=()
fields=$("$python" - "$repo/pyproject.toml" <<'PY'
import shlex, sys, tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
print("version=" + shlex.quote(data["project"]["version"]))
for name, values in [
    ("dependencies", data["project"].get("dependencies", [])),
    ("build_requires", data["build-system"]["requires"]),
]:
    print(f"{name}=(" + " ".join(shlex.quote(value) for value in values) + ")")
PY
)
eval "$fields"

# The image runs on the host's architecture. manylinux_2_28 covers bookworm's glibc 2.36;
# manylinux2014 also accepts manylinux_2_17, 2010 and 1 wheels.
arch=$(uname -m)
platforms=(--platform "manylinux_2_28_$arch" --platform "manylinux2014_$arch")
abi=cp${PYTHON_IMAGE_VERSION/./}
# Keyed by what decides the set of wheels, not by the whole file, so a change to, say, the
# linter settings in pyproject.toml does not download everything again.
key=$(printf '%s\n' "${dependencies[@]}" -- "${build_requires[@]}" -- "$abi" "${platforms[@]}" |
  sha256sum | cut -c1-12)
wheels=$cache/operator-wheels/$key

if [[ ! -f $wheels/.complete ]]; then
  log "resolving the runtime dependencies for $abi/$arch into $wheels"
  work=$scratch/resolve
  mkdir -p "$work/runtime" "$work/build" "$work/pip"
  host_pip download --dest "$work/runtime" --only-binary=:all: --implementation cp \
    --python-version "$PYTHON_IMAGE_VERSION" --abi "$abi" "${platforms[@]}" "${dependencies[@]}"
  # For building kopfka's wheel on the host (pip's isolated build environment).
  host_pip download --dest "$work/build" --only-binary=:all: "${build_requires[@]}"
  # Runs straight from the wheel file in the builder stage.
  host_pip download --dest "$work/pip" --only-binary=:all: --no-deps pip
  touch "$work/.complete"
  rm -rf "$wheels"
  mv "$work" "$wheels"
fi

# kopfka's wheel, from a snapshot of its sources (a tarball that records names, modes and
# contents, but no times or owners). It is built in a scratch directory, so the build leaves
# nothing (build/, egg-info) in the checkout, which others may be editing, and kept under
# the snapshot's hash, so it is rebuilt exactly when the sources change. SOURCE_DATE_EPOCH
# (1980-01-01, the earliest time a zip file holds) makes the wheel's bytes depend on the
# sources (and the setuptools that builds it) only, so the image build sees the same file
# and hits its cache.
tar -C "$repo" --exclude=__pycache__ --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner \
  -cf "$scratch/src.tar" pyproject.toml README.md operator/kopfka
source_key=$( (cat "$scratch/src.tar" && ls "$wheels/build") | sha256sum | cut -c1-12)
kopfka_wheel=$cache/operator-image/kopfka-wheel/$source_key
if [[ ! -f $kopfka_wheel/.complete ]]; then
  log "building kopfka's wheel (sources $source_key)"
  mkdir -p "$scratch/src"
  tar -C "$scratch/src" -xf "$scratch/src.tar"
  SOURCE_DATE_EPOCH=315532800 host_pip wheel --no-deps --no-index --find-links "$wheels/build" \
    --wheel-dir "$scratch/wheel" "$scratch/src"
  touch "$scratch/wheel/.complete"
  # Only the newest wheel is kept: an older one is not reused once the sources moved on.
  rm -rf "$cache/operator-image/kopfka-wheel"
  mkdir -p "$cache/operator-image/kopfka-wheel"
  mv "$scratch/wheel" "$kopfka_wheel"
fi

# The context holds only what the image needs, laid out as the Dockerfile expects; it is
# rebuilt every time so nothing stale slips in.
context=$cache/operator-image/context
rm -rf "$context"
mkdir -p "$context/dependencies" "$context/kopfka" "$context/pip"
cp "$wheels"/runtime/*.whl "$context/dependencies/"
cp "$kopfka_wheel"/*.whl "$context/kopfka/"
cp "$wheels"/pip/*.whl "$context/pip/"
cp "$repo/operator/Dockerfile" "$context/"

# DOCKER_BUILDKIT=0: the legacy builder works with any client/engine pair found here
# (BuildKit needs the buildx plugin with newer clients). --network none: no build step
# needs the network, and this proves it.
tag=kopfka/operator:$version
DOCKER_BUILDKIT=0 docker build --network none --quiet \
  --build-arg BASE_IMAGE="$base" --build-arg VERSION="$version" \
  --tag "$tag" --tag kopfka/operator:dev "$context" >/dev/null
echo "$tag"
