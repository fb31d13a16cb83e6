# The operator image (docs/operator-image.md): a Python 3.11 base image from the Debian
# archive, kopfka's dependencies as wheels resolved on the host and kopfka/operator:<version>
# (also tagged :dev). Everything lands in $(KOPFKA_CACHE); every target is safe to re-run.
#
#   make operator-image BASE_IMAGE=python:3.11-slim   a registry base instead of the local one

# Empty: the local Python base (PYTHON_BASE_IMAGE in operator/versions.env), built by
# `make python-base`. mk/broker.mk declares the same variable for the broker image.
BASE_IMAGE ?=

.PHONY: python-base operator-image operator-image-check

python-base: docker-engine  ## build the local Python 3.11 base image from the Debian archive (debootstrap)
	hack/python-base.sh

operator-image: docker-engine $(if $(BASE_IMAGE),,python-base)  ## build kopfka/operator:<version> and kopfka/operator:dev
	BASE_IMAGE='$(BASE_IMAGE)' hack/operator-image.sh

operator-image-check: operator-image  ## smoke-test the operator image (read-only root, arbitrary uid, no network, CRDs, no build tools)
	hack/operator-image-check.sh
