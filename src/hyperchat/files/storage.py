"""Where originals are kept, behind one small interface: put a finished file under its
SHA-256, open it, delete it, list what is kept. The default is a directory (UPLOAD_DIR);
being content-addressed, a file uploaded twice (by anyone) is stored once, and the
Attachment rows that name its hash decide when it may go (files/attachments.py)."""

import os
import shutil
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol


class Storage(Protocol):
    def put(self, sha256: str, source: Path) -> None:
        """Keep the file at `source` (a temporary file, moved or copied) under `sha256`."""

    def path(self, sha256: str) -> Path | None:
        """A local path to read the original from, or None when it is not kept."""

    def delete(self, sha256: str) -> None: ...

    def keys(self, older_than: float) -> Iterator[str]:
        """The kept hashes stored more than `older_than` seconds ago."""


class DirectoryStorage:
    """Originals as files `<root>/<ab>/<abcdef...>`: two hex digits of fan-out keep any one
    directory small."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _file(self, sha256: str) -> Path:
        if len(sha256) != 64 or not all(c in "0123456789abcdef" for c in sha256):
            raise ValueError(f"not a SHA-256 key: {sha256[:80]!r}")
        return self.root / sha256[:2] / sha256

    def put(self, sha256: str, source: Path) -> None:
        target = self._file(sha256)
        if target.exists():  # the same bytes are already kept
            source.unlink(missing_ok=True)
            os.utime(target)  # fresh again for keys(older_than): a new row is about to name it
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        # Into place under a temporary name first: a reader never sees half a file.
        partial = target.with_name(f".{sha256}.{os.getpid()}.part")
        shutil.move(source, partial)
        os.replace(partial, target)

    def path(self, sha256: str) -> Path | None:
        target = self._file(sha256)
        return target if target.is_file() else None

    def delete(self, sha256: str) -> None:
        self._file(sha256).unlink(missing_ok=True)

    def keys(self, older_than: float = 0) -> Iterator[str]:
        if not self.root.is_dir():
            return
        cutoff = time.time() - older_than
        for shard in self.root.iterdir():
            if not shard.is_dir() or len(shard.name) != 2:
                continue
            for entry in shard.iterdir():
                if len(entry.name) == 64 and not entry.name.startswith("."):
                    try:
                        if entry.stat().st_mtime <= cutoff:
                            yield entry.name
                    except FileNotFoundError:
                        continue
