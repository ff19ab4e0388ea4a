"""clustlib beside ClustPy (clustlib.compare.clustpy_reference): same network, same start, comparable results."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clustlib.deep import pretrain_autoencoder
from clustlib.errors import InvalidParameter

clustpy_reference = pytest.importorskip("clustlib.compare.clustpy_reference")
pytest.importorskip("clustpy")

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def small_digits(digits_zscored):
    X, y = digits_zscored
    rows = np.random.default_rng(0).choice(len(X), 400, replace=False)
    return X[rows], y[rows]


def test_copied_autoencoder_embeds_and_reconstructs_identically(small_digits, tmp_path):
    X, _ = small_digits
    ae = pretrain_autoencoder(X, embedding_size=10, epochs=1, seed=0, cache_dir=tmp_path, progress=False).autoencoder
    cp = clustpy_reference.to_clustpy_autoencoder(ae)
    x = torch.from_numpy(X[:50])
    with torch.no_grad():
        assert torch.equal(cp.encode(x), ae.encode(x))
        assert torch.equal(cp.decode(cp.encode(x)), ae.decode(ae.encode(x)))


def test_side_by_side_scores_both_libraries_alike(small_digits, tmp_path, monkeypatch):
    monkeypatch.setenv("CLUSTLIB_CACHE", str(tmp_path))
    X, y = small_digits
    frame = clustpy_reference.side_by_side(X, y, 10, methods=("dec", "dcn"), seeds=(0,), pretrain_epochs=15,
                                           clustering_epochs=3, batch_size=128)
    assert set(frame["library"]) == {"clustlib", "ClustPy"} and len(frame) == 4
    assert frame["acc"].between(0.3, 1).all() and (frame["epoch_s"] > 0).all()
    for method, part in frame.groupby("method"):
        ours = part.loc[part["library"] == "clustlib", "acc"].item()
        theirs = part.loc[part["library"] == "ClustPy", "acc_rescored"].item()
        assert abs(ours - theirs) < 0.1, (method, ours, theirs)
    table = clustpy_reference.summarise_side_by_side(frame)
    assert list(table["method"]) == ["DEC", "DCN"] and "ratio clustlib" in table


def test_side_by_side_refuses_methods_clustpy_cannot_match(small_digits):
    X, y = small_digits
    with pytest.raises(InvalidParameter, match="side_by_side compares"):
        clustpy_reference.side_by_side(X, y, 10, methods=("acedec",))
