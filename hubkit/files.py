"""Files on disk: the cache folder, content hashes, and folders that appear complete or not at all."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

CACHE_ENV = "HUBKIT_CACHE"


def cache_root() -> Path:
    """`$HUBKIT_CACHE`, else `~/.cache/hubkit`: converted models, tiny models, downloaded corpora."""
    root = os.environ.get(CACHE_ENV)
    return Path(root).expanduser() if root else Path.home() / ".cache" / "hubkit"


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 22) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def current_umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask


def _remove(path: Path) -> None:
    """Rename first, then delete: no reader ever sees a half-deleted folder under `path`."""
    trash = Path(tempfile.mkdtemp(prefix=f".{path.name}-old-", dir=path.parent))
    os.rename(path, trash / "old")
    shutil.rmtree(trash, ignore_errors=True)


def write_bytes_atomically(path: str | os.PathLike, data: bytes) -> None:
    """Write a temp file beside `path`, then rename it: readers see the old file or the whole new one."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp makes it 0600: give it a plain open's mode
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_folder(final: str | os.PathLike, replace: bool = False) -> Iterator[Path]:
    """A new temp folder beside `final` that becomes `final` in one rename when the block ends
    without error, so readers (and parallel runs) see no folder or a complete one.

    An existing `final` is replaced when `replace`; otherwise, or when another process renames
    its own copy into place first, that copy is kept. On error `final` is left as it was.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}-", dir=final.parent))
    try:
        yield tmp
        os.chmod(tmp, 0o777 & ~current_umask())  # mkdtemp makes it 0700: give it a plain mkdir's mode
        if replace and final.exists():
            _remove(final)
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.exists():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
