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
# # Study 3: JULE, MVnet and the multi-view comparison tables
#
# Reproduces Sections 5–6 of J. Guérin et al., *Combining pretrained CNN feature extractors to enhance
# clustering of complex natural images*, Neurocomputing 423 (2021): Tables B.7–B.10 (NMI, PUR, ACC of every
# method), the MIX charts of Figures 11–14, the complementary-views analysis of Figure 8, and the learned
# representations of Figures 15–16. JULE follows J. Yang, D. Parikh, D. Batra, CVPR 2016
# ([jwyang/JULE.torch](https://github.com/jwyang/JULE.torch)); MVnet's training code was never published, so
# `clustlib.deep.jule.mvnet` implements the paper's description.
#
# Rows: every single view clustered by JULE on its features (the paper's single-CNN rows: Table B.10's UMist
# VGG16 NMI 0.891 is not the 0.689 that Ward gives in Table A.6 and Figure 8, and §6.3.2 says JULE fails exactly
# where these rows fall below Ward), BNet/WNet (best/worst of those on the dataset), LNet (the view leading on the
# *other* datasets of the run, eq. 11), CC, MVnet_fix, MVnet, MVEC, MVEC_jule, MVSC, MVSC_jule, RMKKM, RMKKM_jule;
# and, as labelled extra rows, Ward on every view. A method whose N×N kernels exceed `max_memory_gb` is N/A, as
# in the paper. JULE renorms its input before the first nearest-neighbour chains, as JULE.torch does. Figures 8
# and 16 use UMist, and Figure 8 the paper's three networks and class 4, when the run has them.
#
# | profile | data | views | expected time (2 CPU cores) |
# |---|---|---|---|
# | `ci` | 150 digits | 2 | ~1 min |
# | `smoke` | digits + 2,000 Fashion-MNIST | EfficientNet-Lite0/1/2 at L3 (offline) | ~10 min |
# | `full` | the paper's nine datasets | the ten ImageNet CNNs at L3 | hours; GPU for extraction |
#
# The `smoke` views are three offline networks, not the paper's ten: compare trends, not digits.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["digits", "fashion_mnist"]  # dataset names, see `clustlib data list`
subsets: dict = {"fashion_mnist": 2000}  # stratified subset size per dataset (absent or 0: whole dataset)
views: list = ["efficientnet_lite0.imagenet:L3", "efficientnet_lite1.imagenet:L3", "efficientnet_lite2.imagenet:L3"]  # views as extractor:layer, or pixels
jule_params: dict = {}  # JULE overrides, e.g. eta or epochs_per_period; empty keeps JULE's defaults
face_datasets: list = ["umist", "fei"]  # datasets that get the unfolding rate eta 0.2 (paper), others 0.9
max_memory_gb: float = 16.0  # memory budget of the dense kernels, GiB (the paper's machine had 16)
tsne_points: int = 1000  # points drawn in each t-SNE panel
seed: int = 0  # seed of subsets, k-means and the networks
batch_size: int = 64  # images per forward pass
device: str = "cpu"  # "cpu" or "cuda": feature extraction and the JULE, CC and MVnet training
amp: bool = False  # bfloat16 autocast for extraction on CUDA (off: float32 as the Keras networks of the paper)
n_threads: int = 2  # CPU threads for BLAS and torch (recorded)
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
from clustlib import fidelity, figures, findings, plots, repro, results
from clustlib.studies import load_datasets, mvnet_tables

STUDY = "03_mvnet_jule_tables"
params = dict(datasets=datasets, subsets=subsets, views=views, jule_params=jule_params, face_datasets=face_datasets,
              max_memory_gb=max_memory_gb, tsne_points=tsne_points, seed=seed, batch_size=batch_size, device=device,
              amp=amp, n_threads=n_threads, data_root=data_root)
mvnet_tables.validate_params(params)
repro.seed_everything(seed)
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)

# %% [markdown]
# ## Load and extract the views

# %%
imagesets = load_datasets(datasets, subsets, seed=seed, root=data_root or None)
view_matrices = {name: mvnet_tables.build_views(imageset, views, batch_size=batch_size, device=device, amp=amp)
                 for name, imageset in imagesets.items()}
findings.show_data(imagesets)

# %% [markdown]
# ## Compute every method row
#
# Scores are fractions in [0, 1] throughout, as the paper prints them.

# %%
outcomes = []
for name, imageset in imagesets.items():
    eta = 0.2 if name in face_datasets else 0.9
    outcomes.append(mvnet_tables.run_dataset(imageset, views, view_matrices[name], seed=seed,
                                             jule_params={"eta": eta, **jule_params}, max_memory_gb=max_memory_gb,
                                             device=device, checkpoint=lambda method, name=name: run.checkpoint_path(
                                                 dataset=name, method=method, seed=seed)))
mvnet_tables.add_selected_networks(outcomes)
for outcome in outcomes:
    mvnet_tables.log_outcome(run, outcome, seed=seed)
# what Figures 8 and 11-16 draw beyond the records (scores, K-means per stage, t-SNE), kept in the run folder
figure_data = mvnet_tables.save_figure_data(run, outcomes, seed=seed, max_points=tsne_points)
figure_names = mvnet_tables.figure_names(datasets, figure_data["dataset"])
findings.show_table(mvnet_tables.score_table(outcomes), findings.caption(
    STUDY, profile, params, "Tables B.7–B.10 in this run: NMI, PUR, ACC per method (one seed; N/A: over the memory "
    "budget)"), empty="No method ran.")

# %% tags=["check"]
for outcome in outcomes:
    ok = outcome.scores[outcome.scores["status"] == "ok"]
    assert set(mvnet_tables.MULTI_VIEW_METHODS) <= set(outcome.scores["method"])
    assert ok[["nmi", "pur", "acc", "mix"]].apply(lambda col: col.between(0, 1)).all().all()

# %% [markdown]
# ## Compare with the paper (Tables B.7–B.10)
#
# Rows appear where our datasets overlap the paper's (the `full` profile).

# %%
protocol = findings.run_protocol(STUDY, params)  # marks each compared row run on a subset or fewer JULE epochs
findings.show_comparison(mvnet_tables.compare_with_paper(run.records), findings.caption(
    STUDY, profile, params, "Tables B.7–B.10, ours beside the paper (single networks: JULE)"), datasets=datasets,
    paper_name="guerin2021", tables=("B.7", "B.8", "B.9", "B.10"), protocol=protocol)

# %% [markdown]
# ## Figures 11–14: MIX per method

# %%
figures.publish(run, mvnet_tables.draw_figures(run.run_dir, only=[n for n in figure_names if n.startswith("fig11")]))

# %% [markdown]
# ## Figure 8: complementary views
#
# Ward agglomerative on single views, as the paper's Figure 8: on UMist with InceptionResnet, VGG16 and
# Densenet121 and class 4 where the run has them, otherwise the run's first dataset and views and the class they
# disagree on most.

# %%
findings.show_table(figure_data["fm_table"].round(3), findings.caption(
    STUDY, profile, params, f"Figure 8 in this run: Ward scores of three views on {figure_data['dataset']}, with the "
    "per-class FM of the highlighted class"), empty="No view ran.")
findings.show_comparison(mvnet_tables.compare_figure_8(run.records), findings.caption(
    STUDY, profile, params, "Figure 8 inset table, ours beside the paper"), datasets=datasets,
    paper_name="guerin2021", tables=("Figure 8",), protocol=protocol,
    also_needed="the run lacks InceptionResnet, VGG16 or Densenet121")
figures.publish(run, mvnet_tables.draw_figures(run.run_dir, only=[n for n in figure_names if n.startswith("fig8")]))

# %% [markdown]
# ## Figures 15–16: the representations along the pipeline

# %%
findings.show_table(figure_data["stage_scores"].round(3), "NMI of K-means on each stage's representation "
                    "(Figure 15)", empty="No stage to cluster.")
figures.publish(run, mvnet_tables.draw_figures(run.run_dir, only=[n for n in figure_names if n.startswith(("fig15",
                                                                                                          "fig16"))]))

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
# Generated from this run's records and the paper's tables (`clustlib.findings.mvnet_tables`): each claim the study
# tests, ours beside the paper's, and whether the direction agrees.

# %%
run_dir = run.finish()
findings.show(findings.mvnet_tables(run.records, profile=profile, params=params), run_dir=run_dir)
