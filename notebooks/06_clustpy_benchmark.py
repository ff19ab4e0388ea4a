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
# # Study 6: the ClustPy deep-clustering benchmark
#
# Reproduces C. Leiber, L. Miklautz, C. Plant, C. Böhm, *Benchmarking Deep Clustering Algorithms With
# ClustPy*, ICDMW 2023 ([collinleiber/BenchmarkingDeepClustering](https://github.com/collinleiber/BenchmarkingDeepClustering))
# with clustlib's own trainers: autoencoders pretrained once per (data, network, m, seed) and shared by every
# method; DEC, IDEC and DCN scored by a final k-means on the embedding, as ClustPy does.
#
# | experiment | paper item | here |
# |---|---|---|
# | A, B | Tables I–II, Figure 1 | main table on every dataset; clustering runtime per method |
# | C | Table III | the small d-512-256-128-10 autoencoder |
# | D | Figure 2 | embedding size m |
# | E | Figure 3 | initial clustering: k-means, EM, spectral, SubKmeans (AE baselines, DEC, IDEC, DCN) |
# | F | Figure 4 | clustering learning rate |
# | G | Figure 5 | train vs. unseen test: the official train/test splits (USPS, MNIST in the paper); digits has none, so there a stratified random 70/30 split, labelled |
# | H | Table IV | augmentation: random rotation/translation/shear in pretraining and clustering |
# | I | Table V | ResNet18 convolutional autoencoder |
#
# Methods: AE+KMeans, DEC, IDEC, DCN, ACe/DeC, DipEncoder. `digits` is scikit-learn's 1,797-image *test part*
# of Optdigits (the paper's Optdigits has 5,620 images). The `smoke` profile uses fewer epochs and three seeds
# (experiment I: one seed on 300 images, a few epochs): its numbers are labelled smoke and are not the paper's
# setting; every comparison table marks such rows in its `ours run on` column (stand-in data, subset, epochs).
# Everything trains in float32, as the benchmark does, unless `amp` is "on". Expected time on 2 CPU cores: `ci`
# ~1 min, `smoke` ~22 min (measured); `full` (ten seeds, 100 + 150 epochs, paper datasets) hours on a GPU.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["digits", "fashion_mnist"]  # datasets of the main table (A, B)
subsets: dict = {"fashion_mnist": 2000}  # stratified subset size per dataset (absent or 0: whole dataset)
experiment_datasets: list = ["digits"]  # datasets of the single-factor experiments C, D, E, F, G, I
methods: list = ["ae_kmeans", "dec", "idec", "dcn", "acedec", "dipencoder"]  # methods of A, B, H (list_methods())
factor_methods: list = ["ae_kmeans", "dec", "idec", "dcn"]  # methods of the single-factor experiments C, D, F, G, I
experiments: list = ["A", "B", "C", "D", "E", "F", "G", "H", "I"]  # experiments to run, letters A to I
seeds: list = [0, 1, 2]  # one autoencoder pretraining per seed
pretrain_epochs: int = 100  # autoencoder pretraining epochs (paper 100)
clustering_epochs: int = 150  # clustering epochs (paper 150)
batch_size: int = 256  # mini-batch size (paper 256)
embedding_sizes: list = [2, 5, 10, 25]  # experiment D values of m (paper 2 to 100)
learning_rates: list = [0.00001, 0.0001, 0.0005]  # experiment F clustering learning rates
initial_clusterings: list = ["kmeans", "em", "spectral", "subkmeans"]  # experiment E initial clusterings
augmentation_datasets: list = ["digits"]  # experiment H datasets (grey images)
conv_subset: int = 0  # experiment I: stratified images per dataset (0: all)
conv_seeds: list = [0, 1, 2]  # experiment I seeds
conv_epochs: list = [100, 150]  # experiment I pretraining and clustering epochs (paper 100, 150)
method_params: dict = {}  # per-method estimator overrides, e.g. {"acedec": {"init_iterations": 2000}}
compare_clustpy: bool = True  # side-by-side with ClustPy's own DEC/IDEC/DCN (skipped if clustpy is not installed)
amp: str = "off"  # mixed precision: "off" (float32, as the benchmark) or "on" (bfloat16 autocast; CPU: fast with AMX only)
device: str = "cpu"  # "cpu" or "cuda"
n_threads: int = 2  # CPU threads for torch and BLAS (recorded)
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
from clustlib import fidelity, findings, plots, repro, results
from clustlib.deep import clustpy_reference
from clustlib.studies import clustpy_benchmark as bench
from clustlib.studies import load_datasets

STUDY = "06_clustpy_benchmark"
params = dict(datasets=datasets, subsets=subsets, experiment_datasets=experiment_datasets, methods=methods,
              factor_methods=factor_methods,
              experiments=experiments, seeds=seeds, pretrain_epochs=pretrain_epochs,
              clustering_epochs=clustering_epochs, batch_size=batch_size, embedding_sizes=embedding_sizes,
              learning_rates=learning_rates, initial_clusterings=initial_clusterings,
              augmentation_datasets=augmentation_datasets, conv_subset=conv_subset, conv_seeds=conv_seeds,
              conv_epochs=conv_epochs, method_params=method_params, compare_clustpy=compare_clustpy, amp=amp, device=device, n_threads=n_threads, data_root=data_root)
bench.validate(methods + factor_methods, experiments, seeds, initial_clusterings=initial_clusterings, conv_epochs=conv_epochs,
               amp=amp, method_params=method_params)
repro.seed_everything(seeds[0])
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)
progress = not run.managed  # progress bars in JupyterLab; under `clustlib run` the executed notebook stays clean
train = dict(pretrain_epochs=pretrain_epochs, clustering_epochs=clustering_epochs, batch_size=batch_size,
             device=device, n_threads=n_threads, amp=bench.amp_flag(amp), method_params=method_params,
             progress=progress)
main = None  # the main table, reused by experiment H's comparison
stand_ins = findings.CLUSTPY_STAND_INS  # digits is the test part of Optdigits: compared with the Optdigits rows
protocol = findings.run_protocol(STUDY, params)  # marks each compared row run on a stand-in, a subset, fewer epochs
compare = dict(stand_ins=stand_ins, paper_name="clustpy2023", scale="percent", protocol=protocol)


def caption(what):
    return findings.caption(STUDY, profile, params, what)


# %%
imagesets = load_datasets(sorted(set(datasets) | set(experiment_datasets) | set(augmentation_datasets)), subsets,
                          seed=seeds[0], root=data_root or None)
main_sets = {name: imagesets[name] for name in datasets}
single_sets = {name: imagesets[name] for name in experiment_datasets}
augmentation_sets = {name: imagesets[name] for name in augmentation_datasets}
findings.show_data(imagesets)

# %% [markdown]
# ## A, B: the main table (d-500-500-2000-10) and runtime
#
# Scores are percentages throughout, as the paper prints them (mean ± SD over seeds).

# %%
if {"A", "B"} & set(experiments):
    main = bench.run_grid(run, "A", main_sets, methods, seeds, **train)
    findings.show_table(bench.summary(main, ["dataset", "method"]), caption("A: main table, d-500-500-2000-10"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(main, "II", "ae=d-500-500-2000-10", stand_ins=stand_ins),
                             caption("Table II, ours beside the paper"), datasets=datasets, tables=("II",), **compare)
    findings.show_comparison(bench.compare_with_paper(main, "I", "replication", stand_ins=stand_ins),
                             caption("Table I (ClustPy's replication on MNIST), ours beside the paper"),
                             datasets=datasets, tables=("I",), **compare)
    fig = bench.figure_runtime(main)
    plots.save_figure(fig, "fig1_runtime", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## C: the small autoencoder d-512-256-128-10 (Table III)

# %%
if "C" in experiments:
    small = bench.run_grid(run, "C", single_sets, factor_methods, seeds, network="ff_512_256_128", **train)
    findings.show_table(bench.summary(small, ["dataset", "method"]), caption("C: small autoencoder d-512-256-128-10"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(small, "III", "ae=d-512-256-128-10", stand_ins=stand_ins),
                             caption("Table III, ours beside the paper"), datasets=experiment_datasets,
                             tables=("III",), **compare)

# %% [markdown]
# ## D: embedding size (Figure 2)

# %%
if "D" in experiments:
    sizes = bench.run_grid(run, "D", single_sets, factor_methods, seeds, vary="embedding_size", values=embedding_sizes,
                           **train)
    findings.show_table(bench.summary(sizes, ["dataset", "method", "embedding_size"]),
                        caption("D: embedding size m"), empty="No method ran.")
    fig = bench.figure_by_value(sizes, "embedding_size", title="ACC vs. embedding size m (Fig. 2)", log_x=True)
    plots.save_figure(fig, "fig2_embedding_size", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## E: initial clustering (Figure 3)
#
# The paper runs this on USPS and MNIST with AE+{KMeans, EM, Spectral, SubKmeans}, DEC, IDEC and DCN (not
# ACe/DeC, which brings its own initialisation). Spectral is scikit-learn's `SpectralClustering` with its defaults
# (a dense RBF affinity), as the benchmark runs it. Its N x N matrices need about 3 x 8 N² bytes (MNIST: 118 GB):
# where that exceeds the memory available, the run stops before it starts and names the fallback, `spectral_knn`
# (a sparse 10-nearest-neighbour graph), which runs only when a profile asks for it.

# %%
if "E" in experiments:
    init_methods = [m for m in factor_methods if m in bench.INIT_METHODS]
    inits = bench.run_grid(run, "E", single_sets, init_methods, seeds, vary="initial_clustering",
                           values=initial_clusterings, **train)
    findings.show_table(bench.summary(inits, ["dataset", "method", "initial_clustering"]),
                        caption("E: initial clustering"), empty="No method ran.")
    fig = bench.figure_initialisation(inits)
    plots.save_figure(fig, "fig3_initial_clustering", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## F: clustering learning rate (Figure 4)

# %%
if "F" in experiments:
    rates = bench.run_grid(run, "F", single_sets, [m for m in factor_methods if m != "ae_kmeans"], seeds, vary="lr",
                           values=learning_rates, **train)
    findings.show_table(bench.summary(rates, ["dataset", "method", "lr"]), caption("F: clustering learning rate"),
                        empty="No method ran.")
    fig = bench.figure_by_value(rates, "lr", title="ACC vs. learning rate (Fig. 4)", log_x=True)
    plots.save_figure(fig, "fig4_learning_rate", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## G: generalisation to unseen data (Figure 5)

# %%
if "G" in experiments:
    splits = bench.generalisation_splits(experiment_datasets, subsets, seed=seeds[0], root=data_root or None)
    general = bench.run_generalisation(run, splits, factor_methods, seeds, **train)
    how = "; ".join(f"{name}: {part[2]}" for name, part in splits.items())
    findings.show_table(bench.summary(general, ["dataset", "method", "split"]),
                        caption(f"G: train part and unseen test part ({how})"), empty="No method ran.")
    fig = bench.figure_generalisation(general)
    plots.save_figure(fig, "fig5_generalisation", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## H: augmentation (Table IV)
#
# The autoencoder is pretrained on augmented images (rotation ±16°, translation ±10 %, x-shear ±8°, drawn per
# image), and every method adds the augmented copy of each batch to its loss (DEC/IDEC: the clean target for
# both; DCN: the clean sample's centre; ACe/DeC: the clean assignments; DipEncoder: both in the dip test).

# %%
if "H" in experiments:
    augmented = bench.run_grid(run, "H", augmentation_sets, methods, seeds, augment=True, **train)
    findings.show_table(bench.summary(augmented, ["dataset", "method"]), caption("H: with augmentation"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(augmented, "IV", "ae=d-500-500-2000-10,augmentation",
                                                      stand_ins=stand_ins),
                             caption("Table IV, ours beside the paper"), datasets=augmentation_datasets,
                             tables=("IV",), **compare)
    plain = main if main is not None else bench.run_grid(run, "A", augmentation_sets, methods, seeds, **train)
    fig = bench.figure_augmentation(plain, augmented)
    plots.save_figure(fig, "table4_augmentation", study=STUDY, profile=profile)
    plots.show(fig)

# %% [markdown]
# ## I: ResNet18 convolutional autoencoder (Table V)

# %%
if "I" in experiments:
    conv_sets = bench.stratified_subsets(single_sets, conv_subset, seed=seeds[0])
    conv_train = dict(train, pretrain_epochs=conv_epochs[0], clustering_epochs=conv_epochs[1])
    conv = bench.run_grid(run, "I", conv_sets, factor_methods, conv_seeds, network="resnet18", **conv_train)
    findings.show_table(bench.summary(conv, ["dataset", "method"]), caption(
        f"I: ResNet18 convolutional autoencoder ({conv_subset or 'all'} images per dataset, {conv_epochs[0]} + "
        f"{conv_epochs[1]} epochs, seeds {', '.join(map(str, conv_seeds))})"), empty="No method ran.")
    conv_protocol = dict(protocol, epochs=f"{conv_epochs[0]}+{conv_epochs[1]}",
                         subsets={name: conv_subset for name in conv_sets} if conv_subset else protocol["subsets"])
    findings.show_comparison(bench.compare_with_paper(conv, "V", "ae=resnet18_conv,m=10", stand_ins=stand_ins),
                             caption("Table V, ours beside the paper"), datasets=experiment_datasets,
                             tables=("V",), **dict(compare, protocol=conv_protocol))

# %% [markdown]
# ## clustlib beside ClustPy itself (optional)
#
# ClustPy's own DEC, IDEC and DCN on the same data, from the same pretrained autoencoder weights and seeds
# (`clustlib.deep.clustpy_reference`); ACC of both and seconds per clustering epoch on this machine. ClustPy's
# `labels_` come from k-means with one restart; "re-scored" uses ten, as clustlib does.

# %%
if compare_clustpy and clustpy_reference.clustpy_available() and device == "cpu":
    name = experiment_datasets[0]
    X_cp, key_cp = bench.prepare_inputs(imagesets[name], "ff_500_500_2000")
    side = clustpy_reference.side_by_side(
        X_cp, imagesets[name].labels, imagesets[name].n_classes,
        methods=[m for m in clustpy_reference.SIDE_BY_SIDE_METHODS if m in methods + factor_methods], seeds=seeds,
        pretrain_epochs=pretrain_epochs, clustering_epochs=clustering_epochs, batch_size=batch_size,
        dataset_key=key_cp, bf16=amp == "on")
    bench.log_side_by_side(run, imagesets[name], side)
    findings.show_table(clustpy_reference.summarise_side_by_side(side), caption(
        f"clustlib beside ClustPy on {name}: ACC (%, mean ± SD over seeds) and median seconds per epoch"),
        empty="No method of the side-by-side is in this profile's methods.")
elif compare_clustpy:
    print("Side-by-side skipped: it needs `pip install clustpy` and device='cpu'.")

# %% tags=["check"]
logged = run.records
assert len(logged) > 0 and logged["value"].between(-0.5, 1).all()
assert set(logged["setting"].str.extract(r"experiment=(\w)")[0].dropna()) >= set(experiments) - {"B"}

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
# Generated from this run's records and the paper's tables (`clustlib.findings.clustpy_benchmark`): each claim the
# study tests, ours beside the paper's, and whether the direction agrees.

# %%
run_dir = run.finish()
findings.show(findings.clustpy_benchmark(run.records, profile=profile, params=params), run_dir=run_dir)
