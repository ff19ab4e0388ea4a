"""Executors for grids of independent tasks: in-process, or on a Dask cluster.

An executor runs ``fn(spec, **shared)`` for every spec and returns ``{key(spec): result}``.
With a ``store`` (a JSON-lines file) every result is appended as soon as it completes (flushed
and fsynced, one line per task), and keys already in the store are never recomputed, so an
interrupted grid resumes where it stopped. Each task sets its thread count (BLAS/OpenMP through
threadpoolctl, and torch when it is imported) and records it in its result, since Dask workers
default to one thread.

Results must be JSON-serialisable dicts; the executor adds a ``"_task"`` entry
(``threads``, ``worker``, ``pid``, ``seconds``).

References
----------
.. [1] Dask Development Team, "Dask: Library for dynamic task scheduling", 2016,
   https://dask.org (``distributed.Client``, ``LocalCluster``, worker resources).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any, Protocol

from tqdm.auto import tqdm

from clustlib.errors import InvalidParameter, SchedulerUnreachable

__all__ = [
    "Executor",
    "InProcessExecutor",
    "DaskExecutor",
    "ResultStore",
    "make_executor",
]


class ResultStore:
    """Append-only JSON-lines file of completed tasks: one ``{"key": ..., "result": ...}`` per line.

    Parameters
    ----------
    path : str or PathLike
        File to append to; created with its folder when missing. A truncated last line (a
        crash mid-write) is ignored on reading.
    """

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)

    def load(self) -> dict[str, Any]:
        """Completed results by key (later lines win)."""
        done: dict[str, Any] = {}
        if not self.path.exists():
            return done
        with self.path.open("r", encoding="utf-8") as fh:
            for line in fh:
                try:
                    rec = json.loads(line)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash; the task will be recomputed
                done[rec["key"]] = rec["result"]
        return done

    def append(self, key: str, result: Any) -> None:
        """Write one completed result durably (flush + fsync)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": key, "result": result}, allow_nan=True) + "\n"
        if self.path.exists() and self.path.stat().st_size:
            with self.path.open("rb") as fh:  # a crash may have left half a line: end it first
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = "\n" + line
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line)
            fh.flush()
            os.fsync(fh.fileno())


class Executor(Protocol):
    """Runs ``fn(spec, **shared)`` for every spec; see the module docstring."""

    def map(self, fn: Callable[..., dict], specs: Iterable, *, key: Callable[[Any], str] = str,
            store: str | os.PathLike | ResultStore | None = None,
            shared: Mapping[str, Any] | None = None, desc: str | None = None,
            progress: bool = True, on_result: Callable[[str, dict], None] | None = None) -> dict[str, dict]:
        ...


def _thread_info(threads: int | None) -> dict[str, Any]:
    from threadpoolctl import threadpool_info

    info: dict[str, Any] = {"requested": threads,
                            "blas": sorted({p["num_threads"] for p in threadpool_info()})}
    if "torch" in sys.modules:
        info["torch"] = sys.modules["torch"].get_num_threads()
    return info


def _run_task(fn: Callable[..., dict], spec: Any, threads: int | None, shared: Mapping[str, Any]) -> dict:
    """Run one task with the thread count set, and record where and how it ran."""
    from threadpoolctl import threadpool_limits

    t0 = time.perf_counter()
    torch = sys.modules.get("torch")
    old_torch = torch.get_num_threads() if torch is not None else None
    try:
        if torch is not None and threads is not None:
            torch.set_num_threads(threads)
        with threadpool_limits(limits=threads):
            info = _thread_info(threads)
            result = dict(fn(spec, **shared))
    finally:
        if torch is not None and old_torch is not None:
            torch.set_num_threads(old_torch)
    result["_task"] = {"threads": info, "worker": socket.gethostname(), "pid": os.getpid(),
                       "seconds": time.perf_counter() - t0}
    return result


def _prepare(specs: Iterable, key: Callable[[Any], str],
             store: str | os.PathLike | ResultStore | None) -> tuple[list, list[str], ResultStore | None, dict]:
    specs = list(specs)
    keys = [str(key(s)) for s in specs]
    if len(set(keys)) != len(keys):
        seen: set[str] = set()
        dup = next(k for k in keys if k in seen or seen.add(k))
        raise InvalidParameter(f"Task keys must be unique; {dup!r} appears more than once.")
    if store is not None and not isinstance(store, ResultStore):
        store = ResultStore(store)
    done = store.load() if store is not None else {}
    return specs, keys, store, {k: done[k] for k in keys if k in done}


class InProcessExecutor:
    """Run tasks one after the other in this process.

    Parameters
    ----------
    threads : int or None
        Thread count set in every task (None leaves the libraries' defaults).
    """

    def __init__(self, threads: int | None = None) -> None:
        self.threads = threads

    def map(self, fn: Callable[..., dict], specs: Iterable, *, key: Callable[[Any], str] = str,
            store: str | os.PathLike | ResultStore | None = None,
            shared: Mapping[str, Any] | None = None, desc: str | None = None,
            progress: bool = True, on_result: Callable[[str, dict], None] | None = None) -> dict[str, dict]:
        """Run ``fn(spec, **shared)`` for every spec whose key is not in ``store`` yet.

        ``on_result(key, result)`` is called in this process as each task completes (after the store line).

        Returns
        -------
        dict
            ``{key: result}`` for every spec, stored ones included, in spec order.
        """
        specs, keys, store, results = _prepare(specs, key, store)
        shared = dict(shared or {})
        todo = [(k, s) for k, s in zip(keys, specs) if k not in results]
        for k, s in tqdm(todo, desc=desc, disable=not progress):
            res = _run_task(fn, s, self.threads, shared)
            if store is not None:
                store.append(k, res)
            results[k] = res
            if on_result is not None:
                on_result(k, res)
        return {k: results[k] for k in keys}

    def close(self) -> None:
        """Nothing to release (symmetry with :class:`DaskExecutor`)."""

    def __enter__(self) -> InProcessExecutor:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class DaskExecutor:
    """Run tasks on a Dask cluster: a new ``LocalCluster``, or an existing scheduler.

    Parameters
    ----------
    address : str or None
        ``"tcp://host:port"`` of a running scheduler, or None to start a local cluster.
    n_workers : int
        Worker processes of the local cluster (with ``gpu=True``: one per GPU id in ``gpus``).
    threads_per_worker : int
        Threads of each worker, also set as every task's BLAS/torch thread count.
    gpu : bool
        Ask for GPU workers: tasks carry ``resources={"GPU": 1}``; a local cluster gets one
        worker per GPU, each with its own ``CUDA_VISIBLE_DEVICES``.
    gpus : sequence of int or None
        GPU ids for a local GPU cluster (default: ``range(n_workers)``).
    retries : int
        Times a task that raised is resubmitted (a worker that dies is handled by the
        scheduler, which reschedules its tasks).
    timeout : float
        Seconds to wait for the scheduler before raising :class:`SchedulerUnreachable`.
    """

    def __init__(self, address: str | None = None, n_workers: int = 2, threads_per_worker: int = 1,
                 gpu: bool = False, gpus: Iterable[int] | None = None, retries: int = 2,
                 timeout: float = 10.0) -> None:
        if address is not None and not isinstance(address, str):
            raise InvalidParameter(f"address must be a string like 'tcp://host:8786', got {address!r}.")
        for name, value in (("n_workers", n_workers), ("threads_per_worker", threads_per_worker)):
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidParameter(f"{name} must be a positive integer, got {value!r}.")
        if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
            raise InvalidParameter(f"retries must be a non-negative integer, got {retries!r}.")
        self.address, self.n_workers, self.threads_per_worker = address, n_workers, threads_per_worker
        self.gpu, self.gpus, self.retries, self.timeout = gpu, list(gpus) if gpus is not None else None, retries, timeout
        self.cluster = None
        self.client = None

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> DaskExecutor:
        """Connect (or start the local cluster); idempotent."""
        if self.client is not None:
            return self
        from distributed import Client

        if self.address is not None:
            try:
                self.client = Client(self.address, timeout=f"{self.timeout}s")
            except (OSError, TimeoutError) as exc:
                raise SchedulerUnreachable(
                    f"No Dask scheduler answered at {self.address} within {self.timeout:g} s ({exc}). "
                    "Start one with `dask scheduler` (and workers with `dask worker ADDRESS`), "
                    "check the address and firewall, or pass address=None for a local cluster."
                ) from None
            return self
        self.cluster = self._local_cluster()
        self.client = Client(self.cluster, timeout=f"{self.timeout}s")
        return self

    def _local_cluster(self):
        from distributed import LocalCluster

        common = dict(threads_per_worker=self.threads_per_worker, processes=True,
                      dashboard_address=None, silence_logs=logging.ERROR)
        if not self.gpu:
            return LocalCluster(n_workers=self.n_workers, **common)
        from distributed import Nanny, Scheduler, SpecCluster

        ids = self.gpus if self.gpus is not None else list(range(self.n_workers))
        workers = {f"gpu-{g}": {"cls": Nanny, "options": {
            "nthreads": self.threads_per_worker, "resources": {"GPU": 1},
            "env": {"CUDA_VISIBLE_DEVICES": str(g)}}} for g in ids}
        scheduler = {"cls": Scheduler, "options": {"dashboard_address": None}}
        return SpecCluster(workers=workers, scheduler=scheduler, silence_logs=logging.ERROR)

    def close(self) -> None:
        """Close the client and, for a local cluster, the cluster."""
        if self.client is not None:
            self.client.close()
            self.client = None
        if self.cluster is not None:
            self.cluster.close()
            self.cluster = None

    def __enter__(self) -> DaskExecutor:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    # -- work ------------------------------------------------------------------------------
    def map(self, fn: Callable[..., dict], specs: Iterable, *, key: Callable[[Any], str] = str,
            store: str | os.PathLike | ResultStore | None = None,
            shared: Mapping[str, Any] | None = None, desc: str | None = None,
            progress: bool = True, on_result: Callable[[str, dict], None] | None = None) -> dict[str, dict]:
        """Submit ``fn(spec, **shared)`` for every spec not in ``store``; write results as they complete.

        ``shared`` values are scattered to every worker once. Results come back in spec order;
        ``on_result(key, result)`` is called in this process as each one completes (completion order).
        """
        from distributed import as_completed

        specs, keys, store, results = _prepare(specs, key, store)
        self.start()
        shared = dict(shared or {})
        todo = [(k, s) for k, s in zip(keys, specs) if k not in results]
        if todo:
            # each value scattered as one object (a one-item list): a dict given to scatter would be split into
            # futures keyed by its own keys, which clash across calls
            scattered = {name: self.client.scatter([value], broadcast=True, hash=False)[0]
                         for name, value in shared.items()}
            extra = {"resources": {"GPU": 1}} if self.gpu else {}
            futures = {}
            for k, s in todo:
                fut = self.client.submit(_run_task, fn, s, self.threads_per_worker, scattered,
                                         key=f"clustlib-{k}-{os.urandom(4).hex()}", pure=False,
                                         retries=self.retries, **extra)
                futures[fut] = k
            with tqdm(total=len(todo), desc=desc, disable=not progress) as bar:
                for fut in as_completed(futures):
                    k = futures[fut]
                    res = fut.result()
                    if store is not None:
                        store.append(k, res)
                    results[k] = res
                    if on_result is not None:
                        on_result(k, res)
                    bar.update()
        return {k: results[k] for k in keys}


def make_executor(spec: str | None = None, **kwargs) -> InProcessExecutor | DaskExecutor:
    """Executor from a short description, for notebook parameters.

    Parameters
    ----------
    spec : {None, "inprocess", "local", "tcp://host:port"}
        None or ``"inprocess"``: :class:`InProcessExecutor`; ``"local"``: a Dask
        ``LocalCluster``; an address: that scheduler.
    **kwargs
        Passed to the executor.
    """
    if spec in (None, "inprocess"):
        return InProcessExecutor(**kwargs)
    if spec == "local":
        return DaskExecutor(address=None, **kwargs)
    if isinstance(spec, str) and "://" in spec:
        return DaskExecutor(address=spec, **kwargs)
    raise InvalidParameter(f"executor must be None, 'inprocess', 'local' or a scheduler address, got {spec!r}.")
