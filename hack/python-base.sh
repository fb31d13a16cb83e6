#!/usr/bin/env bash
# Usage: hack/python-base.sh
#
# Builds the local Python base image of the operator image (PYTHON_BASE_IMAGE in
# operator/versions.env) from the Debian archive, with hack/debian-base.sh: a minimal
# bookworm, whose python3 is the 3.11 the operator is built and tested with (checked).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=operator/versions.env
. "$repo/operator/versions.env"
check="python3 -c 'import sys; assert \"%d.%d\" % sys.version_info[:2] == \"$PYTHON_IMAGE_VERSION\", sys.version'"
exec "$repo/hack/debian-base.sh" python-base "$PYTHON_BASE_IMAGE" "$PYTHON_BASE_SUITE" \
  "$PYTHON_BASE_PACKAGES" "$check"
