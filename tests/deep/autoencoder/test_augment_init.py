"""Augmentation (experiment H) and alternative initial clusterings (experiment E) of clustlib.deep."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from sklearn.cluster import KMeans
from sklearn.datasets import load_digits
from sklearn.metrics import adjusted_rand_score
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from clustlib.deep import DCN, DEC, AEKMeans, pretrain_autoencoder
from clustlib.deep import INITIAL_CLUSTERINGS, initial_clustering
from clustlib.deep.augment.affine import RandomAffineBatch, affine_thetas, make_augmentation
from clustlib.errors import InvalidParameter


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def digits():
    d = load_digits()
    X = ((d.data - d.data.mean()) / d.data.std()).astype(np.float32)
    blank = float(-d.data.mean() / d.data.std())  # a black pixel after the global z-score
    return X, d.target, blank


def _f64(v):
    return torch.tensor([float(v)], dtype=torch.float64)


@pytest.mark.parametrize("angle,tx,ty,shear", [(10, 0, 0, 0), (0, 3, -2, 0), (0, 0, 0, 8), (-14, 2, -3, -6)])
def test_affine_matches_torchvision_pixel_for_pixel(angle, tx, ty, shear):
    img = torch.rand(1, 1, 28, 28, generator=torch.Generator().manual_seed(0))
    ref = TF.affine(img, angle=float(angle), translate=[tx, ty], scale=1.0, shear=[float(shear), 0.0],
                    interpolation=InterpolationMode.NEAREST, fill=0.0)
    aug = RandomAffineBatch((28, 28, 1))
    theta = affine_thetas(_f64(angle), _f64(tx), _f64(ty), _f64(shear), (28, 28))
    aug._thetas = lambda b: theta
    assert torch.equal(aug(img), ref)


def test_draws_are_per_sample_seeded_and_layout_consistent(digits):
    X = torch.from_numpy(digits[0][:1]).repeat(32, 1)  # one image 32 times
    a, b = RandomAffineBatch((8, 8, 1), seed=3), RandomAffineBatch((8, 8, 1), seed=3)
    out = a(X)
    assert out.shape == X.shape
    assert len({tuple(r.tolist()) for r in out}) > 20  # independent draws, not one per batch
    assert torch.equal(out, b(X))  # same seed, same augmentation
    # flat HWC rows and (B, C, H, W) images get the same warp
    rgb = torch.rand(4, 5, 6, 3, generator=torch.Generator().manual_seed(1))  # (B, H, W, C)
    flat = RandomAffineBatch((5, 6, 3), seed=0)(rgb.reshape(4, -1))
    img = RandomAffineBatch((5, 6, 3), seed=0)(rgb.permute(0, 3, 1, 2))
    assert torch.equal(flat, img.permute(0, 2, 3, 1).reshape(4, -1))


def test_identity_and_fill():
    X = torch.rand(8, 36, generator=torch.Generator().manual_seed(0))
    assert torch.equal(RandomAffineBatch((6, 6, 1), degrees=0, translate=0, shear=0)(X), X)
    shifted = RandomAffineBatch((6, 6, 1), degrees=0, translate=0.5, shear=0, fill=-7.0, seed=2)(X)
    moved_in = shifted != X
    assert (shifted[moved_in] == -7.0).any() and not torch.isnan(shifted).any()


def test_augmentation_bad_input(digits):
    X = digits[0][:100]
    with pytest.raises(InvalidParameter, match="image_shape"):
        DEC(10, augmentation="affine", progress=False).fit(X)
    with pytest.raises(InvalidParameter, match="H\\*W\\*C = 64"):
        DEC(10, augmentation="affine", image_shape=(7, 7, 1), progress=False).fit(X)
    with pytest.raises(InvalidParameter, match="augmentation must be"):
        DEC(10, augmentation="rotate", image_shape=(8, 8, 1), progress=False).fit(X)
    with pytest.raises(InvalidParameter, match="augmentation_fill"):
        DEC(10, augmentation="affine", image_shape=(8, 8, 1), augmentation_fill=[0, 1], progress=False).fit(X)
    with pytest.raises(InvalidParameter, match="image_shape"):
        make_augmentation("affine", None)
    with pytest.raises(InvalidParameter, match="features per sample"):
        RandomAffineBatch((8, 8, 1))(torch.zeros(2, 10))


def test_augmented_pretraining_is_cached_separately(digits, tmp_path):
    X, _, blank = digits
    kw = dict(network="ff_512_256_128", embedding_size=5, epochs=1, batch_size=256, seed=0, cache_dir=tmp_path,
              progress=False)
    plain = pretrain_autoencoder(X, **kw)
    aug = pretrain_autoencoder(X, augmentation="affine", image_shape=(8, 8, 1), augmentation_fill=blank, **kw)
    assert plain.key != aug.key and not aug.from_cache
    again = pretrain_autoencoder(X, augmentation="affine", image_shape=(8, 8, 1), augmentation_fill=blank, **kw)
    assert again.from_cache and again.key == aug.key


@pytest.mark.score
def test_augmented_dec_clusters_digits_deterministically(digits, tmp_path, seed, record_score):
    """Augmented pretraining + clustering: a real partition of digits, the same on a refit, not the plain one."""
    X, y, blank = digits
    kw = dict(pretrain_epochs=25, clustering_epochs=5, random_state=seed, cache_dir=tmp_path, progress=False,
              network="ff_512_256_128")
    aug = dict(augmentation="affine", image_shape=(8, 8, 1), augmentation_fill=blank)
    first = DEC(10, **aug, **kw).fit(X)
    again = DEC(10, **aug, **kw).fit(X)
    plain = DEC(10, **kw).fit(X)
    assert np.array_equal(first.labels_, again.labels_)
    assert first.history_.losses == again.history_.losses
    assert first.history_.losses != plain.history_.losses
    assert record_score("ari", adjusted_rand_score(y, first.labels_)) > 0.5  # seeds 0-4 on AMD EPYC: 0.558-0.619


@pytest.mark.score
@pytest.mark.parametrize("algorithm", INITIAL_CLUSTERINGS)
def test_initial_clusterings_partition_blobs(algorithm, seed, record_score):
    rng = np.random.default_rng(seed)
    y = np.repeat(np.arange(4), 50)
    Z = rng.normal(scale=8, size=(4, 5))[y] + rng.normal(size=(200, 5))
    init = initial_clustering(Z, 4, algorithm, n_init=3, seed=seed)
    assert record_score("ari", adjusted_rand_score(y, init.labels_)) > 0.95  # seeds 0-4 on AMD EPYC: 1.0 for every algorithm
    assert init.cluster_centers_.shape == (4, 5)
    for c in range(4):  # centres sit on their clusters
        members = init.labels_ == c
        assert np.linalg.norm(init.cluster_centers_[c] - Z[members].mean(0)) < 1.0


def test_initial_clustering_is_what_the_method_starts_from(digits, tmp_path):
    X, y, _ = digits
    kw = dict(pretrain_epochs=3, random_state=0, cache_dir=tmp_path, progress=False, network="ff_512_256_128")
    em = AEKMeans(10, initial_clustering="em", **kw).fit(X)
    km = AEKMeans(10, **kw).fit(X)
    ref = KMeans(10, n_init=10, random_state=0).fit(km.transform(X).astype(np.float64)).labels_
    assert np.array_equal(km.init_labels_, ref)
    assert not np.array_equal(em.init_labels_, km.init_labels_)
    assert np.array_equal(em.labels_, em.init_labels_)  # AE+EM scores the EM partition
    spectral = AEKMeans(10, initial_clustering="spectral", **kw).fit(X)
    direct = initial_clustering(spectral.transform(X), 10, "spectral", n_init=10, seed=0)
    assert np.array_equal(spectral.init_labels_, direct.labels_)
    dcn = DCN(10, initial_clustering="spectral", clustering_epochs=1, **kw).fit(X)
    assert np.array_equal(dcn.init_labels_, direct.labels_)  # same pretrained AE, same start
    with pytest.raises(InvalidParameter, match="initial_clustering must be one of"):
        DEC(10, initial_clustering="dbscan", **kw).fit(X)
