"""The pure renderers: a ClusterSpec in, every desired Kubernetes object (as a dict) out.

No API calls and no clock here: the same spec always renders byte-identical objects.
"""
