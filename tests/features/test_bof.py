"""The bag-of-features representation (clustlib.features.bof) and study 01's BoF rows (clustlib.studies.guerin_bof):
hand-computed descriptors, shapes, normalisation, determinism, bad input before compute, records the paper joins."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from clustlib import results
from clustlib.errors import InvalidParameter
from clustlib.features import bof as bof_module
from clustlib.features.bof import DESCRIPTOR_SIZE, BagOfFeatures, dense_sift, grid_positions, to_grey

pytestmark = pytest.mark.usefixtures("one_thread")


def _stripes(n: int, size: int, vertical: bool, rng) -> np.ndarray:
    """uint8 (n, size, size, 1) stripe images with a random period (4–7 px) and phase, vertical or horizontal."""
    out = np.empty((n, size, size, 1), dtype=np.uint8)
    axis = np.arange(size)
    for i in range(n):
        period, phase = rng.integers(4, 8), rng.integers(0, 8)
        wave = (np.sin(2 * np.pi * (axis + phase) / period) > 0).astype(np.uint8) * 200 + 20
        out[i, ..., 0] = wave[None, :] if vertical else wave[:, None]
    return out


def _orientation_energy(descriptors: np.ndarray) -> np.ndarray:
    """(..., 128) -> (..., 8): the descriptor's mass per orientation bin, summed over the 16 cells."""
    return descriptors.reshape(*descriptors.shape[:-1], 16, 8).astype(np.float64).sum(axis=-2)


def test_dense_sift_grid_shape_and_dtype():
    grey = np.random.default_rng(0).random((3, 40, 40), dtype=np.float32)
    out = dense_sift(grey, patch_size=16, step=8)
    assert list(grid_positions(40, 16, 8)) == [0, 8, 16, 24]
    assert out.shape == (3, 16, DESCRIPTOR_SIZE) and out.dtype == np.uint8


def test_step_edge_puts_every_gradient_in_the_orientation_of_the_edge_normal():
    # Dark left half, bright right half (edge between x = 23 and 24): the gradient points along +x (angle 0, bin 0)
    # wherever it is non-zero, i.e. within the smoothing radius (3 px) of the edge.
    image = np.zeros((1, 48, 48), dtype=np.float32)
    image[:, :, 24:] = 1.0
    energy = _orientation_energy(dense_sift(image, patch_size=16, step=8))[0].reshape(5, 5, 8)  # (rows, cols, O)
    # Patch columns start at 0, 8, 16, 24, 32; a cell reaches 4 px past its patch: only columns 8, 16, 24 see it.
    assert np.array_equal(energy.sum(axis=2) > 0, np.tile([False, True, True, True, False], (5, 1)))
    assert np.array_equal(energy[..., 0], energy.sum(axis=2))
    # The same edge turned by 90 degrees (dark top, bright bottom): +y is bin 2 (pi / 2).
    energy = _orientation_energy(dense_sift(image.transpose(0, 2, 1).copy(), patch_size=16, step=8))[0]
    assert (energy.sum(axis=1) > 0).sum() == 15 and np.array_equal(energy[:, 2], energy.sum(axis=1))


def test_flat_patches_give_the_zero_descriptor():
    assert not dense_sift(np.full((2, 24, 24), 0.5, dtype=np.float32), patch_size=8, step=4).any()


def test_descriptors_are_unit_length_and_clipped():
    grey = np.random.default_rng(1).random((2, 48, 48), dtype=np.float32)
    desc = dense_sift(grey, patch_size=16, step=8).astype(np.float64) / 512.0
    norms = np.linalg.norm(desc, axis=-1)
    assert np.all((norms > 0.97) & (norms <= 1.0 + 1e-9))  # floor() to uint8 loses at most sqrt(128) / 512
    # Clipping at 0.2 then renormalising bounds every component well below 1 (a 1-hot descriptor would be 255).
    assert desc.max() < 0.5


def test_to_grey_uses_luma_and_resizes_to_the_requested_side():
    rgb = np.zeros((1, 8, 8, 3), dtype=np.uint8)
    rgb[..., 1] = 255  # pure green: luma 0.587
    grey = to_grey(rgb, 8)
    assert grey.shape == (1, 8, 8) and np.allclose(grey, 0.587, atol=1e-6)
    up = to_grey(rgb, 32)
    assert up.shape == (1, 32, 32) and np.allclose(up, 0.587, atol=1e-5)


def test_histograms_are_l1_normalised_counts(rng):
    images = _stripes(12, 40, True, rng)
    model = BagOfFeatures(8, patch_size=8, step=8, image_size=40, sample_size=500)
    hist = model.fit_transform(images)
    per_image = model.descriptors_per_image_
    assert per_image == 25 and hist.shape == (12, 8) and hist.dtype == np.float32
    assert np.all(hist >= 0) and np.allclose(hist.sum(axis=1), 1.0, atol=1e-6)
    counts = hist * per_image
    assert np.allclose(counts, np.round(counts), atol=1e-4)  # whole numbers of descriptors per word
    assert model.vocabulary_.shape == (8, DESCRIPTOR_SIZE) and model.n_sampled_ == 12 * 25
    assert np.array_equal(model.transform(images), hist)  # the same vocabulary on the same images


def test_same_seed_same_vocabulary_and_histograms(rng, seed):
    images = np.concatenate([_stripes(10, 32, True, rng), _stripes(10, 32, False, rng)])
    first = BagOfFeatures(16, image_size=32, patch_size=8, step=4, sample_size=400, batch_size=7, random_state=seed)
    second = BagOfFeatures(16, image_size=32, patch_size=8, step=4, sample_size=400, batch_size=3, random_state=seed)
    a, b = first.fit_transform(images), second.fit_transform(images)
    assert np.array_equal(a, b) and np.array_equal(first.vocabulary_, second.vocabulary_)  # batching changes nothing
    other = BagOfFeatures(16, image_size=32, patch_size=8, step=4, sample_size=400, random_state=seed + 1)
    other.fit(images)
    assert not np.array_equal(other.vocabulary_, first.vocabulary_)


def test_bof_separates_vertical_from_horizontal_stripes(rng):
    from clustlib import metrics
    from clustlib.cluster import cluster_features

    images = np.concatenate([_stripes(15, 32, True, rng), _stripes(15, 32, False, rng)])
    labels = np.repeat([0, 1], 15)
    hist = BagOfFeatures(10, image_size=32, sample_size=2000).fit_transform(images)
    for algorithm in ("kmeans", "agglomerative"):
        predicted, _, _ = cluster_features(hist, algorithm, 2, random_state=0, reduce=False)
        assert metrics.nmi(labels, predicted) == pytest.approx(1.0)


@pytest.fixture
def no_compute(monkeypatch):
    """Fail the test if a descriptor is computed."""
    def spy(*args, **kwargs):
        raise AssertionError("dense_sift ran before the bad input was rejected")

    monkeypatch.setattr(bof_module, "dense_sift", spy)


GOOD = np.zeros((4, 16, 16, 1), dtype=np.uint8)


@pytest.mark.bad_input
@pytest.mark.parametrize("kwargs, images, message", [
    ({}, GOOD.astype(np.float32), "uint8 array of shape (N, H, W, C)"),
    ({}, GOOD[..., 0], "uint8 array of shape (N, H, W, C)"),
    ({}, GOOD[:0], "non-empty"),
    ({"patch_size": 10}, GOOD, "multiple of 4"),
    ({"image_size": 8}, GOOD, "must be at least patch_size"),
    ({"vocabulary_size": 1}, GOOD, "vocabulary_size must be an integer >= 2"),
    ({"vocabulary_size": 50, "sample_size": 10}, GOOD, "sample_size (10) must be at least vocabulary_size"),
    ({"vocabulary_size": 50, "image_size": 16}, GOOD, "4 images give 4 descriptors"),
    ({"step": 0}, GOOD, "step must be an integer >= 1"),
    ({"random_state": -1}, GOOD, "random_state must be an integer >= 0"),
])
def test_bad_input_is_rejected_before_any_descriptor(no_compute, kwargs, images, message):
    params = {"vocabulary_size": 2, "image_size": 16, "sample_size": 100, **kwargs}
    with pytest.raises(InvalidParameter) as info:
        BagOfFeatures(**params).fit_transform(images)
    assert message in str(info.value)


@pytest.mark.bad_input
def test_transform_before_fit_is_a_clear_error(no_compute):
    with pytest.raises(InvalidParameter, match="not fitted yet"):
        BagOfFeatures().transform(GOOD)


# --- study 01's BoF rows -----------------------------------------------------------------------------------------


def _digits(n: int = 60):
    from sklearn.datasets import load_digits

    from clustlib.data.imageset import ImageSet

    d = load_digits()
    images = np.clip(d.images[:n] * 16, 0, 255).astype(np.uint8)[..., None]
    return ImageSet("digits", images, d.target[:n], tuple(str(i) for i in range(10)), source="sklearn")


def _params(**changes):
    params = {"datasets": ["digits"], "algorithms": ["kmeans", "agglomerative"], "seed": 0, "batch_size": 16,
              "bof_datasets": ["digits"], "bof_vocabulary": 20, "bof_patch": 16, "bof_step": 8,
              "bof_image_size": 32, "bof_sample": 300}
    return {**params, **changes}


def test_study_logs_one_record_per_algorithm_named_as_the_paper_and_resumes(tmp_path, monkeypatch):
    from clustlib.studies import guerin_bof

    run = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "run")
    model = guerin_bof.bag_of_features(_params(), seed=0)
    records = guerin_bof.run_bof(run, {"digits": _digits()}, ["kmeans", "agglomerative"], model, progress=False)
    assert sorted(records["setting"]) == ["clustering=Agg", "clustering=KM"]
    assert set(records["method"]) == {"BoF"} and records["value"].between(0, 1).all()
    note = json.loads(records["note"].iloc[0])
    assert note["dims"] == 20 and note["descriptors_per_image"] == 9 and note["bof_s"] > 0
    # A resumed run describes nothing again.
    monkeypatch.setattr(BagOfFeatures, "fit_transform", lambda *a, **k: pytest.fail("recomputed a logged job"))
    again = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "run")
    assert len(guerin_bof.run_bof(again, {"digits": _digits()}, ["kmeans", "agglomerative"], model,
                                  progress=False)) == 2


@pytest.mark.bad_input
def test_study_rejects_a_bof_dataset_the_study_does_not_load():
    from clustlib.studies import guerin_bof

    with pytest.raises(InvalidParameter, match="not in datasets"):
        guerin_bof.validate_params(_params(bof_datasets=["umist"]))
    with pytest.raises(InvalidParameter, match="multiple of 4"):
        guerin_bof.validate_params(_params(bof_patch=10))


def _fake_records(dataset: str, nmi: dict) -> pd.DataFrame:
    rows = [{"study": "01_layer_architecture_grid", "dataset": dataset, "method": "BoF", "setting": f"clustering={c}",
             "seed": 0, "metric": "nmi", "value": v, "time_s": 0.25, "run_id": "r", "params_sha": "p",
             "peak_mem_mb": 1.0, "note": json.dumps({"bof_s": 3.0})} for c, v in nmi.items()]
    return pd.DataFrame(rows)


def test_bof_table_joins_the_papers_bof_cells():
    from clustlib.studies import guerin_bof

    table = guerin_bof.bof_table(_fake_records("umist", {"KM": 0.5, "Agg": 0.6}))
    umist = table[table["dataset"] == "umist"].set_index("clustering")
    # Table A.6, BoF row: KM 0.542 in 0.306 s, Agg 0.638 in 0.03 s.
    assert umist.loc["KM", "paper NMI"] == pytest.approx(0.542)
    assert umist.loc["Agg", "paper NMI"] == pytest.approx(0.638)
    assert umist.loc["KM", "paper time (s)"] == pytest.approx(0.306)
    assert umist.loc["KM", "ours − paper"] == pytest.approx(0.5 - 0.542)
    assert umist.loc["Agg", "BoF features (s)"] == pytest.approx(3.0) and umist.loc["KM", "seeds"] == 1
    # The paper's other three BoF datasets are listed with no ours; the order is the paper's.
    assert list(dict.fromkeys(table["dataset"])) == ["voc2007", "archi", "flowers17", "umist"]
    assert table.loc[table["dataset"] == "voc2007", "ours NMI"].isna().all()
    # A stand-in dataset has our numbers and no paper cell.
    stand_in = guerin_bof.bof_table(_fake_records("digits", {"KM": 0.3}))
    assert stand_in.loc[stand_in["dataset"] == "digits", "paper NMI"].isna().all()


def test_layer_grid_side_by_side_joins_the_bof_records_to_the_papers_row():
    from clustlib.studies import layer_grid

    side = layer_grid.compare_with_paper(_fake_records("voc2007", {"KM": 0.1, "Agg": 0.08}))
    side = side.set_index("setting")
    assert side.loc["clustering=KM", "paper"] == pytest.approx(0.083)
    assert side.loc["clustering=Agg", "paper_time_s"] == pytest.approx(0.4)


def test_bof_figure_is_drawn_from_the_run_folder(tmp_path):
    from clustlib.studies import guerin_bof

    run = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "run")
    assert list(guerin_bof.draw_figures(run.run_dir)) == []  # no BoF record: no figure
    for row in _fake_records("umist", {"KM": 0.5, "Agg": 0.6}).to_dict("records"):
        run.log(dataset="umist", method="BoF", setting=row["setting"], metrics={"nmi": row["value"]}, time_s=0.2)
    run.log(dataset="umist", method="vgg16.imagenet", setting={"layer": "L3", "clustering": "KM"},
            metrics={"nmi": 0.7}, time_s=1.0)
    (name, fig), = guerin_bof.draw_figures(run.run_dir)
    assert name == "tableA3_6_bof"
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["k-means", "agglomerative (Ward)"]
    labels = axes[-1].get_legend().get_texts()
    assert {t.get_text() for t in labels} >= {"BoF", "CNN L3", "paper (Tables A.3–A.6)"}
    with pytest.raises(InvalidParameter, match="Unknown figure"):
        list(guerin_bof.draw_figures(run.run_dir, only=["fig3a"]))
