#!/usr/bin/env bash
# Usage: hack/jre-base.sh
#
# Builds the local JRE base image of the broker image (JRE_BASE_IMAGE in
# broker-image/versions.env) from the Debian archive, with hack/debian-base.sh.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
# shellcheck source=broker-image/versions.env
. "$repo/broker-image/versions.env"
exec "$repo/hack/debian-base.sh" jre-base "$JRE_BASE_IMAGE" "$JRE_BASE_SUITE" "$JRE_BASE_PACKAGES"
