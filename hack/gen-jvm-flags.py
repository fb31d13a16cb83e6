"""Writes operator/kopfka/model/jvm_flags.json: the -XX flags of the JVM the broker image runs.

A `-XX:` option the JVM does not know stops it at start-up ("Unrecognized VM option"), so the model
checks `spec.*.jvm.options` against this list. It is generated from `java -XX:+PrintFlagsFinal
-version` of the JDK on PATH, which must be the same Java major version as the image's JRE
(broker-image/versions.env: Debian bookworm's OpenJDK 17). Run: `make jvm-flags`.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "operator" / "kopfka" / "model" / "jvm_flags.json"
_LINE = re.compile(r"^\s*(\S+)\s+(\w+)\s+:?=.*\{([^}]*)\}\s*\{[^}]*\}\s*$")


def render() -> str:
    """The JSON document for the JDK on PATH."""
    run = subprocess.run(
        ["java", "-XX:+PrintFlagsFinal", "-version"], check=True, capture_output=True, text=True
    )
    version = re.search(r'version "([0-9]+)', run.stderr)
    if version is None:
        sys.exit(f"cannot read the Java version from: {run.stderr}")
    flags: dict[str, str] = {}
    for line in run.stdout.splitlines():
        match = _LINE.match(line)
        # Only product flags: diagnostic and experimental ones need an unlock flag first.
        if match and match.group(3).strip() == "product":
            flags[match.group(2)] = match.group(1)
    document = {
        "javaMajorVersion": int(version.group(1)),
        "generatedBy": "make jvm-flags (hack/gen-jvm-flags.py)",
        "flags": dict(sorted(flags.items())),
    }
    return json.dumps(document, indent=1, sort_keys=True) + "\n"


def main() -> None:
    OUT.write_text(render())
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
