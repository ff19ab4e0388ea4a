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
# # Study 2: MVEC and the sweep over every combination of views
#
# Reproduces Sections 4.3–4.4 and Figure 10 of J. Guérin et al., *Combining pretrained CNN feature
# extractors to enhance clustering of complex natural images*, Neurocomputing 423 (2021). Original code of
# the co-association consensus: [jorisguerin/tutorial_IC](https://github.com/jorisguerin/tutorial_IC).
#
# Each view (a network's layer, or the raw pixels) is clustered once with Ward agglomerative clustering;
# for every one of the 2^M − 1 subsets of views, the partitions are merged through their co-association
# matrix, clustered by average linkage into K clusters (MVEC_agg), and scored by NMI. The paper's two
# observations to check: more views raise the mean NMI and lower its spread, and two views do worse than
# one on average.
#
# | profile | data | views | expected time (2 CPU cores) |
# |---|---|---|---|
# | `ci` | 200 digits | 5 (31 combinations) | ~1 min |
# | `smoke` | digits + 2,000 Fashion-MNIST | 10: EfficientNet-Lite0/1/2 × L1/L2/L3 + pixels (1023 combinations) | ~2.5 min with study 1's cached features (~8 min cold) |
# | `full` | VOC2007, Archi, Flowers, UMist | the paper's ten CNNs at L3 (1023 combinations) | GPU for extraction |
#
# The `smoke` views are not the paper's ten CNNs; its numbers illustrate the method on offline data.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["digits", "fashion_mnist"]  # dataset names, see `clustlib data list`
subsets: dict = {"fashion_mnist": 2000}  # stratified subset size per dataset (absent or 0: whole dataset)
views: list = ["efficientnet_lite0.imagenet:L1", "efficientnet_lite0.imagenet:L2", "efficientnet_lite0.imagenet:L3", "efficientnet_lite1.imagenet:L1", "efficientnet_lite1.imagenet:L2", "efficientnet_lite1.imagenet:L3", "efficientnet_lite2.imagenet:L1", "efficientnet_lite2.imagenet:L2", "efficientnet_lite2.imagenet:L3", "pixels"]  # views as extractor:layer, or pixels
base_algorithm: str = "agglomerative"  # base clusterer per view: agglomerative (paper) or kmeans
executor: str = "inprocess"  # inprocess, local (Dask LocalCluster) or a scheduler address tcp://host:port
n_workers: int = 2  # Dask worker processes when executor is local
seed: int = 0  # seed of subsets and k-means
batch_size: int = 64  # images per forward pass
device: str = "cpu"  # "cpu" or "cuda"
n_threads: int = 2  # CPU threads for BLAS and torch (recorded)
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
import pandas as pd

from clustlib import fidelity, figures, findings, plots, repro, results
from clustlib.studies import load_datasets, mvec_sweep

STUDY = "02_mvec_sweep"
params = dict(datasets=datasets, subsets=subsets, views=views, base_algorithm=base_algorithm, executor=executor,
              n_workers=n_workers, seed=seed, batch_size=batch_size, device=device, n_threads=n_threads,
              data_root=data_root)
mvec_sweep.validate_views(views)
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
# ## Compute: base clusterings, then every combination of views
#
# NMI is a fraction in [0, 1] throughout, as the paper prints it; times are in seconds.

# %%
tables = [mvec_sweep.run_sweep(run, imageset, views, algorithm=base_algorithm, seed=seed, batch_size=batch_size,
                               device=device, executor=executor, n_workers=n_workers, progress=progress)
          for imageset in imagesets.values()]
sweep = pd.concat(tables, ignore_index=True)
summary = mvec_sweep.summary_by_m(sweep)
findings.show_table(summary.round(4), findings.caption(
    STUDY, profile, params, "NMI (mean and SD over the C(M, m) combinations) and time per number of views m"),
    empty="No combination ran.")

# %% tags=["check"]
n_combinations = 2 ** len(views) - 1
assert (sweep.groupby("dataset").size() == n_combinations).all()
assert sweep["nmi"].between(0, 1).all() and sweep["t_total"].ge(sweep["t_parallel"] - 1e-9).all()

# %% [markdown]
# ## Single views against the all-view MVEC, and the m = 2 dip the paper reports

# %%
findings.show_table(mvec_sweep.single_vs_all(sweep).round(4), "Best and worst single view, all views, and the "
                    "mean NMI at m = 1 and m = 2", empty="No sweep ran.")

# %% [markdown]
# ## Figure 10: NMI and time against the number of views
#
# Drawn from this run folder alone (`clustlib figures 02 --style paper` redraws them without recomputing). The
# time panel includes the extraction time t1, which is near zero when the features came from the shared cache.

# %%
figures.publish(run, mvec_sweep.draw_figures(run.run_dir, only=mvec_sweep.figure_names(datasets)))

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
# Generated from this run's records and the paper's tables (`clustlib.findings.mvec_sweep`): each claim the study
# tests, ours beside the paper's, and whether the direction agrees.

# %%
run_dir = run.finish()
findings.show(findings.mvec_sweep(run.records, profile=profile, params=params), run_dir=run_dir)
