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
# # Study 1: which pretrained CNN, which layer, which clustering algorithm?
#
# Reproduces Section 3 of J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots, *Combining pretrained CNN
# feature extractors to enhance clustering of complex natural images*, Neurocomputing 423 (2021):
# Tables A.3–A.6 (NMI and clustering time) and Figures 3–6. Original code:
# [jorisguerin/pretrainedCNN_clustering](https://github.com/jorisguerin/pretrainedCNN_clustering).
#
# Images go through an ImageNet-pretrained CNN; the features of three layers (L1 = end of the convolutional
# block, L2 = second layer before the softmax, L3 = last layer before the softmax; see
# `clustlib.features.paper_zoo` for the Keras → torchvision/timm mapping) are clustered by k-means
# (`n_init=10`) and by Ward agglomerative clustering into the true number of classes, and scored by NMI.
# A raw-pixel baseline row sits beside them, and, as the paper's Appendix A, a bag-of-features (BoF, "bag of
# sifts") row for the datasets of `bof_datasets`: dense SIFT descriptors (16-pixel patches every 8 pixels), a
# 200-word k-means vocabulary, one L1-normalised word histogram per image (`clustlib.features.bof`), clustered by
# the same two algorithms. Features are computed in float32, as the paper's Keras networks
# (`amp` turns bfloat16 autocast on for CUDA), and each image is resampled once, from its file or array straight
# to the network's input size (224, or 299 for InceptionV3 and Xception). Figure 6 uses the L3 rows only, as
# the paper does from Section 3.2.1 on.
#
# | profile | data | networks | expected time (2 CPU cores) |
# |---|---|---|---|
# | `ci` | 200 digits | EfficientNet-Lite0 (+ BoF) | ~1 min |
# | `smoke` | digits (1,797) + Fashion-MNIST (2,000 stratified) | EfficientNet-Lite0/1/2 (real ImageNet weights, offline) + BoF | ~10 min; ~1 min with cached features |
# | `full` | the paper's 8 datasets (BoF: VOC2007, Archi, Flowers, UMist) | VGG16, VGG19, InceptionV3, Xception, ResNet50 | hours on a GPU |
#
# The `smoke` profile uses the offline EfficientNet-Lite networks, not the paper's five, and datasets the
# paper did not use: its numbers show the method, not the paper's rows.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["digits", "fashion_mnist"]  # dataset names, see `clustlib data list`
subsets: dict = {"fashion_mnist": 2000}  # stratified subset size per dataset (absent or 0: whole dataset)
extractors: list = ["efficientnet_lite0.imagenet", "efficientnet_lite1.imagenet", "efficientnet_lite2.imagenet"]  # registered extractors
layers: list = ["L1", "L2", "L3"]  # layer taps (Guérin Table 2)
algorithms: list = ["kmeans", "agglomerative"]  # k-means with n_init 10, Ward agglomerative
include_pixels: bool = True  # add the raw-pixel baseline row
keep_wide_features: bool = True  # keep layers wider than N in the feature cache for study 02 (false: bounded disk)
seed: int = 0  # seed of subsets and k-means
batch_size: int = 64  # images per forward pass
device: str = "cpu"  # "cpu" or "cuda"
amp: bool = False  # bfloat16 autocast for extraction on CUDA (off: float32 as the Keras networks of the paper)
n_threads: int = 2  # CPU threads for BLAS and torch (recorded)
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data
bof_datasets: list = ["digits", "fashion_mnist"]  # datasets with a BoF row (the paper: smallest of each task)
bof_vocabulary: int = 200  # visual words (k-means centres) of the BoF vocabulary
bof_patch: int = 16  # side of a dense SIFT patch in pixels (a multiple of 4)
bof_step: int = 8  # spacing of the dense SIFT grid in pixels
bof_image_size: int = 64  # images are resized to this square side (pixels) before SIFT
bof_sample: int = 10000  # descriptors sampled to learn the BoF vocabulary

# %%
from clustlib import fidelity, figures, findings, plots, repro, results
from clustlib.studies import guerin_bof, layer_grid, load_datasets

STUDY = "01_layer_architecture_grid"
params = dict(datasets=datasets, subsets=subsets, extractors=extractors, layers=layers, algorithms=algorithms,
              include_pixels=include_pixels, keep_wide_features=keep_wide_features, seed=seed, batch_size=batch_size,
              device=device, amp=amp, n_threads=n_threads, data_root=data_root, bof_datasets=bof_datasets,
              bof_vocabulary=bof_vocabulary, bof_patch=bof_patch, bof_step=bof_step, bof_image_size=bof_image_size,
              bof_sample=bof_sample)
layer_grid.validate_grid(extractors, layers, algorithms)
guerin_bof.validate_params(params)
repro.seed_everything(seed)
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)
progress = not run.managed  # progress bars in JupyterLab; under `clustlib run` the executed notebook stays clean

# %% [markdown]
# ## Load

# %%
imagesets = load_datasets(datasets, subsets, seed=seed, root=data_root or None)
findings.show_data(imagesets)

# %% [markdown]
# ## Compute: extract features, cluster, score
#
# NMI is a fraction in [0, 1] throughout, as the paper prints it; `time_s` is the clustering time in seconds.

# %%
records = layer_grid.run_layer_grid(run, imagesets, extractors, layers, algorithms, seed=seed,
                                    batch_size=batch_size, device=device, amp=amp, include_pixels=include_pixels,
                                    keep_wide_features=keep_wide_features, progress=progress)
findings.show_table(layer_grid.nmi_table(records).round(3), findings.caption(
    STUDY, profile, params, "NMI and clustering time per network, layer and algorithm (one seed); dims: feature "
    "width D"), empty="No clustering ran.")

# %% tags=["check"]
grid_records = records[records["method"] != guerin_bof.METHOD]  # a resumed run already holds its BoF rows
n_expected = len(datasets) * (len(extractors) * len(layers) + int(include_pixels)) * len(algorithms)
assert len(grid_records) == n_expected, (len(grid_records), n_expected)
assert records["value"].between(0, 1).all() and records["time_s"].ge(0).all()

# %% [markdown]
# ## Compute: the bag-of-features baseline (BoF rows of Tables A.3–A.6)
#
# Dense SIFT on each image resized to `bof_image_size` pixels, a vocabulary learnt by k-means on `bof_sample`
# descriptors of the dataset (seeded), one L1-normalised histogram of visual words per image, then k-means and Ward
# into K as above. Neither the paper nor its ref. [25] gives the vocabulary size or the sampling: the defaults are
# Lazebnik et al. (2006), see `clustlib.features.bof`. The time column is the clustering time, as the paper's.

# %%
bof = guerin_bof.bag_of_features(params, seed=seed, batch_size=batch_size, progress=progress)
bof_records = guerin_bof.run_bof(run, {name: imagesets[name] for name in bof_datasets}, algorithms, bof, seed=seed,
                                 progress=progress)

# %% tags=["check"]
assert len(bof_records) == len(bof_datasets) * len(algorithms), (len(bof_records), bof_datasets, algorithms)
assert bof_records["value"].between(0, 1).all() and bof_records["time_s"].ge(0).all()

# %% [markdown]
# ## Compare with the paper (Tables A.3–A.6)
#
# Rows appear where our datasets and architectures overlap the paper's (the `full` profile).

# %%
findings.show_comparison(layer_grid.compare_with_paper(records), findings.caption(
    STUDY, profile, params, "Tables A.3–A.6, ours beside the paper (NMI; clustering time in seconds)"),
    datasets=datasets, paper_name="guerin2021", tables=("A.3", "A.4", "A.5", "A.6"),
    also_needed="this run's networks are not among the paper's five", protocol=findings.run_protocol(STUDY, params))

# %% [markdown]
# The BoF rows (the paper has them for VOC2007, Archi, Flowers and UMist only): ours beside the paper's NMI and
# clustering time; a dataset the paper has no BoF row for is a stand-in, and the paper's four are empty on our side
# unless the run described them (the `full` profile). `BoF features (s)` is the time of our representation itself.

# %%
bof_side = guerin_bof.bof_table(run.records).round(3)
findings.show_table(bof_side.astype(object).where(bof_side.notna(), "—"), findings.caption(
    STUDY, profile, params, "BoF rows of Tables A.3–A.6, ours beside the paper (NMI; clustering time in seconds)"),
    empty="No BoF row in this run or the paper.")

# %% [markdown]
# ## Figures 3–6
#
# Drawn from this run folder alone (`clustlib figures 01 --style paper` redraws them without recomputing).
# Figures 3b and 4b group the datasets by the paper's four tasks (natural objects, scenes, fine-grained, faces);
# datasets of other tasks follow as stand-ins. Black diamonds: the paper's means over its five CNNs from
# Tables A.3–A.6, where the bar has a paper counterpart (its task, or its network in `full`).

# %%
figures.publish(run, layer_grid.draw_figures(run.run_dir, only=list(layer_grid.FIGURES)))

# %% [markdown]
# The BoF rows as a chart (the paper prints them in its tables only): BoF beside raw pixels and the CNNs at L3 per
# dataset and algorithm, the paper's values as diamonds on its four BoF datasets.

# %%
figures.publish(run, guerin_bof.draw_figures(run.run_dir, only=list(guerin_bof.FIGURES)))

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
# Generated from this run's records and the paper's tables (`clustlib.findings.layer_grid`): each claim the study
# tests, ours beside the paper's, and whether the direction agrees.

# %%
run_dir = run.finish()
findings.show(findings.layer_grid(run.records, profile=profile, params=params), run_dir=run_dir)
