"""The error a spec gets when it is wrong in a way the CRD schema could not catch."""

from __future__ import annotations


class SpecError(ValueError):
    """One or more problems in a spec, each naming the field; becomes a Ready=False condition."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def internal_error_message(error: Exception) -> str:
    """The status message of a failure that is kopfka's own bug, not the spec's."""
    return (
        f"kopfka failed on this spec ({type(error).__name__}: {error}); this is a bug in "
        "kopfka: please report it with the spec"
    )
