"""Errors raised by clustlib.

Every error a user can fix derives from :class:`ClustlibError`; the CLI prints it as one paragraph
(no traceback) and exits with status 2. Messages say what was wrong *and* how to fix it.
"""

from __future__ import annotations

from sklearn.exceptions import NotFittedError as _SklearnNotFittedError

__all__ = [
    "ClustlibError",
    "DatasetUnavailable",
    "WeightsUnavailable",
    "InvalidParameter",
    "UnknownName",
    "ProfileError",
    "SchedulerUnreachable",
    "MemoryBudgetExceeded",
    "CheckpointMismatch",
    "NotFittedError",
]


class ClustlibError(Exception):
    """Base class of every error clustlib raises on purpose."""


class InvalidParameter(ClustlibError, ValueError):
    """A parameter has the wrong value, type or shape."""


class UnknownName(InvalidParameter, KeyError):
    """A name (dataset, extractor, layer, study, profile, method) is not registered.

    The message lists the valid names.
    """

    def __init__(self, kind: str, name: str, valid) -> None:
        valid = sorted(valid)
        self.kind, self.name, self.valid = kind, name, valid
        super().__init__(f"Unknown {kind} {name!r}. Valid {kind}s: {', '.join(map(str, valid))}.")

    def __str__(self) -> str:  # KeyError would quote the message otherwise
        return self.args[0]


class DatasetUnavailable(ClustlibError, FileNotFoundError):
    """A dataset's files are missing or truncated; the message says where we looked and how to get them."""


class WeightsUnavailable(ClustlibError, FileNotFoundError):
    """Pretrained weights are missing offline; the message names the file and the folder to put it in."""


class ProfileError(InvalidParameter):
    """A parameter profile or override does not match the notebook's parameters cell."""


class SchedulerUnreachable(ClustlibError, ConnectionError):
    """A Dask scheduler address could not be reached in time."""


class MemoryBudgetExceeded(ClustlibError, MemoryError):
    """A method would need more memory than allowed; ``reason`` is a one-line "N/A: ..." note to print.

    Raised before allocating, so a study can report the method as N/A (as the papers do) and go on.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class CheckpointMismatch(InvalidParameter):
    """A checkpoint was written by another configuration (data, network, seed or hyperparameters)."""


class NotFittedError(InvalidParameter, _SklearnNotFittedError):
    """An estimator was used (``predict``, ``transform``...) before ``fit``.

    Also scikit-learn's :class:`sklearn.exceptions.NotFittedError`, so ``check_is_fitted``-style handlers catch it.
    """
