# The CR reference in docs/reference/ is generated from the CRDs kopfka makes
# (kopfka.model.crds.all_crds()); tests/unit/test_docs.py fails when it drifts.

.PHONY: docs
docs: $(STAMP)  ## regenerate docs/reference from the CRDs
	$(PY) hack/gen-crd-reference.py
