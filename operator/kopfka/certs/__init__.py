"""The cluster CA and the brokers' TLS certificates: issuing them (issue.py), the pure decisions
about the ones kept in Secrets (check.py: is a CA usable, is a broker certificate still good for
its names, CA and time), and what a cluster keeps and gets anew (keep.py).

A package of its own because it is the only code that makes private keys, and it is neither a
renderer (issuing is random and depends on the time) nor Kubernetes code: reconcile.py reads the
Secrets through k8s/ and the clock, keep.py decides and issues, and render/tls.py renders the
Secrets. docs/security.md.
"""
