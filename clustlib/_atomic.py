"""Writing files so that a reader never sees half of one: a temporary sibling, then one ``os.replace``.

Every file clustlib keeps (records, tables, feature caches, checkpoints, downloads, progress notes) is written
through :func:`atomic_path` or :func:`atomic_write_text`: the bytes go to a hidden temporary file in the target's
folder (same file system, so the rename is atomic), which replaces the target only once it is complete. A crash
or a kill leaves either the old file or the new one, never a truncated file under a valid name; two processes
writing the same file both end with a complete copy. :func:`check_writable_folder` is the check made before a
long computation, so a run fails at once rather than at its first save.

This module imports nothing from clustlib but :mod:`clustlib.errors`, so every layer (data, features, cluster,
deep, results, runner) can use it.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from clustlib.errors import InvalidParameter

__all__ = ["temporary_sibling", "atomic_path", "atomic_write_text", "check_writable_folder"]


def temporary_sibling(path: str | os.PathLike) -> Path:
    """A new hidden path next to ``path`` that ends like it (``.x.npy`` -> ``..x.<hex>.tmp.npy``).

    Keeping the suffix matters: ``np.save`` and ``np.savez`` append ``.npy``/``.npz`` to a name without it.
    The folder is created; the file is not.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex}.tmp{path.suffix}")


@contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path to write; on success it replaces ``path``, on any error it is removed.

    >>> with atomic_path(folder / "x.npy") as tmp:   # doctest: +SKIP
    ...     np.save(tmp, array)
    """
    path = Path(path)
    tmp = temporary_sibling(path)
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike, text: str, *, durable: bool = True) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically.

    ``durable=True`` also ``fsync``s the data before the rename, so the new file survives a power cut (records,
    tables); ``durable=False`` skips it for notes rewritten every second (progress).
    """
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as handle:
            handle.write(text)
            if durable:
                handle.flush()
                os.fsync(handle.fileno())


def check_writable_folder(folder: str | os.PathLike, *, what: str, fix: str) -> None:
    """Raise :class:`InvalidParameter` unless ``folder`` is, or can be created as, a writable folder.

    Checked on its nearest existing ancestor, so nothing is created. ``what`` names the folder in the message,
    ``fix`` says what to do.
    """
    folder = Path(folder)
    existing = next(p for p in (folder, *folder.parents) if p.exists())
    if not existing.is_dir():
        reason = f"{existing} is a file, not a folder"
    elif not os.access(existing, os.W_OK | os.X_OK):
        reason = f"{existing} is read-only"
    else:
        return
    raise InvalidParameter(f"{what} {folder} is not writable ({reason}); {fix}")
