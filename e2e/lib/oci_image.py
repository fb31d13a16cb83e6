"""Write a single-layer OCI image archive from a few local files, without a container engine.

The e2e node needs small infrastructure images (pause, CoreDNS, local-path-provisioner and its
helper) and no registry can be reached to pull them. Each is one static binary, so the image is
one layer of files on an empty root; writing that layout directly keeps these images independent
of the Docker engine, and byte-for-byte reproducible (fixed timestamps and owners), so an
unchanged image has an unchanged digest and is not imported again. `ctr images import` reads
the result; the name goes into the `io.containerd.image.name` annotation it looks for.

    oci_image.py --name docker.io/kopfka/pause:3.10.2 --output pause.tar \
        --file /path/to/pause:/pause:0755 --entrypoint /pause --user 65535:65535

Prints the manifest digest, which is what `ctr images ls` shows for the imported image.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

# A fixed time for every tar entry and the image config: the digest depends only on the content.
EPOCH = 0
EPOCH_RFC3339 = "1970-01-01T00:00:00Z"


@dataclass(frozen=True)
class Entry:
    """One file or symlink of the layer, at an absolute path inside the image."""

    path: PurePosixPath
    source: Path | None = None
    mode: int = 0o755
    link_target: str | None = None


def parse_file(spec: str) -> Entry:
    """SRC:DEST[:MODE], MODE in octal."""
    parts = spec.split(":")
    if len(parts) not in (2, 3):
        raise argparse.ArgumentTypeError(f"--file wants SRC:DEST[:MODE], got {spec!r}")
    mode = int(parts[2], 8) if len(parts) == 3 else 0o755
    return Entry(path=PurePosixPath(parts[1]), source=Path(parts[0]), mode=mode)


def parse_symlink(spec: str) -> Entry:
    """LINK:TARGET."""
    link, sep, target = spec.partition(":")
    if not sep:
        raise argparse.ArgumentTypeError(f"--symlink wants LINK:TARGET, got {spec!r}")
    return Entry(path=PurePosixPath(link), link_target=target)


def _info(name: str, kind: bytes, mode: int, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.size = size
    info.mtime = EPOCH
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def layer_tar(entries: list[Entry], directories: list[str]) -> bytes:
    """An uncompressed layer: the parent directories of every entry, extra directories, then
    the entries, in a stable order."""
    dirs: set[str] = set()
    for entry in entries:
        dirs.update(str(parent).lstrip("/") for parent in entry.path.parents)
    dirs.update(d.strip("/") for d in directories)
    dirs.discard("")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(dirs):
            mode = 0o1777 if name == "tmp" else 0o755
            tar.addfile(_info(name + "/", tarfile.DIRTYPE, mode))
        for entry in sorted(entries, key=lambda e: str(e.path)):
            name = str(entry.path).lstrip("/")
            if entry.link_target is not None:
                info = _info(name, tarfile.SYMTYPE, 0o777)
                info.linkname = entry.link_target
                tar.addfile(info)
            else:
                assert entry.source is not None
                data = entry.source.read_bytes()
                tar.addfile(_info(name, tarfile.REGTYPE, entry.mode, len(data)), io.BytesIO(data))
    return buffer.getvalue()


def _blob(blobs: dict[str, bytes], data: bytes) -> str:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    blobs[digest] = data
    return digest


def _json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":")).encode()


def image_archive(
    *,
    name: str,
    layer: bytes,
    entrypoint: list[str],
    user: str,
    env: list[str],
) -> tuple[bytes, str]:
    """The OCI image layout as a tar, and the manifest digest."""
    blobs: dict[str, bytes] = {}
    layer_digest = _blob(blobs, layer)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "created": EPOCH_RFC3339,
        "config": {"Entrypoint": entrypoint, "User": user, "Env": env, "WorkingDir": "/"},
        "rootfs": {"type": "layers", "diff_ids": [layer_digest]},
        "history": [{"created": EPOCH_RFC3339, "created_by": "e2e/lib/oci_image.py"}],
    }
    config_bytes = _json(config)
    config_digest = _blob(blobs, config_bytes)
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config_bytes),
        },
        "layers": [
            {
                "mediaType": "application/vnd.oci.image.layer.v1.tar",
                "digest": layer_digest,
                "size": len(layer),
            }
        ],
    }
    manifest_bytes = _json(manifest)
    manifest_digest = _blob(blobs, manifest_bytes)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                "digest": manifest_digest,
                "size": len(manifest_bytes),
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {
                    "io.containerd.image.name": name,
                    "org.opencontainers.image.ref.name": name.rpartition(":")[2],
                },
            }
        ],
    }
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        files = {
            "oci-layout": _json({"imageLayoutVersion": "1.0.0"}),
            "index.json": _json(index),
            **{f"blobs/sha256/{d.removeprefix('sha256:')}": data for d, data in blobs.items()},
        }
        tar.addfile(_info("blobs/", tarfile.DIRTYPE, 0o755))
        tar.addfile(_info("blobs/sha256/", tarfile.DIRTYPE, 0o755))
        for path in sorted(files):
            data = files[path]
            tar.addfile(_info(path, tarfile.REGTYPE, 0o644, len(data)), io.BytesIO(data))
    return buffer.getvalue(), manifest_digest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--name", required=True, help="full image name, registry included")
    parser.add_argument("--output", required=True, type=Path)
    parser.add_argument("--file", type=parse_file, action="append", default=[], dest="files")
    parser.add_argument("--symlink", type=parse_symlink, action="append", default=[])
    parser.add_argument("--dir", action="append", default=[], dest="directories")
    parser.add_argument("--entrypoint", nargs="+", required=True)
    parser.add_argument("--user", default="65532:65532")
    parser.add_argument("--env", action="append", default=[])
    args = parser.parse_args()

    layer = layer_tar([*args.files, *args.symlink], args.directories)
    env = args.env or ["PATH=/bin"]
    archive, digest = image_archive(
        name=args.name, layer=layer, entrypoint=args.entrypoint, user=args.user, env=env
    )
    partial = args.output.with_name(args.output.name + ".partial")
    partial.write_bytes(archive)
    partial.replace(args.output)
    print(digest)


if __name__ == "__main__":
    main()
