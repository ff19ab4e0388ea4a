"""Bag of features (bag of visual words) on dense SIFT descriptors: the BoF baseline of Guérin et al. 2021.

Guérin et al. (Appendix A, Tables A.3–A.6) report a "bag of sifts" row for the smallest dataset of each task,
citing Fukui & Wada [25]; neither paper states the sampling, the patch geometry or the vocabulary size. This
module follows the standard recipe of Lazebnik et al. (2006), whose choices are the defaults here:

1. every image is turned grey (ITU-R 601 luma) and resized to ``image_size`` × ``image_size`` pixels (224 by
   default, the size ``clustlib.data`` decodes image trees at, so the paper's datasets are not resampled again);
2. SIFT descriptors (Lowe 2004: 4 × 4 spatial cells × 8 orientation bins = 128 values, Gaussian window,
   L2-normalised, clipped at 0.2, normalised again, stored as uint8 ``min(512 v, 255)``) are computed on a
   **dense** grid of ``patch_size`` × ``patch_size`` patches every ``step`` pixels (16 and 8);
3. a visual vocabulary of ``vocabulary_size`` words (200) is learnt by k-means on a seeded random sample of
   ``sample_size`` descriptors of the dataset itself (the clustering setting has no training split);
4. each image becomes the L1-normalised histogram of its descriptors' nearest words: float32 (N, V).

Why dense rather than keypoint (difference-of-Gaussians) sampling: every image gets the same number of descriptors,
so no image has an empty or a three-descriptor histogram (plain-background UMist faces and upsampled 8 × 8 digits
have few DoG extrema); dense grids categorise scenes and objects better than keypoints (Fei-Fei & Perona 2005,
Nowak et al. 2006); and a dense grid is computed for a whole batch with array operations, where scikit-image's
``SIFT`` detects and describes keypoints one image and one keypoint at a time. The descriptor is upright (no
dominant-orientation rotation), as in dense-SIFT categorisation; flat patches (no gradient) give the zero
descriptor, which the vocabulary treats as one more word ("background").

Spatial binning uses bilinear weights: a pixel contributes to a cell with weight ``max(0, 1 - d / b)`` per axis,
``d`` its distance to the cell centre and ``b = patch_size / 4`` the cell side (Lowe's trilinear interpolation
along the two spatial axes; orientation is interpolated linearly between the two nearest of 8 bins). The Gaussian
window (σ = half the patch side) weights each cell by its value at the cell centre (VLFeat's flat-window
approximation).

References
----------
.. [1] J. Guérin et al., "Combining pretrained CNN feature extractors to enhance clustering of complex natural
   images", Neurocomputing 423 (2021), Section 3.2 and Appendix A.
.. [2] T. Fukui, T. Wada, "Commonality preserving image-set clustering based on diverse density", ISVC 2014.
.. [3] S. Lazebnik, C. Schmid, J. Ponce, "Beyond bags of features: spatial pyramid matching for recognizing
   natural scene categories", CVPR 2006 (dense 16 × 16 SIFT every 8 pixels, vocabularies of 200 and 400 words).
.. [4] D. G. Lowe, "Distinctive image features from scale-invariant keypoints", IJCV 60 (2004).
.. [5] A. Vedaldi, B. Fulkerson, "VLFeat" (``vl_dsift``, ``vl_phow``), 2008.
"""

from __future__ import annotations

import time

import numpy as np
from scipy.ndimage import gaussian_filter
from threadpoolctl import threadpool_limits
from tqdm.auto import tqdm

from clustlib.errors import InvalidParameter

__all__ = ["BagOfFeatures", "dense_sift", "grid_positions", "to_grey", "DESCRIPTOR_SIZE"]

_CELLS = 4  # spatial cells per side of a SIFT descriptor (Lowe 2004)
_ORIENTATIONS = 8  # orientation bins per cell
DESCRIPTOR_SIZE = _CELLS * _CELLS * _ORIENTATIONS  # 128
_CLIP = 0.2  # Lowe's clipping of the normalised descriptor
_FLAT = 1e-6  # descriptor norm under which a patch counts as flat (zero descriptor)
_PREDICT_DESCRIPTORS = 1 << 18  # descriptors per nearest-word search: 128 MiB of float32
_LUMA = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as PIL's "L" mode


def _positive_int(name: str, value, minimum: int = 1) -> int:
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < minimum:
        raise InvalidParameter(f"{name} must be an integer >= {minimum}, got {value!r}.")
    return int(value)


def _check_images(images) -> np.ndarray:
    """``images`` as uint8 (N, H, W, C) with C in {1, 3} (an ImageSet's ``images``), or a clear error."""
    images = getattr(images, "images", images)  # an ImageSet
    if not isinstance(images, np.ndarray) or images.dtype != np.uint8 or images.ndim != 4 \
            or images.shape[-1] not in (1, 3) or images.shape[0] == 0:
        raise InvalidParameter(
            "Bag of features needs a non-empty uint8 array of shape (N, H, W, C) with C = 1 or 3 (an ImageSet or "
            f"its .images); got {getattr(images, 'dtype', type(images).__name__)} with shape "
            f"{getattr(images, 'shape', None)}.")
    return images


def grid_positions(image_size: int, patch_size: int, step: int) -> np.ndarray:
    """Top (or left) pixel of every patch along one side: ``0, step, ...`` while the patch fits, int64 (G,)."""
    return np.arange(0, image_size - patch_size + 1, step, dtype=np.int64)


def to_grey(images: np.ndarray, image_size: int) -> np.ndarray:
    """uint8 (B, H, W, C) -> float32 (B, S, S) grey levels in [0, 1], resized (bilinear, antialiased when
    shrinking, as :mod:`clustlib.features.preprocess`) when H or W differs from S = ``image_size``."""
    grey = images.astype(np.float32) / 255.0
    grey = grey[..., 0] if grey.shape[-1] == 1 else grey @ _LUMA  # (B, H, W)
    if grey.shape[1:] == (image_size, image_size):
        return np.ascontiguousarray(grey)
    import torch
    import torch.nn.functional as F

    shrink = image_size < max(grey.shape[1:])
    resized = F.interpolate(torch.from_numpy(grey)[:, None], size=(image_size, image_size), mode="bilinear",
                            align_corners=False, antialias=shrink)
    return resized[:, 0].numpy()


def _cell_weights(size: int, centres: np.ndarray, cell: int) -> np.ndarray:
    """(len(centres), size) bilinear pooling weights ``max(0, 1 - |x - c| / cell)`` of pixel x for cell centre c."""
    pixels = np.arange(size, dtype=np.float64)
    return np.clip(1.0 - np.abs(pixels[None, :] - centres[:, None]) / cell, 0.0, None).astype(np.float32)


def dense_sift(grey: np.ndarray, *, patch_size: int = 16, step: int = 8) -> np.ndarray:
    """Upright SIFT descriptors of a dense grid of patches.

    Parameters
    ----------
    grey : float32 array, shape (B, S, S)
        Grey images in [0, 1] (:func:`to_grey`).
    patch_size : int
        Side of each square patch in pixels, a multiple of 4 (four cells of ``patch_size / 4`` pixels per side).
    step : int
        Grid spacing in pixels.

    Returns
    -------
    uint8 array, shape (B, G * G, 128)
        One descriptor per patch, patches in row-major grid order (G = ``len(grid_positions(S, patch_size,
        step))``), values ``min(floor(512 v), 255)`` of the clipped, L2-normalised descriptor v (cell row, cell
        column, orientation); all zeros for a flat patch.
    """
    cell = patch_size // _CELLS
    size = grey.shape[1]
    # Smoothing as VLFeat's PHOW (sigma = cell side / 6) keeps pixel-level aliasing out of the gradients.
    smooth = gaussian_filter(grey, sigma=(0.0, cell / 6.0, cell / 6.0), mode="nearest")
    gy, gx = np.gradient(smooth, axis=(1, 2))  # (B, S, S) each
    magnitude = np.hypot(gx, gy)
    # Orientation in [0, 8): split each gradient between its two nearest bins (linear interpolation).
    t = (np.arctan2(gy, gx) % (2 * np.pi)) * (_ORIENTATIONS / (2 * np.pi))
    low = np.floor(t)
    high_weight = (t - low).astype(np.float32)
    low = low.astype(np.int64) % _ORIENTATIONS
    high = (low + 1) % _ORIENTATIONS
    starts = grid_positions(size, patch_size, step)
    # Cell centres along one axis for every (patch, cell): start + (i + 1/2) * cell - 1/2 (pixel centres at x).
    centres = (starts[:, None] + (np.arange(_CELLS) + 0.5) * cell - 0.5).reshape(-1)  # (G * 4,)
    pool = _cell_weights(size, centres, cell)  # (G * 4, S)
    grid = len(starts)
    pooled = np.empty((grey.shape[0], _ORIENTATIONS, grid * _CELLS, grid * _CELLS), dtype=np.float32)
    for o in range(_ORIENTATIONS):
        channel = magnitude * ((low == o) * (1.0 - high_weight) + (high == o) * high_weight)  # (B, S, S)
        pooled[:, o] = pool @ channel @ pool.T  # (B, G*4, G*4): rows then columns
    offsets = (np.arange(_CELLS) + 0.5) * cell - patch_size / 2  # cell centre - patch centre, pixels
    window = np.exp(-(offsets[:, None] ** 2 + offsets[None, :] ** 2) / (2 * (patch_size / 2) ** 2))  # (4, 4)
    # (B, O, G, 4, G, 4) -> (B, G, G, 4, 4, O): patch row, patch column, cell row, cell column, orientation
    descriptors = pooled.reshape(-1, _ORIENTATIONS, grid, _CELLS, grid, _CELLS).transpose(0, 2, 4, 3, 5, 1)
    descriptors = (descriptors * window[:, :, None].astype(np.float32)).reshape(grey.shape[0], grid * grid, -1)
    norm = np.linalg.norm(descriptors, axis=2, keepdims=True)
    flat = norm < _FLAT
    descriptors = np.minimum(descriptors / np.where(flat, 1.0, norm), _CLIP)
    norm = np.linalg.norm(descriptors, axis=2, keepdims=True)
    descriptors = np.where(flat, 0.0, descriptors / np.where(flat, 1.0, norm))
    return np.minimum(np.floor(512.0 * descriptors), 255).astype(np.uint8)


class BagOfFeatures:
    """Bag-of-visual-words histograms of dense SIFT descriptors (see the module docstring for the recipe).

    Parameters
    ----------
    vocabulary_size : int
        Number of visual words V (k-means centres); 200 as Lazebnik et al. (Guérin et al. and [25] give none).
    patch_size, step : int
        Patch side (a multiple of 4) and grid spacing, pixels (16 and 8 as Lazebnik et al.).
    image_size : int
        Every image is resized to this square side before description (224: the paper's image trees as decoded).
    sample_size : int
        Descriptors drawn (seeded, without replacement) to learn the vocabulary; all of them when fewer exist.
    batch_size : int
        Images described at once (working memory about ``60 * batch_size * image_size**2`` bytes).
    random_state : int
        Seed of the descriptor sample and of the vocabulary's k-means++ (one initialisation: a vocabulary, not
        the clustering under evaluation).
    progress : bool
        A progress bar over the image batches.

    Attributes
    ----------
    vocabulary_ : float32 array, shape (V, 128)
        The visual words, in the uint8 descriptor scale.
    descriptors_per_image_ : int
        Patches per image, ``G * G``.
    n_sampled_ : int
        Descriptors the vocabulary was learnt on.
    seconds_ : dict
        Wall time of ``describe``, ``vocabulary`` and ``histograms`` in the last fit / transform, seconds.
    """

    def __init__(self, vocabulary_size: int = 200, *, patch_size: int = 16, step: int = 8, image_size: int = 224,
                 sample_size: int = 100_000, batch_size: int = 64, random_state: int = 0,
                 progress: bool = False) -> None:
        self.vocabulary_size = vocabulary_size
        self.patch_size = patch_size
        self.step = step
        self.image_size = image_size
        self.sample_size = sample_size
        self.batch_size = batch_size
        self.random_state = random_state
        self.progress = progress

    def validate(self) -> int:
        """Check every parameter (before any compute); returns the descriptors per image."""
        _positive_int("vocabulary_size", self.vocabulary_size, 2)
        patch = _positive_int("patch_size", self.patch_size, _CELLS)
        if patch % _CELLS:
            raise InvalidParameter(f"patch_size must be a multiple of {_CELLS} (four SIFT cells per side), got "
                                   f"{patch}; the usual value is 16.")
        _positive_int("step", self.step)
        size = _positive_int("image_size", self.image_size)
        if size < patch:
            raise InvalidParameter(f"image_size ({size}) must be at least patch_size ({patch}): no patch would fit.")
        _positive_int("batch_size", self.batch_size)
        _positive_int("random_state", self.random_state, 0)
        if _positive_int("sample_size", self.sample_size) < self.vocabulary_size:
            raise InvalidParameter(f"sample_size ({self.sample_size}) must be at least vocabulary_size "
                                   f"({self.vocabulary_size}): k-means needs one descriptor per word.")
        return len(grid_positions(size, patch, self.step)) ** 2

    def _describe(self, images: np.ndarray) -> np.ndarray:
        """uint8 (N, P, 128) descriptors of every image, batch by batch."""
        out = np.empty((len(images), self.descriptors_per_image_, DESCRIPTOR_SIZE), dtype=np.uint8)
        starts = range(0, len(images), self.batch_size)
        for start in tqdm(starts, desc="dense SIFT", disable=not self.progress, leave=False):
            batch = images[start:start + self.batch_size]
            out[start:start + len(batch)] = dense_sift(to_grey(batch, self.image_size), patch_size=self.patch_size,
                                                       step=self.step)
        return out

    def _learn_vocabulary(self, descriptors: np.ndarray) -> None:
        from sklearn.cluster import KMeans

        flat = descriptors.reshape(-1, DESCRIPTOR_SIZE)
        rng = np.random.default_rng(self.random_state)
        n = min(self.sample_size, len(flat))
        sample = flat[np.sort(rng.choice(len(flat), size=n, replace=False))].astype(np.float32)
        with threadpool_limits(limits=1):  # see _histograms
            model = KMeans(n_clusters=self.vocabulary_size, n_init=1, random_state=self.random_state).fit(sample)
        self._kmeans, self.vocabulary_, self.n_sampled_ = model, model.cluster_centers_.astype(np.float32), n

    def _histograms(self, descriptors: np.ndarray) -> np.ndarray:
        """L1-normalised word counts, float32 (N, V)."""
        n, p = descriptors.shape[:2]
        v = self.vocabulary_size
        chunk = max(1, _PREDICT_DESCRIPTORS // p)  # images per nearest-word search (bounded float32 copy)
        counts = np.empty((n, v), dtype=np.int64)
        for start in range(0, n, chunk):
            part = descriptors[start:start + chunk]
            # One OpenMP/BLAS thread: scikit-learn's k-means adds its threads' partial sums in the order they finish
            # (the same numbers on every run only with one), and on 2 shared cores more threads ran slower.
            with threadpool_limits(limits=1):
                words = self._kmeans.predict(part.reshape(-1, DESCRIPTOR_SIZE).astype(np.float32))
            rows = np.repeat(np.arange(len(part)), p)
            counts[start:start + len(part)] = np.bincount(rows * v + words, minlength=len(part) * v).reshape(-1, v)
        return (counts / p).astype(np.float32)

    def fit(self, images) -> "BagOfFeatures":
        """Learn the vocabulary from ``images`` (uint8 (N, H, W, C) or an ImageSet); returns self."""
        self.fit_transform(images)
        return self

    def fit_transform(self, images) -> np.ndarray:
        """Learn the vocabulary from ``images`` and return their histograms, float32 (N, V), rows summing to 1."""
        per_image = self.validate()
        images = _check_images(images)
        if len(images) * per_image < self.vocabulary_size:
            raise InvalidParameter(
                f"{len(images)} images give {len(images) * per_image} descriptors ({per_image} each), fewer than "
                f"vocabulary_size={self.vocabulary_size}: use more images, a larger image_size or a smaller step.")
        self.descriptors_per_image_ = per_image
        self.seconds_ = {}
        start = time.perf_counter()
        descriptors = self._describe(images)
        self.seconds_["describe"] = time.perf_counter() - start
        start = time.perf_counter()
        self._learn_vocabulary(descriptors)
        self.seconds_["vocabulary"] = time.perf_counter() - start
        start = time.perf_counter()
        histograms = self._histograms(descriptors)
        self.seconds_["histograms"] = time.perf_counter() - start
        return histograms

    def transform(self, images) -> np.ndarray:
        """Histograms of ``images`` over the learnt vocabulary, float32 (N, V), rows summing to 1."""
        if not hasattr(self, "vocabulary_"):
            raise InvalidParameter("This BagOfFeatures is not fitted yet: call fit or fit_transform first.")
        images = _check_images(images)
        start = time.perf_counter()
        descriptors = self._describe(images)
        self.seconds_ = {"describe": time.perf_counter() - start}
        start = time.perf_counter()
        histograms = self._histograms(descriptors)
        self.seconds_["histograms"] = time.perf_counter() - start
        return histograms

    def memory_bytes(self, n_images: int) -> int:
        """Bytes of the uint8 descriptors of ``n_images`` images held during a fit: N × P × 128."""
        return int(n_images) * self.validate() * DESCRIPTOR_SIZE

    def __repr__(self) -> str:
        return (f"BagOfFeatures(vocabulary_size={self.vocabulary_size}, patch_size={self.patch_size}, "
                f"step={self.step}, image_size={self.image_size}, sample_size={self.sample_size})")
