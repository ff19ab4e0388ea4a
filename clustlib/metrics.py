"""External clustering metrics.

All functions take ``labels_true`` and ``labels_pred`` as 1-D integer-like arrays of equal length N and are
invariant to permutations of the predicted labels. NMI, ARI and FMI are scikit-learn's; ACC, purity and the
local Fowlkes–Mallows scores are computed here from one contingency matrix (O(N + K_true * K_pred)).

References
----------
Guérin et al., "Combining pretrained CNN feature extractors to enhance clustering of complex natural
images", Neurocomputing 2021: eq. 2 (purity), eq. 6–8 (FM, local FM_i, per-class FM), eq. 10 (MIX).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from sklearn import metrics as _skm

from clustlib.errors import InvalidParameter

__all__ = [
    "contingency",
    "acc",
    "nmi",
    "ari",
    "fmi",
    "purity",
    "fm_local",
    "fm_per_class",
    "mix",
    "evaluate",
    "METRICS",
]


def _check_labels(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray]:
    labels_true = np.asarray(labels_true)
    labels_pred = np.asarray(labels_pred)
    if labels_true.ndim != 1 or labels_pred.ndim != 1:
        raise InvalidParameter(
            f"labels must be 1-D arrays; got shapes {labels_true.shape} and {labels_pred.shape}. "
            "Pass one label per sample (use .ravel() on column vectors)."
        )
    if labels_true.shape[0] != labels_pred.shape[0]:
        raise InvalidParameter(
            f"labels_true has {labels_true.shape[0]} entries but labels_pred has {labels_pred.shape[0]}: "
            "both must label the same samples in the same order."
        )
    if labels_true.shape[0] == 0:
        raise InvalidParameter("labels are empty: metrics need at least one labelled sample.")
    return labels_true, labels_pred


def _encode(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Map arbitrary labels to 0..K-1 (fast path for small non-negative integers)."""
    if labels.dtype.kind in "iub":
        lo, hi = int(labels.min()), int(labels.max())
        if lo >= 0 and hi < 4 * labels.shape[0] + 1024:
            present = np.zeros(hi + 1, dtype=bool)
            present[labels] = True
            if present.all():
                return labels.astype(np.int64, copy=False), hi + 1
            remap = np.cumsum(present) - 1
            return remap[labels], int(present.sum())
    uniques, inverse = np.unique(labels, return_inverse=True)
    return inverse.ravel(), len(uniques)


def contingency(labels_true, labels_pred) -> np.ndarray:
    """Dense contingency matrix, shape (K_true, K_pred), int64 counts of samples per (class, cluster)."""
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    t, kt = _encode(labels_true)
    p, kp = _encode(labels_pred)
    return np.bincount(t * kp + p, minlength=kt * kp).reshape(kt, kp)


def acc(labels_true, labels_pred) -> float:
    """Clustering accuracy: best one-to-one matching of clusters to classes (Hungarian algorithm).

    With more clusters than classes (or fewer), the matching is rectangular: unmatched clusters count as
    errors. Returns a fraction in [0, 1].
    """
    table = contingency(labels_true, labels_pred)
    rows, cols = linear_sum_assignment(table, maximize=True)
    return float(table[rows, cols].sum() / table.sum())


def nmi(labels_true, labels_pred) -> float:
    """Normalized mutual information, arithmetic normalisation 2 I / (H(Y) + H(C)) (scikit-learn's default)."""
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return float(_skm.normalized_mutual_info_score(labels_true, labels_pred))


def ari(labels_true, labels_pred) -> float:
    """Adjusted Rand index (scikit-learn)."""
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return float(_skm.adjusted_rand_score(labels_true, labels_pred))


def fmi(labels_true, labels_pred) -> float:
    """Fowlkes–Mallows index over sample pairs, Guérin eq. 6 (scikit-learn)."""
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    return float(_skm.fowlkes_mallows_score(labels_true, labels_pred))


def purity(labels_true, labels_pred) -> float:
    """Cluster purity, Guérin eq. 2: (1/N) sum over clusters of the size of its largest class."""
    table = contingency(labels_true, labels_pred)
    return float(table.max(axis=0).sum() / table.sum())


def fm_local(labels_true, labels_pred) -> np.ndarray:
    """Local Fowlkes–Mallows score FM_i of every sample, Guérin eq. 7, float64 (N,).

    TP_i, FP_i and FN_i count the pairs (i, j), j != i, that are same-cluster-same-class, same-cluster-
    other-class and same-class-other-cluster. A sample alone in its cluster or class scores 0.
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    t, kt = _encode(labels_true)
    p, kp = _encode(labels_pred)
    table = np.bincount(t * kp + p, minlength=kt * kp).reshape(kt, kp)
    tp = table[t, p] - 1.0  # pairs with i in the same cell
    cluster_pairs = table.sum(axis=0)[p] - 1.0  # TP_i + FP_i
    class_pairs = table.sum(axis=1)[t] - 1.0  # TP_i + FN_i
    denom = np.sqrt(cluster_pairs * class_pairs)
    out = np.zeros(t.shape[0], dtype=np.float64)
    np.divide(tp, denom, out=out, where=denom > 0)
    return out


def fm_per_class(labels_true, labels_pred) -> dict:
    """Per-class FM score, Guérin eq. 8: mean FM_i over the samples of each true class.

    Returns ``{class_label: score}`` with the original class labels as keys.
    """
    labels_true, labels_pred = _check_labels(labels_true, labels_pred)
    local = fm_local(labels_true, labels_pred)
    classes, inverse = np.unique(labels_true, return_inverse=True)
    sums = np.bincount(inverse.ravel(), weights=local)
    counts = np.bincount(inverse.ravel())
    return {c.item() if hasattr(c, "item") else c: float(s / n) for c, s, n in zip(classes, sums, counts)}


def mix(labels_true, labels_pred) -> float:
    """MIX = (NMI + PUR + ACC) / 3, Guérin eq. 10."""
    return (nmi(labels_true, labels_pred) + purity(labels_true, labels_pred) + acc(labels_true, labels_pred)) / 3.0


METRICS = {"nmi": nmi, "acc": acc, "ari": ari, "pur": purity, "fmi": fmi, "mix": mix}


def evaluate(labels_true, labels_pred, metrics=("nmi", "acc", "ari", "pur")) -> dict:
    """Several metrics at once: ``{"nmi": ..., "acc": ..., ...}`` (names from :data:`METRICS`)."""
    _check_labels(labels_true, labels_pred)
    unknown = [m for m in metrics if m not in METRICS]
    if unknown:
        raise InvalidParameter(f"Unknown metric(s) {unknown}. Valid metrics: {', '.join(METRICS)}.")
    return {name: METRICS[name](labels_true, labels_pred) for name in metrics}
