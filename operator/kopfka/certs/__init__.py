"""The cluster CA and the brokers' TLS certificates: issuing them (issue.py) and the pure
decisions about the ones kept in Secrets (check.py: is a CA usable, is a broker certificate still
good for its names, CA and time).

A package of its own because it is the only code that handles private keys, and it is neither a
renderer (issuing is random and depends on the time) nor Kubernetes code: reconcile.py reads the
Secrets through k8s/, asks check.py what is still good and issue.py for what is not, and applies
the Secrets that render/tls.py builds. docs/security.md.
"""
