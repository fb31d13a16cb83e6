"""Rendered config read back for assertions, shared by the renderer tests."""

from __future__ import annotations

from kopfka.model.cluster import ClusterSpec
from kopfka.model.names import Role
from kopfka.render import config


def properties(spec: ClusterSpec, role: Role) -> dict[str, str]:
    """The server.properties of the pool of `role`, as a dict (comments left out)."""
    pool = next(pool for pool in spec.pools if pool.role is role)
    text = config.server_properties(spec, pool)
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line and line[0] != "#")
