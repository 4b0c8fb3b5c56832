"""A job's directory: what is on disk, what is done, and writing that survives kills, races and a full disk.

Layout::

    DIR/manifest.json                 the job's identity (kind, settings, grid, backbones, NetViz version)
    DIR/index.jsonl                   one JSON line per image: its row (see ``render``) + sha256 + timings
    DIR/images/BACKBONE/CLASS.png     atlas (CLASS zero-padded to 4 digits)
    DIR/images/BACKBONE/VARIANT/CLASS.png   sweep (VARIANT: a grid point's id)
    DIR/gifs/...                      the same names with .gif, when asked for
    DIR/sheet-*.png, table.csv/json   a sweep's contact sheets and table (``sheet``)

Why it is safe:

* Every file is written to a temporary name in its own folder and renamed into place
  (``os.replace`` is atomic on one filesystem): a reader, a second writer or a kill
  sees the old file or the new one, never half of one.  The GIF is renamed before
  the PNG, and the PNG before its index line, so a PNG on disk means its image is
  complete, and its own text chunk holds its row.
* Index lines are appended with one ``write`` on an ``O_APPEND`` descriptor, so two
  writers' lines do not interleave; a line cut short (a kill, a full disk) fails to
  parse and is dropped.
* ``scan`` trusts nothing: an image is done only when its PNG's sha256 equals its
  row's.  A row whose PNG is missing or changed is dropped (the image is redone); a
  valid PNG without a row (killed between rename and append, or a line lost to a
  race) gets its row back from its text chunk.  When anything had to be dropped or
  recovered, the index is rewritten from what is on disk, again by rename.
* A directory that holds another job (other settings, another kind, another NetViz
  version) or files that are not a job is refused before anything is written.
* A full disk (ENOSPC) is one ``AtlasError`` line; the temporary file is removed and
  an index line cut short is truncated back, so the index stays valid.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import secrets
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

from ..errors import AtlasError
from .render import Rendered, read_png_meta
from .spec import Item, JobSpec

MANIFEST = "manifest.json"
INDEX = "index.jsonl"
FORMAT = 1
#: What a manifest's "format" field says this is (a directory holding anything else is refused).
MAGIC = "netviz-batch-job"


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def png_path(item: Item) -> str:
    folder = f"images/{item.backbone}" + (f"/{item.variant}" if item.variant else "")
    return f"{folder}/{item.target:04d}.png"


def gif_path(item: Item) -> str:
    return "gifs" + png_path(item)[len("images"):-len(".png")] + ".gif"


def _fail(action: str, path: Path, exc: OSError) -> AtlasError:
    if exc.errno == errno.ENOSPC:
        return AtlasError(f"Disk full while {action} {path}: everything written before is kept and the index is "
                          "valid; free some space and run the same command again to continue.")
    return AtlasError(f"Cannot {action.replace('writing', 'write').replace('creating', 'create')} {path}: "
                      f"{exc.strerror or exc}.")


def write_atomic(path: Path, data: bytes) -> None:
    """``data`` into ``path`` by a rename of a fully written temporary file in the same folder."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _fail("writing", path, exc) from None


def append_line(path: Path, line: str) -> None:
    """One line appended with a single write on an O_APPEND descriptor; cut back if the disk is full."""
    data = (line.rstrip("\n") + "\n").encode()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    except OSError as exc:
        raise _fail("writing", path, exc) from None
    try:
        before = os.fstat(fd).st_size
        try:
            written = os.write(fd, data)
            if written != len(data):  # a short write is how a nearly full disk answers
                raise OSError(errno.ENOSPC, "No space left on device")
        except OSError as exc:
            # Undo our partial line, unless another writer appended after it (its line then ends the damage,
            # and scan() drops the merged line and recovers both rows from their PNGs).
            if os.fstat(fd).st_size <= before + len(data):
                os.ftruncate(fd, before)
            raise _fail("writing", path, exc) from None
    finally:
        os.close(fd)


@dataclass
class ScanReport:
    """What ``scan`` found: valid rows by item key, and what it had to repair."""

    rows: dict[tuple[str, str, int], dict] = field(default_factory=dict)
    bad_lines: int = 0
    stale_rows: int = 0  # rows whose PNG is missing or does not match its checksum
    recovered: int = 0  # valid PNGs without a row, whose row came back from the PNG
    corrupt_files: list[str] = field(default_factory=list)
    rebuilt: bool = False


class JobDir:
    """The directory of one batch job."""

    def __init__(self, root: str | Path):
        self.root = Path(root)

    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    @property
    def index_path(self) -> Path:
        return self.root / INDEX

    # ----------------------------------------------------------------------- manifest

    def read_manifest(self) -> dict | None:
        """The manifest, or None when there is none; AtlasError when it is not a NetViz job's."""
        try:
            text = self.manifest_path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise AtlasError(f"Cannot read {self.manifest_path}: {exc.strerror or exc}.") from None
        try:
            manifest = json.loads(text)
        except ValueError:
            raise AtlasError(f"{self.manifest_path} is not valid JSON: this is not a NetViz atlas or sweep "
                             "directory (or its manifest was damaged); use another directory.") from None
        if not isinstance(manifest, dict) or manifest.get("format") != MAGIC or "identity" not in manifest:
            raise AtlasError(f"{self.manifest_path} is not the manifest of a NetViz atlas or sweep; use another "
                             "directory.")
        return manifest

    def open_for(self, spec: JobSpec) -> None:
        """Create the directory for ``spec``, or check that it already holds the same job; refuse anything else."""
        identity = spec.identity()
        manifest = self.read_manifest()
        if manifest is None:
            if self.root.exists() and not self.root.is_dir():
                raise AtlasError(f"{self.root} is a file, not a directory; name a directory for the {spec.kind}.")
            if self.root.exists() and any(self.root.iterdir()):
                raise AtlasError(f"{self.root} already holds files and no NetViz manifest; name an empty or new "
                                 f"directory for the {spec.kind}, so nothing there is mixed or overwritten.")
            body = json.dumps({"format": MAGIC, "version": FORMAT, "identity": identity,
                               "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}, indent=2,
                              sort_keys=True)
            try:
                self.root.mkdir(parents=True, exist_ok=True)
                tmp = self.root / f".{MANIFEST}.{os.getpid()}.{secrets.token_hex(4)}.tmp"
                tmp.write_text(body)
                try:
                    os.link(tmp, self.manifest_path)  # exclusive: a second writer creating at once fails here...
                except FileExistsError:
                    pass  # ...and compares with the one that won, below
                finally:
                    tmp.unlink(missing_ok=True)
            except OSError as exc:
                raise _fail("creating", self.manifest_path, exc) from None
            manifest = self.read_manifest()
        assert manifest is not None
        theirs = manifest["identity"]
        if theirs != identity:
            raise AtlasError(f"{self.root} holds another run ({describe_difference(theirs, identity)}); its images "
                             "cannot be mixed with this one: use another directory, or the same settings.")

    # ----------------------------------------------------------------------- reading

    def _index_rows(self) -> tuple[list[dict], int]:
        """The index's rows as parsed, and how many lines could not be parsed (a cut or merged line)."""
        try:
            data = self.index_path.read_bytes()
        except FileNotFoundError:
            return [], 0
        except OSError as exc:
            raise AtlasError(f"Cannot read {self.index_path}: {exc.strerror or exc}.") from None
        rows, bad = [], 0
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            bad += 1  # the last line has no newline: cut short
            lines.pop()
        for line in lines:
            try:
                row = json.loads(line)
                _key(row)
            except (ValueError, KeyError, TypeError):
                bad += 1
                continue
            rows.append(row)
        return rows, bad

    def rows(self) -> list[dict]:
        """The index's parsed rows, latest per image, without checking files (for readers such as the dashboard)."""
        latest: dict[tuple, dict] = {}
        for row in self._index_rows()[0]:
            latest[_key(row)] = row
        return list(latest.values())

    def scan(self, *, repair: bool = True) -> ScanReport:
        """Valid rows by item key (PNG present, checksum equal); with ``repair`` the index is rewritten if needed."""
        report = ScanReport()
        rows, report.bad_lines = self._index_rows()
        digests: dict[str, str | None] = {}

        def digest(rel: str) -> str | None:
            if rel not in digests:
                try:
                    digests[rel] = sha256_of((self.root / rel).read_bytes())
                except OSError:
                    digests[rel] = None
            return digests[rel]

        for row in rows:
            ok = row.get("png") and digest(row["png"]) == row.get("sha256")
            if ok and row.get("gif"):
                ok = digest(row["gif"]) == row.get("gif_sha256")
            if ok:
                report.rows[_key(row)] = row  # a later valid row for the same image wins
            else:
                report.stale_rows += 1
        indexed = {row["png"] for row in report.rows.values()}
        for png in sorted((self.root / "images").rglob("*.png")) if (self.root / "images").is_dir() else []:
            rel = png.relative_to(self.root).as_posix()
            if rel in indexed:
                continue
            try:
                data = png.read_bytes()
            except OSError:
                continue
            meta = read_png_meta(data)
            if meta is None or meta.get("png") != rel:
                report.corrupt_files.append(rel)
                continue
            row = dict(meta, sha256=sha256_of(data), timings=None, worker=None, recovered=True)
            if meta.get("gif"):
                gif_digest = digest(meta["gif"])
                if gif_digest is None:
                    row["gif"] = None  # its GIF is gone: the image stands, a run asking for GIFs redoes it
                row["gif_sha256"] = gif_digest
            report.rows[_key(row)] = row
            report.recovered += 1
        if repair and (report.bad_lines or report.stale_rows or report.recovered or _duplicates(rows, report)):
            self.rewrite_index(report.rows.values())
            report.rebuilt = True
        return report

    def rewrite_index(self, rows: Iterable[dict]) -> None:
        body = "".join(json.dumps(r, sort_keys=True) + "\n" for r in sorted(rows, key=_key))
        write_atomic(self.index_path, body.encode())

    # ----------------------------------------------------------------------- writing

    def write(self, rendered: Rendered, extra: dict[str, Any]) -> dict:
        """Write one image (GIF, then PNG, then its index line); returns its row."""
        row = dict(rendered.meta, **rendered.extra, **extra, sha256=sha256_of(rendered.png))
        if rendered.gif is not None and rendered.meta.get("gif"):
            write_atomic(self.root / rendered.meta["gif"], rendered.gif)
            row["gif_sha256"] = sha256_of(rendered.gif)
        write_atomic(self.root / rendered.meta["png"], rendered.png)
        append_line(self.index_path, json.dumps(row, sort_keys=True))
        return row


def _key(row: dict) -> tuple[str, str, int]:
    return (str(row["backbone"]), str(row.get("variant") or ""), int(row["class"]))


def _duplicates(rows: list[dict], report: ScanReport) -> bool:
    return len(rows) - report.stale_rows > len(report.rows) - report.recovered


def describe_difference(theirs: dict, ours: dict) -> str:
    """The first differences between two identities, in words ('iterations: 256 there, 4 here')."""
    parts = []
    for key in sorted(set(theirs) | set(ours)):
        a, b = theirs.get(key), ours.get(key)
        if a == b:
            continue
        if key == "settings" and isinstance(a, dict) and isinstance(b, dict):
            for name in sorted(set(a) | set(b)):
                if a.get(name) != b.get(name):
                    parts.append(f"{name}: {a.get(name)!r} there, {b.get(name)!r} here")
        elif key == "kind":
            parts.append(f"a {a}, not a {b}")
        elif key == "netviz":
            parts.append(f"made by NetViz {a}, this is {b}")
        else:
            parts.append(f"{key}: {a!r} there, {b!r} here")
    return "; ".join(parts[:3]) + ("; ..." if len(parts) > 3 else "")
