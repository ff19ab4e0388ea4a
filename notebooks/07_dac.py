# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # Study 7: DAC, Deep Adaptive Image Clustering
#
# Reproduces J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, *Deep Adaptive Image Clustering*, ICCV 2017
# ([vector-1127/DAC](https://github.com/vector-1127/DAC), Keras 1 + Theano) with `clustlib.deep.DAC`: a ConvNet's
# L2-normalised softmax ("label features") trained on pairs it labels itself: "same cluster" above an upper
# similarity threshold, "different" below a lower one, the thresholds moving towards each other after each pass
# over the data. Images are clustered by the argmax of their label features.
#
# | paper item | here |
# |---|---|
# | Table 2, rows DAC* and DAC | one network per dataset × variant × seed, with the paper's schedule and pair selection |
# | Table 2, baseline rows | K-means, SC, AC, NMF, AE, DEC, JULE with clustlib's estimators; NMI, ARI, ACC chart |
# | Table 3 | K-means, SC, AC and NMF on the learned label features |
# | Figures 1 and 3 | label features on the K-gon (initial and final stage); sample images with their label features |
# | Figure 4 | share of label-feature elements in [0, 0.1), [0.1, 0.5), [0.5, 0.9), [0.9, 1] before and after training |
# | Figure 5 | accuracy on imbalanced subsets, minimum retention rate r = 0.1 … 0.9 |
# | Figures 6 and 7 | scores as the number of clusters K and the number of samples N grow |
# | (not in the paper) | the thresholds and the shares of positive and selected pairs per iteration; cluster sizes |
#
# The default `paper` preset is the method as the paper states it (Sec. 3-5.4): DAC selects pairs above
# u = 0.95 − λ as similar and below l = 0.455 + 0.1 λ as dissimilar; λ starts at 0 and grows by 1.1 η = 0.0099 (eq.
# 12 with η = 0.009) after each iteration, a pass over all chunks of the data, until l > u: 46 iterations. DAC*
# labels every pair with one threshold annealed from 0.95 to 0.5 over the same 46 iterations (the paper gives no
# length). Each chunk of m = 1,000 images has its m(m − 1)/2 pairs labelled by the frozen network, then each
# gradient step minimises the binary cross-entropy (eq. 2) over all its selected pairs, accumulated in
# mini-batches. The network, augmentation and mini-batch, which the paper leaves to its unpublished
# supplementary material, come from the dataset's script. The `scripts` preset runs the authors' scripts
# instead: DAC* with a threshold from 0.99 (`mnist.py` 0.9) falling each epoch, pairs only inside mini-batches of
# 32 (128), a self-distillation term the paper does not describe (weight 10), `mnist.py`'s squared error; the
# two-threshold DAC on CIFAR-10 only (`cifar10_2.py`, thresholds from 0.99 and 0.80 meeting half-way).
#
# Reproduced here: the MNIST row of Table 2 (the `full` profile; MNIST needs `clustlib data download mnist`). The
# other datasets (CIFAR-10, CIFAR-100/20, STL-10, ImageNet-10, ImageNet-Dogs) need their data under
# `$CLUSTLIB_DATA` and a GPU. The `smoke` profile is labelled smoke and is not the paper's setting: scikit-learn's
# 1,797 8x8 digits upsampled to 16x16 with clustlib's small `small16` ALL-ConvNet (not in the paper), the paper's
# schedule (46 iterations of one chunk of 1,000 images) with 2 gradient steps per chunk instead of 10, two seeds;
# it is compared with the paper's MNIST row only as a stand-in. Its Table 2 baselines train shortened AE and DEC
# (20 + 15 epochs), and its Figures 5-7 are small labelled sweeps on 600 digits with DAC's curriculum in 5
# iterations (see `params/07_dac/smoke.yaml`). Expected time on 2 CPU cores: `ci` ~1.5 min, `smoke` ~4 min;
# `full` (three seeds, six datasets, 46 iterations each, plus the baselines and the three sweeps at paper scale)
# many GPU hours: a CIFAR-sized run is 46 iterations of 60 chunks × 10 steps, each step two passes over the
# chunk's 1,000 images.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["mnist"]  # datasets of Table 2 (mnist, cifar10, cifar100_20, stl10, imagenet10, imagenet_dogs)
subsets: dict = {}  # stratified subset size per dataset (absent or 0: whole dataset, train + test)
variants: list = ["dac_star", "dac"]  # "dac_star" (DAC*, one threshold) and "dac" (two thresholds)
seeds: list = [0, 1, 2]  # one network per seed (the paper reports one run)
preset: str = "paper"  # "paper" (the paper rule and chunk pairs) or "scripts" (the authors scripts as they run)
networks: dict = {}  # ALL-ConvNet per dataset, e.g. {"digits": "small16"}; absent: the script network
epochs: int = 0  # iterations; 0 keeps each schedule (paper 46; scripts 20 to 75); the paper rule takes it as a cap
estimator_params: dict = {}  # DAC arguments per variant over the preset, e.g. {"dac": {"chunk_passes": 2}}
table3_methods: list = ["kmeans", "sc", "ac", "nmf"]  # Table 3: clusterings of the label features ([] skips)
stand_ins: dict = {}  # our dataset -> the paper dataset it is compared with, e.g. {"digits": "mnist"}
baselines: list = ["kmeans", "sc", "ac", "nmf", "ae", "jule", "dec"]  # Table 2 baseline rows ([] skips)
baseline_params: dict = {}  # arguments per trained baseline (ae, dec, jule) over the paper scale
imbalance_rates: list = [0.1, 0.3, 0.5, 0.7, 0.9]  # Figure 5 minimum retention rates ([] skips)
imbalance_dataset: str = "mnist"  # Figure 5 data
cluster_counts: list = [10, 15, 20, 25, 30, 35, 40, 45, 50]  # Figure 6 numbers of classes ([] skips)
clusters_dataset: str = "tiny_imagenet"  # Figure 6 data: ILSVRC2012 classes (Tiny-ImageNet holds 200 of them)
clusters_per_class: int = 0  # images per class in Figure 6 (0 keeps all)
sample_counts: list = [10000, 20000, 30000, 40000, 50000, 60000]  # Figure 7 numbers of images ([] skips)
samples_datasets: list = ["mnist", "cifar10"]  # Figure 7 data
sweep_subsets: dict = {}  # stratified subset of a Figure 5 to 7 dataset before the sweep selects (absent: all)
sweep_methods: list = ["kmeans", "sc", "ac", "nmf", "ae", "jule", "dec", "dac"]  # methods of Figures 5 to 7
sweep_seeds: list = [0]  # seeds of Figures 5 to 7 (the paper reports one run)
sweep_estimator_params: dict = {}  # DAC arguments per variant in Figures 5 to 7, over estimator_params
device: str = "cpu"  # "cpu" or "cuda"
n_threads: int = 2  # CPU threads for torch and BLAS (recorded)
scheduler: str | None = None  # jobs run here (null), on a local Dask cluster (local) or at tcp://host:8786
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
import pandas as pd
from IPython.display import display

from clustlib import fidelity, figures, findings, parallel, plots, repro, results
from clustlib.paths import figures_root
from clustlib.studies import dac_study as dac

STUDY = "07_dac"
params = dict(datasets=datasets, subsets=subsets, variants=variants, seeds=seeds, preset=preset, networks=networks,
              epochs=epochs, estimator_params=estimator_params, table3_methods=table3_methods, stand_ins=stand_ins,
              baselines=baselines, baseline_params=baseline_params, imbalance_rates=imbalance_rates,
              imbalance_dataset=imbalance_dataset, cluster_counts=cluster_counts, clusters_dataset=clusters_dataset,
              clusters_per_class=clusters_per_class, sample_counts=sample_counts, samples_datasets=samples_datasets,
              sweep_subsets=sweep_subsets, sweep_methods=sweep_methods, sweep_seeds=sweep_seeds,
              sweep_estimator_params=sweep_estimator_params, device=device, n_threads=n_threads, data_root=data_root)
dac.validate_params(params)
repro.seed_everything(seeds[0])
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)
executor = parallel.make_executor(scheduler)  # this process, or the Dask cluster that scheduler names
progress = not run.managed  # progress bars in JupyterLab; under `clustlib run` the executed notebook stays clean

# %% [markdown]
# ## Load
#
# Train and test parts together, as the paper does. Each dataset is resized to its network's input size, put
# channels first, and prepared as the scripts do: pixels / 255 minus the per-channel mean.

# %%
imagesets = dac.load_inputs(datasets, subsets, seed=seeds[0], root=data_root or None)
findings.show_data(imagesets)
findings.show_table(dac.settings_table(datasets, variants, preset=preset, networks=networks, epochs=epochs,
                                       estimator_params=estimator_params),
                    f"DAC settings per dataset and variant (the {preset} preset, then this profile's overrides)",
                    empty="No setting to run.")

# %% [markdown]
# ## Compute: DAC* and DAC (Table 2)
#
# One network per dataset × variant × seed; the clustering is the argmax of the label features. The same seed's
# untrained network is kept for Figure 4.

# %%
runs = dac.run_grid(run, imagesets, variants, seeds, preset=preset, networks=networks, epochs=epochs,
                    estimator_params=estimator_params, device=device, progress=progress, parallel=executor)
dac.keep_label_feature_samples(run, imagesets, runs)  # Figure 3 examples, kept in the run folder

# %% [markdown]
# ## Evaluate
#
# Scores are fractions in [0, 1] throughout, as the paper prints them.

# %%
findings.show_table(dac.summary(runs.scores, ["dataset", "method", "preset", "script", "network", "epochs"]),
                    findings.caption(STUDY, profile, params, "NMI, ARI, ACC of the argmax of the label features "
                                     "(mean ± SD over seeds)"), empty="No network was trained.")
display(runs.scores[["dataset", "method", "seed", "n_clusters_found", "fit_s", "epoch_s"]].round(3))

# %% [markdown]
# ### Table 3: traditional clusterings of the learned label features
#
# K-means (10 restarts), spectral clustering of the 10-nearest-neighbour graph, Ward agglomerative clustering
# and NMF, each on the label features of every trained network, beside the network's own argmax.

# %%
table3 = (dac.run_table3(run, imagesets, runs, table3_methods, progress=progress, parallel=executor)
          if table3_methods else None)
findings.show_table(None if table3 is None else dac.summary(table3, ["dataset", "features", "method"]),
                    "Table 3 in this run: clusterings of the label features (mean ± SD over seeds)",
                    empty="Table 3 skipped: table3_methods is empty in this profile.")

# %% [markdown]
# ### Table 2: the baseline rows
#
# The rows of Table 2 this project can rerun with its own estimators: K-means (10 restarts), SC (10-nearest-
# neighbour graph), AC (Ward) and NMF on the pixels / 255 (on STL-10, ImageNet-10 and ImageNet-Dogs on HOG
# features and an 8x8 colour map, as Sec. 5.4 says after DEC); AE (K-means on the embedding of DEC's
# d-500-500-2000-10 autoencoder) and DEC from the same seed's autoencoder; JULE (clustlib's MLP variant on the
# pixels, not JULE's CNN). AC and NMF do not depend on the seed and run once. SAE, DAE, DeCNN, SWWAE, AEVB and GAN
# are not rerun (the paper copies them from JULE's paper); their values show as the paper's dashes alone.

# %%
table2_baselines = dac.run_baselines(run, imagesets, baselines, seeds, baseline_params=baseline_params,
                                     device=device, progress=progress, parallel=executor) if baselines else None
findings.show_table(None if table2_baselines is None else dac.summary(table2_baselines, ["dataset", "method"]),
                    findings.caption(STUDY, profile, params, "Table 2 baselines in this run (mean ± SD over seeds)"),
                    empty="Table 2 baselines skipped: baselines is empty in this profile.")

# %% [markdown]
# ## Figures 5 to 7: imbalanced data, number of clusters, number of samples
#
# Sec. 5.6. **Figure 5**: subsets of MNIST where class c of K keeps each image with probability r + (1 − r) c /
# (K − 1) (DEC's protocol), for minimum retention rates r = 0.1 … 0.9. **Figure 6**: K = 10 … 50 classes of
# ILSVRC2012 in steps of 5 (here the first K of a seeded permutation of Tiny-ImageNet's 200 ImageNet classes,
# decoded at 96 px for ImageNet-10's network). **Figure 7**: N = 10,000 … 60,000 stratified images of MNIST and
# CIFAR-10. Each point trains the methods of `sweep_methods` afresh on its subset (DAC with Table 2's settings,
# `sweep_estimator_params` over them); one seed as the paper. The paper's figures print no values, so no paper
# line is drawn; smoke profiles run far smaller, labelled sweeps.

# %%
sweep_data = {"imbalance": [imbalance_dataset] if imbalance_rates else [],
              "clusters": [clusters_dataset] if cluster_counts else [],
              "samples": samples_datasets if sample_counts else []}
sweep_values = {"imbalance": imbalance_rates, "clusters": cluster_counts, "samples": sample_counts}
overrides = dac.sweep_overrides(estimator_params, sweep_estimator_params)
sweeps = {}
for sweep, names in sweep_data.items():
    for name in names:
        base = dac.load_inputs([name], sweep_subsets, seed=seeds[0], root=data_root or None)[name]
        sweeps[(sweep, name)] = dac.run_sweep(
            run, sweep, name, base, sweep_values[sweep], sweep_methods, sweep_seeds, preset=preset, networks=networks,
            epochs=epochs, estimator_params=overrides, baseline_params=baseline_params,
            per_class=clusters_per_class, device=device, progress=progress, parallel=executor)
for (sweep, name), frame in sweeps.items():
    findings.show_table(dac.summary(frame, ["value", "n", "method"]), findings.caption(
        STUDY, profile, params, f"Figure {dac.SWEEPS[sweep][0]} on {name}: {sweep} sweep (mean ± SD over seeds)"),
        empty="No point of this sweep ran.")
if not sweeps:
    findings.show_table(None, "Figures 5 to 7", empty="Figures 5 to 7 skipped: no retention rates, cluster counts "
                        "or sample counts in this profile.")

# %% [markdown]
# ## Compare with the paper
#
# Rows whose data names a stand-in (smoke: digits for MNIST) are not a reproduction.

# %%
table2 = runs.scores if table2_baselines is None else pd.concat([runs.scores, table2_baselines], ignore_index=True)
findings.show_comparison(dac.compare_with_paper(table2, "2", stand_ins=stand_ins), findings.caption(
    STUDY, profile, params, "Table 2, ours beside the paper"), datasets=datasets, stand_ins=stand_ins,
    paper_name="dac2017", tables=("2",))
if table3 is not None:
    findings.show_comparison(dac.compare_with_paper(table3, "3", stand_ins=stand_ins), findings.caption(
        STUDY, profile, params, "Table 3, ours beside the paper (the paper clusters DAC's label features)"),
        datasets=datasets, stand_ins=stand_ins, paper_name="dac2017", tables=("3",),
        also_needed="" if "dac" in variants else "Table 3 clusters DAC's label features, and this profile trains "
        "DAC* only")

# %% [markdown]
# ## Figures
#
# Each figure is drawn from this run's folder alone (`dac.draw_figures`), so `clustlib figures 07_dac --profile
# smoke --style paper` redraws it without recomputing. **Table 2** as a chart: NMI, ARI and ACC of every method
# that ran, the paper's values as black dashes. The **thresholds** and shares of selected pairs per iteration (not
# in the paper). **Figure 4**: the share of label-feature elements per interval before and after training. The
# **cluster sizes** of the final partition (not in the paper).

# %%
figures.publish(run, dac.draw_figures(run.run_dir, only=["table2", "thresholds", "fig4", "cluster_sizes"]))

# %% [markdown]
# **Figure 1**: every image's label features mapped into the regular K-gon, at the initial stage (the untrained
# network of the same seed) and the final stage; a one-hot feature lands on its vertex. The paper leaves its
# mapping to the supplementary material; here a sample sits at the mean of the vertices weighted by its squared
# label features (`dac.kgon_coordinates`). **Figure 3**: per cluster, the most confident image and its label
# feature, and the most confident image of another class (a failure mode).

# %%
figures.publish(run, dac.draw_figures(run.run_dir, only=["fig1", "fig3"]))

# %% [markdown]
# **Figures 5 to 7**: scores against the retention rate, the number of clusters and the number of samples.

# %%
figures.publish(run, dac.draw_figures(run.run_dir, only=["fig5", "fig6", "fig7"]))

# %% tags=["check"]
logged = run.records
assert len(logged) > 0 and logged["value"].between(-0.5, 1).all() and logged["value"].notna().all()
table2 = logged[logged["setting"].str.startswith("preset=")]
assert len(table2) == 3 * len(datasets) * len(variants) * len(seeds)  # nmi, ari, acc per network
assert set(table2["method"]) == {dac.VARIANT_NAMES[v] for v in variants}
epochs_run = runs.history.groupby(["dataset", "method", "seed"]).size().sort_index()
assert epochs_run.to_dict() == runs.scores.set_index(["dataset", "method", "seed"])["epochs"].sort_index().to_dict()
if table3 is not None:
    assert len(table3) == len(runs.scores) * (len(table3_methods) + 1)
baseline_rows = logged[logged["setting"].str.startswith("input=")]
expected = sum(1 if b in dac.SEEDLESS_BASELINES else len(seeds) for b in baselines) * len(datasets)
assert len(baseline_rows) == 3 * expected and set(baseline_rows["method"]) == {dac.TABLE2_BASELINES[b] for b in baselines}
for (sweep, name), frame in sweeps.items():
    kept = dac.sweep_table(logged, sweep)
    kept = kept[kept["dataset"] == name]
    assert len(kept) == len(sweep_values[sweep]) * len(sweep_methods) * len(sweep_seeds) == len(frame)
    assert sorted(set(kept["value"])) == sorted(float(v) for v in sweep_values[sweep])
drawn = {path.stem for path in (figures_root() / profile / STUDY).glob("*.png")}  # what this run saved
assert {f"dac_{f}_{d}" for f in ("table2", "fig1_kgon", "fig3_label_features") for d in datasets} <= drawn
assert all(any(n.startswith(f"dac_fig{dac.SWEEPS[s][0]}_") for n in drawn) for s, names in sweep_data.items() if names)

# %% [markdown]
# ## Fidelity ledger
#
# Every paper cell this run covers, ours beside the paper's, with a verdict (`clustlib.fidelity`): a run on other
# data, fewer images or fewer epochs than the paper is a `stand-in`; FIDELITY.md holds the paper-scale rows.

# %%
fidelity.show_ledger(STUDY, run.records, profile, params)

# %% [markdown]
# ## What this run shows
#
# Generated from this run's records and the paper's tables (`clustlib.findings.dac`): each claim the study tests,
# ours beside the paper's, and whether the direction agrees.

# %%
executor.close()
run_dir = run.finish()
findings.show(findings.dac(run.records, profile=profile, params=params), run_dir=run_dir)
