"""Hartigan's dip statistic with its modal interval and modal triangle (for DipEncoder's gradient).

The PyPI package ``diptest`` computes the same statistic but does not expose the *modal
triangle*, the three sorted-sample indices whose empirical-CDF deviation attains the dip, which
DipEncoder differentiates through. This module implements Hartigan & Hartigan's algorithm (AS 217,
as restated in Maechler's R ``diptest``) and records that triangle.
"""

from __future__ import annotations

import numpy as np

from clustlib.errors import InvalidParameter

__all__ = ["dip_statistic", "dip_gradient", "mirrored_modal_interval"]


def _hull_indices(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``mn``/``mj``: for every j the previous (next) vertex of the greatest convex minorant
    (least concave majorant) of the empirical CDF on points 0..j (j..n-1)."""
    n = len(x)
    mn = np.zeros(n, dtype=np.int64)
    for j in range(1, n):
        mn[j] = j - 1
        while True:
            a = mn[j]
            b = mn[a]
            if a == 0 or (x[j] - x[a]) * (a - b) < (x[a] - x[b]) * (j - a):
                break
            mn[j] = b
    mj = np.zeros(n, dtype=np.int64)
    mj[n - 1] = n - 1
    for k in range(n - 2, -1, -1):
        mj[k] = k + 1
        while True:
            a = mj[k]
            b = mj[a]
            if a == n - 1 or (x[k] - x[a]) * (a - b) < (x[a] - x[b]) * (k - a):
                break
            mj[k] = b
    return mn, mj


def dip_statistic(x, *, is_sorted: bool = False) -> tuple[float, tuple[int, int], tuple[int, int, int]]:
    """Hartigan's dip of a 1-D sample, its modal interval and its modal triangle.

    Parameters
    ----------
    x : array-like of float, shape (n,)
    is_sorted : bool, default=False
        Skip sorting when ``x`` is already ascending.

    Returns
    -------
    dip : float
        In [1/(2n), 1/4] for n >= 2 distinct values (0 for n < 2 or a constant sample... by the
        ``min_is_0`` convention it is 1/(2n) there too; we return 1/(2n) when n >= 1).
    modal_interval : (int, int)
        Indices (into the sorted sample) of the modal interval's ends.
    modal_triangle : (int, int, int)
        Sorted-sample indices ``(i1, i2, i3)``: ``i1``, ``i3`` span the hull segment and ``i2`` is
        the point of largest deviation; ``(-1, -1, -1)`` when the dip is the trivial 1/(2n).

    References
    ----------
    Hartigan, J. A., Hartigan, P. M., "The Dip Test of Unimodality", Ann. Statist. 13(1), 1985.
    Hartigan, P. M., "Algorithm AS 217: Computation of the Dip Statistic", Appl. Statist. 34(3), 1985.
    Krause, A., Liebscher, V., "Multimodal projection pursuit using the dip statistic", 2005
    (the modal triangle and the dip's gradient).
    """
    x = np.asarray(x, dtype=np.float64).ravel()
    if not is_sorted:
        x = np.sort(x)
    n = len(x)
    if n == 0:
        raise InvalidParameter("the dip of an empty sample is undefined; pass at least one value.")
    triangle = (-1, -1, -1)
    if n < 2 or x[-1] == x[0]:
        return 1.0 / (2 * n), (0, n - 1), triangle
    mn, mj = _hull_indices(x)
    low, high = 0, n - 1
    dip = 1.0  # in units of 1/n counts; the minimum possible dip is 1/(2n) -> 1 here before halving
    while True:
        gcm = [high]
        while gcm[-1] > low:
            gcm.append(int(mn[gcm[-1]]))
        lcm = [low]
        while lcm[-1] < high:
            lcm.append(int(mj[lcm[-1]]))
        l_gcm, l_lcm = len(gcm) - 1, len(lcm) - 1
        ig, ih = l_gcm, l_lcm
        ix, iv = l_gcm - 1, 1
        d = 0.0
        if l_gcm != 1 or l_lcm != 1:
            while True:
                gcmix, lcmiv = gcm[ix], lcm[iv]
                if gcmix > lcmiv:
                    gcmi1 = gcm[ix + 1]
                    dx = (lcmiv - gcmi1 + 1) - (x[lcmiv] - x[gcmi1]) * (gcmix - gcmi1) / (x[gcmix] - x[gcmi1])
                    iv += 1
                    if dx >= d:
                        d, ig, ih = dx, ix + 1, iv - 1
                else:
                    lcmiv1 = lcm[iv - 1]
                    dx = (x[gcmix] - x[lcmiv1]) * (lcmiv - lcmiv1) / (x[lcmiv] - x[lcmiv1]) - (gcmix - lcmiv1 - 1)
                    ix -= 1
                    if dx >= d:
                        d, ig, ih = dx, ix + 1, iv
                ix = max(ix, 0)
                iv = min(iv, l_lcm)
                if gcm[ix] == lcm[iv]:
                    break
        else:
            d = 1.0
        if d < dip:
            break
        # Dips inside the convex minorant (left of the modal interval) ...
        dip_l = 0.0
        tri_l = triangle
        for j in range(ig, l_gcm):
            jb, je = gcm[j + 1], gcm[j]
            if je - jb > 1 and x[je] != x[jb]:
                c = (je - jb) / (x[je] - x[jb])
                jj = np.arange(jb, je + 1)
                t = (jj - jb + 1) - (x[jb:je + 1] - x[jb]) * c
                k = int(np.argmax(t))
                if t[k] > dip_l and t[k] > 1.0:
                    dip_l, tri_l = float(t[k]), (jb, jb + k, je)
        # ... and inside the concave majorant (right of it).
        dip_u = 0.0
        tri_u = triangle
        for j in range(ih, l_lcm):
            jb, je = lcm[j], lcm[j + 1]
            if je - jb > 1 and x[je] != x[jb]:
                c = (je - jb) / (x[je] - x[jb])
                jj = np.arange(jb, je + 1)
                t = (x[jb:je + 1] - x[jb]) * c - (jj - jb - 1)
                k = int(np.argmax(t))
                if t[k] > dip_u and t[k] > 1.0:
                    dip_u, tri_u = float(t[k]), (jb, jb + k, je)
        if dip_u > dip:
            dip, triangle = dip_u, tri_u
        if dip_l > dip:
            dip, triangle = dip_l, tri_l
        if low == gcm[ig] and high == lcm[ih]:
            break
        low, high = gcm[ig], lcm[ih]
    return dip / (2 * n), (low, high), triangle


def dip_gradient(x_sorted: np.ndarray, triangle: tuple[int, int, int]) -> np.ndarray:
    """Gradient of the dip w.r.t. the three sorted values of its modal triangle.

    With ``i1 < i2 < i3`` and values ``a = x[i1], b = x[i2], c = x[i3]``, the dip is
    ``|(i2 - i1 + s) - (i3 - i1) (b - a)/(c - a)| / (2n)`` with a constant ``s``; its derivative
    w.r.t. (a, b, c) is returned (zeros for a trivial triangle).

    Parameters
    ----------
    x_sorted : ndarray, shape (n,)
    triangle : (int, int, int)

    Returns
    -------
    ndarray, shape (3,)
        d dip / d (x[i1], x[i2], x[i3]).
    """
    i1, i2, i3 = triangle
    if i1 < 0 or x_sorted[i3] == x_sorted[i1]:
        return np.zeros(3)
    n = len(x_sorted)
    a, b, c = x_sorted[i1], x_sorted[i2], x_sorted[i3]
    span = i3 - i1
    ratio = (b - a) / (c - a)
    # Sign of the deviation: left-hull triangles count points above the line, right-hull below.
    dev = (i2 - i1) - span * ratio
    sign = 1.0 if dev >= 0 else -1.0
    db = -span / (c - a)
    da = -span * ((b - c) / (c - a) ** 2)
    dc = -span * (-(b - a) / (c - a) ** 2)
    return sign * np.array([da, db, dc]) / (2 * n)


def mirrored_modal_interval(x_sorted: np.ndarray) -> tuple[float, float]:
    """Modal interval of a 1-D cluster found on mirrored data (as SkinnyDip / DipEncoder do).

    A cluster cut out of a larger sample is often one-sided; mirroring it at its minimum and at its
    maximum gives two symmetric samples. The mirror with the larger dip is kept and its modal
    interval is mapped back onto the original side; when that interval straddles the mirror
    point, the sample's own modal interval is used (ClustPy's ``_dip_mirrored_data``).

    Parameters
    ----------
    x_sorted : ndarray, shape (n,)
        Ascending values.

    Returns
    -------
    (float, float)
        Lower and upper end of the modal interval, in the units of ``x_sorted``.

    References
    ----------
    Maurus, Plant, "Skinny-dip: Clustering in a Sea of Noise", KDD 2016.
    """
    x = np.asarray(x_sorted, dtype=np.float64)
    n = len(x)
    best = None
    # Left mirror: positions 0..n-2 hold copies of x[n-1..1], position n-1+t holds x[t].
    # Right mirror: position t <= n-1 holds x[t], position n-1+t holds the copy of x[n-1-t].
    for side, mirrored in (("left", np.concatenate([2 * x[0] - x[:0:-1], x])),
                           ("right", np.concatenate([x, 2 * x[-1] - x[-2::-1]]))):
        d, (i, j), _ = dip_statistic(mirrored, is_sorted=True)
        if i < n - 1 < j:  # the interval straddles the mirror: fall back to the sample's own
            _, (lo, hi), _ = dip_statistic(x, is_sorted=True)
        elif side == "left":
            lo, hi = (i - (n - 1), j - (n - 1)) if i >= n - 1 else ((n - 1) - j, (n - 1) - i)
        else:
            lo, hi = (i, j) if j <= n - 1 else ((2 * n - 2) - j, (2 * n - 2) - i)
        if best is None or d > best[0]:
            best = (d, float(x[lo]), float(x[hi]))
    return best[1], best[2]
