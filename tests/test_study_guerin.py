"""Studies 01-03 (Guérin et al. 2021): figures redrawn from a run folder alone, drawn as the paper groups them;
jobs already logged are not recomputed; the exact reduction of a wide layer is computed once for every study."""

import json

import numpy as np
import pandas as pd
import pytest
from matplotlib import pyplot as plt

from clustlib import results
from clustlib.errors import InvalidParameter
from clustlib.studies import layer_grid, mvec_sweep, mvnet_tables

# one dataset per paper task, given out of the paper's order, plus a stand-in
_DATASETS = {"umist": 0.7, "digits": 0.5, "flowers17": 0.6, "voc2007": 0.8, "archi": 0.4}


def _grid_run(tmp_path):
    run = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "run01")
    for dataset, base in _DATASETS.items():
        for network, shift in (("efficientnet_lite0.imagenet", 0.0), ("vgg16.imagenet", 0.1)):
            for layer, down in (("L1", 0.3), ("L2", 0.1), ("L3", 0.0)):
                for clustering, extra in (("KM", 0.0), ("Agg", 0.02)):
                    run.log(dataset=dataset, method=network, setting={"layer": layer, "clustering": clustering},
                            metrics={"nmi": base + shift - down + extra}, time_s=1.0, note=json.dumps({"dims": 9}))
        run.log(dataset=dataset, method="pixels", setting={"clustering": "KM"}, metrics={"nmi": 0.1}, time_s=0.1,
                note="{}")
    return run


def test_study_01_figures_come_from_the_run_folder_grouped_by_the_papers_tasks(tmp_path):
    run = _grid_run(tmp_path)
    drawn = dict(layer_grid.draw_figures(run.run_dir))
    assert list(drawn) == list(layer_grid.FIGURES)
    for name in ("fig3b_layer_task", "fig4b_architecture_task"):
        ticks = [t.get_text().split("\n")[0] for t in drawn[name].axes[0].get_xticklabels()]
        assert ticks == ["natural objects", "scenes", "fine-grained", "faces", "digits (stand-in)"], name
    # the paper's values (Tables A.3-A.6) as diamonds: VGG16 is one of its networks, on all four tasks
    diamonds = [line for line in drawn["fig4b_architecture_task"].axes[0].lines if line.get_marker() == "D"]
    assert len(diamonds) == 1 and len(diamonds[0].get_xdata()) == 4
    names = [t.get_text() for t in drawn["fig6_algorithm_architecture"].axes[0].get_legend().get_texts()]
    assert "k-means" in names and "EfficientNet-Lite0" in [t.get_text() for t in
                                                          drawn["fig4a_architecture"].axes[0].get_xticklabels()]
    for fig in drawn.values():
        plt.close(fig)


def test_study_01_figure_5_gap_labels_stay_inside_the_axes(tmp_path):
    fig = dict(layer_grid.draw_figures(_grid_run(tmp_path).run_dir, only=["fig5_choice_matters"]))[
        "fig5_choice_matters"]
    ax = fig.axes[0]
    gaps = [t for t in ax.texts if t.get_text().startswith("gap")]
    assert len(gaps) == len(_DATASETS)
    fig.canvas.draw()
    top = ax.get_window_extent().y1
    assert all(t.get_window_extent().y1 < top for t in gaps)
    assert [t.get_text() for t in gaps][0] == "gap 0.10"
    plt.close(fig)


def test_an_unknown_figure_name_is_refused_before_drawing(tmp_path):
    with pytest.raises(InvalidParameter, match="fig3b_layer_task"):
        list(layer_grid.draw_figures(_grid_run(tmp_path).run_dir, only=["fig3c"]))


def test_study_01_skips_jobs_already_logged(tmp_path, monkeypatch):
    """A resumed run logs nothing twice and extracts no network whose jobs are all logged."""
    from clustlib import data

    imageset = data.load("digits", subset=60, seed=0)
    run = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "resumed")
    for layer in ("L3",):
        for clustering in ("KM", "Agg"):
            run.log(dataset="digits", method="efficientnet_lite0.imagenet", metrics={"nmi": 0.5},
                    setting={"layer": layer, "clustering": clustering})

    def no_extraction(*args, **kwargs):
        raise AssertionError("a network whose jobs are logged was extracted again")

    monkeypatch.setattr(layer_grid.features, "extract", no_extraction)
    records = layer_grid.run_layer_grid(results.start_run("01_layer_architecture_grid", "ci", {},
                                                          run_dir=tmp_path / "resumed"),
                                        {"digits": imageset}, ["efficientnet_lite0.imagenet"], ["L3"],
                                        ["kmeans", "agglomerative"], include_pixels=True, progress=False)
    assert len(records) == 4  # the two logged before, the two pixel jobs computed now
    assert records.groupby(["method", "setting"]).size().eq(1).all()


def test_the_exact_reduction_is_computed_once_and_read_back(tmp_path, monkeypatch):
    from clustlib.features import extraction

    rng = np.random.default_rng(0)
    wide = rng.normal(size=(30, 200)).astype(np.float32)
    path = tmp_path / "key.npy"
    np.save(path, wide)
    result = extraction.ExtractionResult({"L1": wide}, {"L1": True}, 0.0, "x", {}, "", {"L1": path})
    first, note = extraction.clustering_view(result, "L1")
    assert first.shape[0] == 30 and first.shape[1] <= 30 and "isometric" in note["reduction"]  # centred: rank <= N - 1
    d_wide = ((wide[:, None, :].astype(np.float64) - wide[None]) ** 2).sum(-1)
    d_red = ((first[:, None, :] - first[None]) ** 2).sum(-1)
    np.testing.assert_allclose(d_red, d_wide, rtol=1e-6, atol=1e-6)
    monkeypatch.setattr("clustlib.cluster.isometric_reduction", lambda X: pytest.fail("computed twice"))
    again, note = extraction.clustering_view(result, "L1")
    np.testing.assert_array_equal(again, first)
    assert note["reduction_s"] == "cache"
    narrow = extraction.ExtractionResult({"L3": wide[:, :20]}, {"L3": True}, 0.0, "x", {}, "", {"L3": None})
    assert extraction.clustering_view(narrow, "L3")[0] is narrow["L3"]


def test_study_02_figure_10_from_the_records(tmp_path):
    run = results.start_run("02_mvec_sweep", "ci", {}, run_dir=tmp_path / "run02")
    for dataset in ("digits", "fashion_mnist"):
        for m, nmi in ((1, 0.6), (1, 0.8), (2, 0.65), (3, 0.9)):
            run.log(dataset=dataset, method="MVEC_agg", setting={"m": m, "views": f"{m}{nmi}"}, metrics={"nmi": nmi},
                    time_s=float(m), note=json.dumps({"t_parallel": 1.0, "t_consensus": 0.1, "views": ["a"]}))
    drawn = dict(mvec_sweep.draw_figures(run.run_dir))
    assert list(drawn) == ["fig10_digits", "fig10_fashion_mnist"]
    nmi_line = drawn["fig10_digits"].axes[0].lines[0]
    np.testing.assert_allclose(nmi_line.get_ydata(), [0.7, 0.65, 0.9])
    for fig in drawn.values():
        plt.close(fig)


def test_study_03_figures_from_the_kept_tables_and_arrays(tmp_path):
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(4), 15)
    specs = ["efficientnet_lite0.imagenet:L3", "efficientnet_lite1.imagenet:L3", "pixels"]
    feats = {s: (np.eye(4)[y] * 3 + rng.normal(size=(60, 4))).astype(np.float32) for s in specs}
    rows = [{"method": s, "kind": "single", "nmi": 0.5, "pur": 0.6, "acc": 0.55, "mix": 0.55, "time_s": 1.0,
             "status": "ok"} for s in specs]
    rows += [{"method": m, "kind": "multi", "nmi": 0.7, "pur": 0.7, "acc": 0.7, "mix": 0.7 + 0.01 * i, "time_s": 1.0,
              "status": "ok"} for i, m in enumerate(mvnet_tables.MULTI_VIEW_METHODS)]
    outcome = mvnet_tables.DatasetOutcome("digits", y, pd.DataFrame(rows), single_labels={s: y for s in specs},
                                          single_features=feats, stages={"MVnet_fix": feats[specs[0]],
                                                                         "MVnet": feats[specs[1]]})
    mvnet_tables.add_selected_networks([outcome])
    run = results.start_run("03_mvnet_jule_tables", "ci", {}, run_dir=tmp_path / "run03")
    kept = mvnet_tables.save_figure_data(run, [outcome], seed=0, max_points=40)
    names = mvnet_tables.figure_names(["digits"], kept["dataset"])
    drawn = dict(mvnet_tables.draw_figures(run.run_dir))
    assert list(drawn) == names == ["fig11_14_mix_digits", "fig8_views_digits", "fig15_kmeans_by_stage",
                                    "fig16_tsne_digits"]
    labels = [t.get_text() for t in drawn["fig11_14_mix_digits"].axes[0].get_yticklabels()]
    assert "MVEC$_{jule}$" in labels and any(t.startswith("BNet (EfficientNet-Lite") for t in labels)
    assert len(drawn["fig8_views_digits"].axes) == 3 and len(drawn["fig16_tsne_digits"].axes) == 3
    for fig in drawn.values():
        plt.close(fig)


def test_study_01_full_keeps_only_the_narrow_layers_in_the_cache(tmp_path, monkeypatch):
    """keep_wide_features=False (the full profile): a layer wider than N is clustered from its exact reduction,
    then it and its reduction leave the cache; the narrow layer and every provenance note stay."""
    from clustlib import data
    from clustlib.features import extraction

    imageset = data.load("digits", subset=40, seed=0)
    rng = np.random.default_rng(0)
    paths = {}
    for layer, width in (("L1", 120), ("L3", 16)):
        paths[layer] = tmp_path / f"{layer}.npy"
        np.save(paths[layer], rng.normal(size=(40, width)).astype(np.float32))
        paths[layer].with_suffix(".json").write_text("{}")

    def fake_extract(images, extractor, layers, **kwargs):
        feats = {layer: np.load(paths[layer], mmap_mode="r") for layer in layers}
        return extraction.ExtractionResult(feats, {layer: True for layer in layers}, 0.0, extractor,
                                           {"pixels": "native size"}, "", {layer: paths[layer] for layer in layers})

    monkeypatch.setattr(layer_grid.features, "extract", fake_extract)
    run = results.start_run("01_layer_architecture_grid", "ci", {}, run_dir=tmp_path / "bounded")
    records = layer_grid.run_layer_grid(run, {"digits": imageset}, ["efficientnet_lite0.imagenet"], ["L1", "L3"],
                                        ["kmeans", "agglomerative"], include_pixels=False, keep_wide_features=False,
                                        progress=False)
    assert len(records) == 4
    notes = records["note"].map(json.loads)
    assert ["isometric" in n["reduction"] for n in notes] == [True, True, False, False]
    assert not paths["L1"].exists() and not extraction.reduction_path(paths["L1"]).exists()
    assert paths["L1"].with_suffix(".json").exists() and paths["L3"].exists()


def test_study_02_resumed_run_reads_a_logged_sweep_back(tmp_path, monkeypatch):
    from clustlib import data

    imageset = data.load("digits", subset=40, seed=0)
    views = ["efficientnet_lite0.imagenet:L3", "pixels"]
    run = results.start_run("02_mvec_sweep", "ci", {}, run_dir=tmp_path / "resumed02")
    for key, m, nmi in (("0", 1, 0.5), ("1", 1, 0.6), ("0+1", 2, 0.7)):
        run.log(dataset="digits", method="MVEC_agg", setting={"m": m, "views": key}, metrics={"nmi": nmi},
                time_s=1.0, note=json.dumps({"t_parallel": 0.5, "t_consensus": 0.1, "views": ["v"]}))
    monkeypatch.setattr(mvec_sweep, "build_views", lambda *a, **k: pytest.fail("a logged sweep was recomputed"))
    table = mvec_sweep.run_sweep(run, imageset, views, progress=False)
    assert sorted(table["key"]) == ["0", "0+1", "1"] and len(run.records) == 3
    assert mvec_sweep.summary_by_m(table)["nmi_mean"].tolist() == pytest.approx([0.55, 0.7])
