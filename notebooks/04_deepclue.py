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
# # Study 4: DeepCluE, deep clustering via multi-layer ensembles
#
# Reproduces D. Huang, D.-H. Chen, X. Chen, C.-D. Wang, J.-H. Lai, *DeepCluE: Enhanced Image Clustering via
# Multi-layer Ensembles in Deep Neural Networks*, arXiv:2206.00359, 2022 (IEEE TETCI 8(2), 2024) with
# `clustlib.deep.ContrastiveClustering` and `clustlib.cluster.multilayer_ensemble`: a Contrastive Clustering (CC)
# network (ResNet34, instance head g_I, cluster head g_C) is trained once; six of its layers (conv4_x, conv5_x,
# fc6 of the backbone, fc7 and fc8 of g_I, fc9 of g_C) are reduced to 1000 dimensions by PCA where wider, give
# M' = 5 U-SPEC base clusterings each (k drawn in [K, sqrt(N)]), and the clusters, weighted by their
# entropy-based uncertainty, are cut into K groups by transfer cut on the weighted bipartite graph. No official
# DeepCluE code exists; CC's code, USPEC/USENC and LWGP fill the gaps (implementation notes, section 2).
#
# | paper item | here |
# |---|---|
# | Tables II-IV, rows "DeepCluE" and "CC" (NMI, ARI, ACC) | one CC network per dataset × seed; CC = argmax of g_C, DeepCluE = the weighted ensemble of its six layers |
# | Tables V-VII (layer ablation) | "Using last layer of g_I" = k-means on fc8; "of g_C" = CC's labels; "Using multiple layers" = DeepCluE |
# | Figures 3-5 (weighted clusters, NMI/ARI/ACC) | the consensus of the same base clusterings with every cluster weighing 1 ("DeepCluE unweighted"), beside DeepCluE |
# | Figures 6-8 (ensemble size M, NMI/ARI/ACC) | the weighted consensus of the first M' base clusterings of each layer (M = 6 M') from the same network |
# | Tables II-IV, baseline rows | K-means, SC, AC, NMF on raw pixels; AE and DEC on z-scored pixels (ClustPy's d-500-500-2000-10 autoencoder); JULE and DAC where the profile lists them |
# | (not in the paper) | NMI of every base clustering per layer against the consensus; CC's training losses |
#
# The paper copies its baseline rows other than CC from other papers, with their protocols; the rows rerun here
# are this project's implementations on this run's images. Choices the
# paper leaves open (see `clustlib.studies.deepclue_study`): the three backbone layers are conv4_x, conv5_x and
# fc6; U-SPEC uses its code's defaults (p = 1000, Knn = 5, Euclidean); array datasets are fed at their own size
# and CC resizes every crop and test image to 224, as its transforms do; the paper gives no number of runs.
#
# Reproduced here: nothing at the paper's budget on CPU. `full` runs the six datasets (Fashion-MNIST,
# CIFAR-10, CIFAR-100/20, ImageNet-10, ImageNet-Dogs, Tiny-ImageNet; data under `$CLUSTLIB_DATA`) at the paper's
# settings on a GPU, days per dataset (1000 epochs of a ResNet34 at 224 px). The `smoke` profile is labelled smoke
# and is not the paper's setting: 1,000 stratified Fashion-MNIST images, a ResNet18 at 32 px trained for 6 epochs
# of batch 128, two seeds, the ensemble as in the paper but with p = 500 representatives; it is compared with
# the paper's Fashion-MNIST rows, far below their training budget. Expected time on 2 CPU cores: `ci` ~40 s and
# `smoke` about 70 s when the cores are free (estimated from 88 s measured with 8 CC epochs instead of 6; CC's
# epochs of about 4 s are most of it), several times that when other jobs share them (680 s measured at a load
# average of 15); `full` many GPU days.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["fashion_mnist", "cifar10", "cifar100_20", "imagenet10", "imagenet_dogs", "tiny_imagenet"]
subsets: dict = {}  # stratified subset size per dataset (absent or 0: whole dataset as the paper uses it)
seeds: list = [0, 1, 2]  # one CC network per seed (the paper reports no number of runs)
estimator_params: dict = {}  # ContrastiveClustering arguments over CC's (ResNet34, 224 px, 1000 epochs, batch 256)
layers: list = ["conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9"]  # the ensemble's layers (3 backbone, 2 g_I, 1 g_C)
clusterings_per_layer: int = 5  # U-SPEC base clusterings per layer, M-prime of the paper (30 in all)
pca_dim: int = 1000  # layers wider than this are reduced to it by PCA
n_representatives: int = 1000  # p, U-SPEC representatives (capped at N)
knn: int = 5  # Knn, U-SPEC nearest representatives
ensemble_sizes_per_layer: list = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]  # M-prime values of the Figures 6-8 sweep (M is six times M-prime); empty: no sweep
baselines: list = ["kmeans_pixels", "spectral_pixels", "agglomerative_pixels", "nmf_pixels", "ae_pixels", "dec_pixels", "jule_pixels", "dac_pixels"]  # Tables II-IV baselines rerun here
baseline_params: dict = {}  # per-baseline overrides of the AE, DEC, JULE and DAC settings (epochs, network)
device: str = "cpu"  # "cpu" or "cuda"
n_threads: int = 2  # CPU threads for torch and BLAS (recorded)
scheduler: str | None = None  # jobs run here (null), on a local Dask cluster (local) or at tcp://host:8786
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
from IPython.display import display

from clustlib import fidelity, figures, findings, parallel, plots, repro, results
from clustlib.studies import deepclue_study as deepclue

STUDY = "04_deepclue"
params = dict(datasets=datasets, subsets=subsets, seeds=seeds, estimator_params=estimator_params, layers=layers,
              clusterings_per_layer=clusterings_per_layer, pca_dim=pca_dim, n_representatives=n_representatives,
              knn=knn, ensemble_sizes_per_layer=ensemble_sizes_per_layer, baselines=baselines,
              baseline_params=baseline_params, device=device, n_threads=n_threads, data_root=data_root)
ensemble = dict(layers=layers, clusterings_per_layer=clusterings_per_layer, pca_dim=pca_dim,
                n_representatives=n_representatives, knn=knn)
deepclue.validate(datasets, seeds, estimator_params=estimator_params, subsets=subsets, **ensemble)
deepclue.check_ensemble_sizes(ensemble_sizes_per_layer)
deepclue.check_baselines(baselines, baseline_params)
repro.seed_everything(seeds[0])
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)
executor = parallel.make_executor(scheduler)  # this process, or the Dask cluster that scheduler names
progress = not run.managed  # progress bars in JupyterLab; under `clustlib run` the executed notebook stays clean

# %% [markdown]
# ## Load
#
# Fashion-MNIST and CIFAR train and test parts together, Tiny-ImageNet's train part, ImageNet-10 and
# ImageNet-Dogs as CC builds them. Pixels in [0, 1] without standardisation, grey repeated to 3 channels; array
# datasets keep their own size (CC resizes to `image_size`); ImageNet-10 and ImageNet-Dogs are decoded at
# `image_size`, Tiny-ImageNet at its own 64 px (CC resizes it as it does CIFAR). The images stay uint8 here; each
# dataset's float input exists only while its CC network trains.

# %%
image_size = estimator_params.get("image_size", 224)
imagesets = deepclue.load_inputs(datasets, subsets, image_size=image_size, seed=seeds[0], root=data_root or None)
findings.show_data(imagesets)
for name in datasets:
    arguments = ", ".join(f"{k}={v!r}" for k, v in deepclue.estimator_kwargs(name, estimator_params).items())
    print(f"{name}: ContrastiveClustering({arguments or 'CC defaults'})")

# %% [markdown]
# ## Compute: CC, the last layer of g_I, the weighted and unweighted ensembles, the ensemble sizes (Tables II-VII, Figures 3-8)
#
# One CC network per dataset × seed; its six layers' activations (test transform, eval mode) feed the ensemble.
# The unweighted ensemble is the consensus of the weighted one's base clusterings with every cluster weighing 1,
# so the two differ only in the weights. The ensemble-size sweep reuses the same features and base clusterings:
# the first M' clusterings of every layer (M = 6 M' in all), more drawn only beyond the M' of the main run.
# A rerun of an interrupted `clustlib run` skips the jobs this run folder has logged and resumes CC from its
# per-epoch checkpoint there.

# %%
runs = deepclue.run_grid(run, imagesets, seeds, estimator_params=estimator_params, device=device, progress=progress,
                         ensemble_sizes=ensemble_sizes_per_layer, parallel=executor, **ensemble)

# %% [markdown]
# ## Evaluate
#
# Scores are fractions in [0, 1] throughout, as the paper prints them.

# %%
findings.show_table(deepclue.summary(runs.scores), findings.caption(
    STUDY, profile, params, "NMI, ARI, ACC per clustering of the trained CC network (mean ± SD over seeds); s: "
    "seconds of CC's training (CC row) or of the clustering step"), empty="No clustering ran.")
display(runs.scores[["dataset", "method", "seed", "n_clusters_found", "seconds"]].round(2))
findings.show_table(runs.base.groupby(["dataset", "layer"], sort=False)["nmi"].agg(["mean", "std", "min", "max"])
                    .round(3), "NMI of the ensemble's base clusterings per layer (over base clusterings and seeds)",
                    empty="No base clustering ran.")

# %% [markdown]
# ## Compare with the paper
#
# Tables II-IV: DeepCluE and CC; Tables V-VII: the layer ablation (our CC labels are the "last layer of g_C" row,
# our DeepCluE the "multiple layers" row). Only datasets of the paper appear; the smoke profile's Fashion-MNIST
# subset and short training are not a reproduction.

# %%
protocol = findings.run_protocol(STUDY, params)  # marks each compared row run on a subset of the paper's images
for which, tables in (("main", ("II", "III", "IV")), ("ablation", ("V", "VI", "VII"))):
    findings.show_comparison(deepclue.compare_with_paper(runs.scores, which), findings.caption(
        STUDY, profile, params, f"Tables {tables[0]}-{tables[-1]}, ours beside the paper"), datasets=datasets,
        paper_name="deepclue2022", tables=tables, protocol=protocol)

# %% [markdown]
# ## Weighted versus unweighted clusters (Figures 3-5)
#
# Figures 3, 4 and 5 draw NMI, ARI and ACC of DeepCluE with and without its entropy-based cluster weights, one
# pair of bars per dataset; the text says the weighted variant "consistently outperforms" the other. The paper
# prints no number for the unweighted bars (values read off a figure are not numbers, so none are copied here);
# its weighted bars are DeepCluE, whose values Tables II-IV print, and those stand beside ours.

# %%
findings.show_table(deepclue.weighting_table(runs.scores), findings.caption(
    STUDY, profile, params, "Figures 3-5: with and without weighted clusters (mean ± SD over seeds), the paper's "
    "DeepCluE from Tables II-IV"), empty="No ensemble ran.")
figures.publish(run, deepclue.draw_figures(run.run_dir, only=["deepclue_fig3_5_weighting_"]))

# %% [markdown]
# ## Ensemble size (Figures 6-8)
#
# Section IV-F varies "the number of base clusterings M" (M = λ M', λ = 6 layers, M' per layer; the paper's
# runs use M' = 5, M = 30) and draws NMI, ARI and ACC against M in Figures 6, 7 and 8, finding that "a relative
# larger ensemble size can often be beneficial". The figures are images: the text gives neither the range of M
# nor the points, so this study sweeps M' (`ensemble_sizes_per_layer`; full: M' = 1..10, M = 6..60, around the
# paper's 30) and marks Tables II-IV's DeepCluE value at M = 30, the only point of the curves the paper prints.

# %%
if len(runs.sizes):
    findings.show_table(deepclue.ensemble_size_table(runs.sizes), findings.caption(
        STUDY, profile, params, "Figures 6-8: DeepCluE per ensemble size M (mean ± SD over seeds), the paper's "
        "Tables II-IV value at M = 30"), empty="No ensemble size ran.")
    figures.publish(run, deepclue.draw_figures(run.run_dir, only=["deepclue_fig6_8_ensemble_size_"]))
else:
    print("ensemble_sizes_per_layer is empty in this profile: no ensemble-size sweep (Figures 6-8).")

# %% [markdown]
# ## Baselines (Tables II-IV)
#
# The paper copies these rows from other papers; here they run on this run's images:
#
# * K-means, spectral clustering (10-NN graph), agglomerative clustering (Ward; 10-NN connectivity above 20,000
#   images) and NMF on the flattened pixels / 255, as the paper's traditional rows. NMF and Ward are
#   deterministic: one run each.
# * AE and DEC (`ae_pixels`, `dec_pixels`): `clustlib.deep.run_deep_clustering("ae_kmeans" | "dec")` on the
#   flattened z-scored pixels, as the ClustPy benchmark feeds them, with its feed-forward autoencoder
#   d-500-500-2000-10 (full: 100 pretraining epochs, 150 of DEC, batch 256); DEC refines the autoencoder of the same
#   seed, taken from the cache.
# * JULE (`jule_pixels`): clustlib's JULE, an MLP on the pixels / 255 in place of JULE's CNN on the images.
#   DAC (`dac_pixels`): the DAC variant with the authors' ALL-ConvNet script of the dataset (MNIST's for
#   Fashion-MNIST) and the paper's schedule; Tiny-ImageNet has no DAC script and is skipped. Both are left out of
#   the smoke profile for their cost: on 1,000 Fashion-MNIST images on one shared core JULE took 11 s per seed, and
#   DAC with the MNIST script's network and schedule had not finished after 9 CPU minutes, against a budget of
#   about 3 minutes for the whole smoke run. The full profile lists them; ci runs them on 200 digits with tiny
#   settings (DAC: the small16 network, 2 epochs) so that their code path is tested.

# %%
findings.show_table(deepclue.skipped_baselines(datasets, baselines), "Baseline runs skipped, and why",
                    empty="Every listed baseline runs on every dataset.")
base_rows = deepclue.run_baselines(run, imagesets, baselines, seeds, baseline_params=baseline_params, device=device,
                                   progress=progress,
                                   parallel=executor)
findings.show_table(deepclue.summary(base_rows), findings.caption(
    STUDY, profile, params, "Baselines, NMI, ARI, ACC (mean ± SD over seeds); s: seconds per run"),
    empty="No baseline ran.")
findings.show_comparison(deepclue.compare_baselines_with_paper(base_rows), findings.caption(
    STUDY, profile, params, "Tables II-IV baseline rows, ours beside the paper"), datasets=datasets,
    paper_name="deepclue2022", tables=("II", "III", "IV"), protocol=protocol)

# %% [markdown]
# ## Figures
#
# Tables V-VII as bars (NMI, ARI, ACC; the paper's values as dashes), the NMI of every base clustering per layer
# beside the consensus, and CC's training losses. Every figure of this notebook is drawn from the run folder
# alone (records and the tables kept beside them), so `clustlib figures 04 --profile P --style paper` redraws
# them without recomputing.

# %%
figures.publish(run, deepclue.draw_figures(run.run_dir, only=["deepclue_table5_7_ablation_",
                                                              "deepclue_base_clusterings_",
                                                              "deepclue_training_curves_"]))

# %% tags=["check"]
logged = run.records
assert len(logged) > 0 and logged["value"].between(-0.5, 1).all() and logged["value"].notna().all()
jobs = deepclue.baseline_jobs(datasets, baselines, seeds)
swept = {deepclue.SIZE_METHOD} if ensemble_sizes_per_layer else set()
assert set(logged["method"]) == set(deepclue.METHODS) | {b for _, b, _ in jobs} | swept
cc_rows = logged[logged["method"].isin(deepclue.METHODS)]
assert len(cc_rows) == 3 * len(deepclue.METHODS) * len(datasets) * len(seeds)  # nmi, ari, acc per clustering
assert len(base_rows) == len(jobs) and base_rows[["nmi", "ari", "acc"]].notna().all().all()
assert len(logged[logged["method"].isin(baselines)]) == 3 * len(jobs)
assert len(runs.sizes) == len(ensemble_sizes_per_layer) * len(datasets) * len(seeds)
assert (runs.sizes["M"] == runs.sizes["M_per_layer"] * len(layers)).all()
assert len(logged[logged["method"] == deepclue.SIZE_METHOD]) == 3 * len(runs.sizes)
assert len(deepclue.weighting_table(runs.scores)) == 3 * len(datasets)
assert len(runs.base) == len(layers) * clusterings_per_layer * len(datasets) * len(seeds)
epochs_run = runs.history.groupby(["dataset", "seed"]).size()
assert (epochs_run == estimator_params.get("epochs", 1000)).all() and len(epochs_run) == len(datasets) * len(seeds)
assert (runs.scores.loc[runs.scores["method"] == deepclue.METHOD, "n_clusters_found"] > 1).all()
redrawn = deepclue.scores_from_records(run.records)  # what draw_figures reads back from the run folder
assert len(redrawn) == len(runs.scores) and set(redrawn["dataset"]) == set(datasets)

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
# Generated from this run's records and the paper's tables (`clustlib.findings.deepclue`): each claim the study
# tests, ours beside the paper's, and whether the direction agrees.

# %%
executor.close()
run_dir = run.finish()
findings.show(findings.deepclue(run.records, profile=profile, params=params), run_dir=run_dir)
