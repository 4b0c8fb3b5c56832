"""Files a user names (an image, a weights file): checked before a byte of them is read."""

from __future__ import annotations

from pathlib import Path

from .errors import NetVizError


def existing_file_size(path: Path, kind: str, error: type[NetVizError]) -> int:
    """The size in bytes of ``path``, after checking that it exists and is a file.

    ``kind`` names the file in the message ("Image", "Weights"); ``error`` is raised.
    """
    if not path.exists():
        raise error(f"{kind} file not found: {path}")
    if not path.is_file():
        raise error(f"{kind} path is not a file: {path}")
    return path.stat().st_size
