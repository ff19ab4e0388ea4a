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
# | experiment | paper item | here (`full`: the paper datasets) |
# |---|---|---|
# | A, B | Tables I–II, Figure 1 | main table on all eight datasets (colour rows included); clustering runtime per method |
# | C | Table III | the small d-512-256-128-10 autoencoder, all eight datasets, all six methods |
# | D | Figure 2 | embedding size m, one panel per dataset: USPS, MNIST, ImageNet10 |
# | E | Figure 3 | initial clustering: k-means, EM, spectral, SubKmeans (AE baselines, DEC, IDEC, DCN), USPS and MNIST |
# | F | Figure 4 | clustering learning rate, one panel per dataset: USPS, MNIST, ImageNet10 |
# | G | Figure 5 | train vs. unseen test: the official train/test splits of USPS and MNIST; digits has none, so there a stratified random 70/30 split, labelled |
# | H | Table IV | augmentation on the five grey datasets: random rotation/translation/shear in pretraining and clustering |
# | I | Table V | ResNet18 convolutional autoencoder, all eight datasets, all six methods |
#
# DipEncoder runs where the paper ran it (Tables II–V), not in the sweeps of Figures 2–5.
#
# Methods: AE+KMeans, DEC, IDEC, DCN, ACe/DeC, DipEncoder. `digits` is scikit-learn's 1,797-image *test part*
# of Optdigits (the paper's Optdigits has 5,620 images). The `smoke` profile uses fewer epochs and three seeds
# (experiment I: one seed on 300 images, a few epochs): its numbers are labelled smoke and are not the paper's
# setting; every comparison table marks such rows in its `ours run on` column (stand-in data, subset, epochs).
# Everything trains in float32, as the benchmark does, unless `amp` asks for bfloat16: the `smoke` profile uses
# `cpu_bf16`, bfloat16 autocast only on a CPU with native bfloat16 (AVX512-BF16 or AMX; DEC/IDEC/DCN epochs
# 2.2-2.9x faster here), float32 elsewhere; every table has a `precision` column and every bfloat16 record says so.
# A job that an earlier experiment already ran (D at m = 10, E with k-means, F at the default learning rate are
# experiment A's own runs when the datasets agree) is logged again under its experiment and not recomputed.
# Expected time on 2 CPU cores: `ci` ~1 min, `smoke` ~5 min of CPU (20 + 10 epochs, two seeds outside the main
# table; measured, see the profile); `full` (ten seeds, 100 + 150 epochs, the eight paper datasets) days on a GPU.

# %% tags=["parameters"]
profile: str = "interactive"  # parameter profile, set by `clustlib run`
datasets: list = ["digits", "fashion_mnist"]  # datasets of the main table (A, B)
subsets: dict = {"fashion_mnist": 2000}  # stratified subset size per dataset (absent or 0: whole dataset)
experiment_datasets: list = ["digits"]  # datasets of the single-factor experiments C, D, E, F, G, I
datasets_per_experiment: dict = {}  # own datasets for some of C, D, E, F, G, I (paper: C and I on all eight)
methods: list = ["ae_kmeans", "dec", "idec", "dcn", "acedec", "dipencoder"]  # methods of A, B, H (list_methods())
factor_methods: list = ["ae_kmeans", "dec", "idec", "dcn"]  # methods of the single-factor experiments C, D, F, G, I
methods_per_experiment: dict = {}  # own methods for some of C, D, E, F, G, I (paper: all six in C and I)
experiments: list = ["A", "B", "C", "D", "E", "F", "G", "H", "I"]  # experiments to run, letters A to I
seeds: list = [0, 1, 2]  # one autoencoder pretraining per seed
factor_seeds: list = []  # seeds of experiments C to H (empty: the seeds list)
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
compare_clustpy: bool = True  # side-by-side with the DEC/IDEC/DCN of ClustPy itself (skipped without clustpy)
compare_clustpy_methods: list = ["dec", "idec", "dcn"]  # methods of the side-by-side
compare_clustpy_seeds: list = []  # seeds of the side-by-side (empty: the seeds list)
amp: str = "off"  # "off" float32 (the benchmark), "on" bfloat16 autocast, "cpu_bf16" bfloat16 on a native-bf16 CPU
device: str = "cpu"  # "cpu" or "cuda"
n_threads: int = 2  # CPU threads for torch and BLAS (recorded)
scheduler: str | None = None  # jobs run here (null), on a local Dask cluster (local) or at tcp://host:8786
data_root: str = ""  # dataset folder; "" means $CLUSTLIB_DATA or <repo>/data

# %%
from clustlib import fidelity, figures, findings, parallel, plots, repro, results
from clustlib.compare import clustpy_reference
from clustlib.studies import clustpy_benchmark as bench
from clustlib.studies import load_datasets

STUDY = "06_clustpy_benchmark"
params = dict(datasets=datasets, subsets=subsets, experiment_datasets=experiment_datasets,
              datasets_per_experiment=datasets_per_experiment, methods=methods, factor_methods=factor_methods,
              methods_per_experiment=methods_per_experiment,
              experiments=experiments, seeds=seeds, factor_seeds=factor_seeds, pretrain_epochs=pretrain_epochs,
              clustering_epochs=clustering_epochs, batch_size=batch_size, embedding_sizes=embedding_sizes,
              learning_rates=learning_rates, initial_clusterings=initial_clusterings,
              augmentation_datasets=augmentation_datasets, conv_subset=conv_subset, conv_seeds=conv_seeds,
              conv_epochs=conv_epochs, method_params=method_params, compare_clustpy=compare_clustpy,
              compare_clustpy_methods=compare_clustpy_methods, compare_clustpy_seeds=compare_clustpy_seeds, amp=amp,
              device=device, n_threads=n_threads, data_root=data_root)
bench.validate_params(params)
repro.seed_everything(seeds[0])
repro.set_threads(n_threads)
plots.set_style()
run = results.start_run(STUDY, profile, params)
executor = parallel.make_executor(scheduler)  # this process, or the Dask cluster that scheduler names
progress = not run.managed  # progress bars in JupyterLab; under `clustlib run` the executed notebook stays clean
precision = bench.precision(amp, device)
train = dict(pretrain_epochs=pretrain_epochs, clustering_epochs=clustering_epochs, batch_size=batch_size,
             device=device, n_threads=n_threads, amp=bench.amp_flag(amp, device), method_params=method_params,
             progress=progress, shared={}, parallel=executor)  # shared: jobs run, reused by later experiments
factor_seeds = factor_seeds or seeds
main = None  # the main table, reused by experiment H's comparison
stand_ins = findings.CLUSTPY_STAND_INS  # digits is the test part of Optdigits: compared with the Optdigits rows
protocol = findings.run_protocol(STUDY, params)  # marks each compared row run on a stand-in, a subset, fewer epochs
if precision != "float32":
    protocol["epochs"] += f" in {precision}"
compare = dict(stand_ins=stand_ins, paper_name="clustpy2023", scale="percent", protocol=protocol)
print(f"Precision: {precision} (amp = {amp!r} on {device}); factor seeds {factor_seeds}")


def caption(what):
    return findings.caption(STUDY, profile, params, f"{what} [{precision}]")


def methods_for(letter):
    return bench.experiment_methods_for(letter, params)


def sets_for(letter):
    return {name: imagesets[name] for name in bench.experiment_datasets_for(letter, params)}


# %%
imagesets = load_datasets(bench.all_datasets(params), subsets, seed=seeds[0], root=data_root or None)
main_sets = {name: imagesets[name] for name in datasets}
augmentation_sets = {name: imagesets[name] for name in augmentation_datasets}
findings.show_data(imagesets)

# %% [markdown]
# ## A, B: the main table (d-500-500-2000-10) and runtime
#
# Scores are percentages throughout, as the paper prints them (mean ± SD over seeds). In `full` the main table
# runs all eight datasets, the colour rows included: CIFAR10, ImageNet10 and ImageNetDog, which in the benchmark
# is 15 Stanford Dogs breeds with 2,574 images (`imagenet_dog_clustpy`), not the 19,500-image ImageNet-Dogs of
# DAC. The `smoke` profile has no colour set offline; its Table II rows are digits and a Fashion-MNIST subset.

# %%
if {"A", "B"} & set(experiments):
    main = bench.run_grid(run, "A", main_sets, methods, seeds, **train)
    findings.show_table(bench.summary(main, ["dataset", "method"]), caption("A: main table, d-500-500-2000-10"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(main, "II", "ae=d-500-500-2000-10", stand_ins=stand_ins),
                             caption("Table II, ours beside the paper"), datasets=datasets, tables=("II",), **compare)
    findings.show_comparison(bench.compare_with_paper(main, "I", "replication", stand_ins=stand_ins),
                             caption("Table I (ClustPy replication on MNIST), ours beside the paper"),
                             datasets=datasets, tables=("I",), **compare)
    figures.publish(run, bench.draw_figures(run.run_dir, only=["fig1_runtime"]))

# %% [markdown]
# ## C: the small autoencoder d-512-256-128-10 (Table III)
#
# The paper runs it on all eight datasets (`full`: `datasets_per_experiment` C).

# %%
if "C" in experiments:
    small = bench.run_grid(run, "C", sets_for("C"), methods_for("C"), factor_seeds, network="ff_512_256_128", **train)
    findings.show_table(bench.summary(small, ["dataset", "method"]), caption("C: small autoencoder d-512-256-128-10"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(small, "III", "ae=d-512-256-128-10", stand_ins=stand_ins),
                             caption("Table III, ours beside the paper"), datasets=list(sets_for("C")),
                             tables=("III",), **compare)

# %% [markdown]
# ## D: embedding size (Figure 2)
#
# One panel per dataset, as the paper draws it (USPS, MNIST and ImageNet10 in `full`).

# %%
if "D" in experiments:
    sizes = bench.run_grid(run, "D", sets_for("D"), methods_for("D"), factor_seeds, vary="embedding_size",
                           values=embedding_sizes, **train)
    findings.show_table(bench.summary(sizes, ["dataset", "method", "embedding_size"]),
                        caption("D: embedding size m"), empty="No method ran.")
    figures.publish(run, bench.draw_figures(run.run_dir, only=["fig2_embedding_size"]))

# %% [markdown]
# ## E: initial clustering (Figure 3)
#
# The paper runs this on USPS and MNIST with AE+{KMeans, EM, Spectral, SubKmeans}, DEC, IDEC and DCN (not
# ACe/DeC, which brings its own initialisation). Spectral is the `SpectralClustering` of scikit-learn with its
# defaults (a dense RBF affinity), as the benchmark runs it. Its N x N matrices need about 3 x 8 N² bytes (MNIST:
# 118 GB): where that exceeds the memory available, the run stops before it starts and names the fallback,
# `spectral_knn` (a sparse 10-nearest-neighbour graph), which runs only when a profile asks for it.

# %%
if "E" in experiments:
    init_methods = [m for m in methods_for("E") if m in bench.INIT_METHODS]
    inits = bench.run_grid(run, "E", sets_for("E"), init_methods, factor_seeds, vary="initial_clustering",
                           values=initial_clusterings, **train)
    findings.show_table(bench.summary(inits, ["dataset", "method", "initial_clustering"]),
                        caption("E: initial clustering"), empty="No method ran.")
    figures.publish(run, bench.draw_figures(run.run_dir, only=["fig3_initial_clustering"]))

# %% [markdown]
# ## F: clustering learning rate (Figure 4)
#
# One panel per dataset (USPS, MNIST and ImageNet10 in `full`); the pretrained autoencoder stays the same.

# %%
if "F" in experiments:
    rates = bench.run_grid(run, "F", sets_for("F"), [m for m in methods_for("F") if m != "ae_kmeans"], factor_seeds,
                           vary="lr", values=learning_rates, **train)
    findings.show_table(bench.summary(rates, ["dataset", "method", "lr"]), caption("F: clustering learning rate"),
                        empty="No method ran.")
    figures.publish(run, bench.draw_figures(run.run_dir, only=["fig4_learning_rate"]))

# %% [markdown]
# ## G: generalisation to unseen data (Figure 5)

# %%
if "G" in experiments:
    splits = bench.generalisation_splits(bench.experiment_datasets_for("G", params), subsets, seed=seeds[0],
                                         root=data_root or None)
    general = bench.run_generalisation(run, splits, methods_for("G"), factor_seeds,
                                       **{k: v for k, v in train.items() if k != "shared"})
    how = "; ".join(f"{name}: {part[2]}" for name, part in splits.items())
    findings.show_table(bench.summary(general, ["dataset", "method", "split"]),
                        caption(f"G: train part and unseen test part ({how})"), empty="No method ran.")
    figures.publish(run, bench.draw_figures(run.run_dir, only=["fig5_generalisation"]))

# %% [markdown]
# ## H: augmentation (Table IV)
#
# The autoencoder is pretrained on augmented images (rotation ±16°, translation ±10 %, x-shear ±8°, drawn per
# image), and every method adds the augmented copy of each batch to its loss (DEC/IDEC: the clean target for
# both; DCN: the clean sample's centre; ACe/DeC: the clean assignments; DipEncoder: both in the dip test).

# %%
if "H" in experiments:
    augmented = bench.run_grid(run, "H", augmentation_sets, methods, factor_seeds, augment=True, **train)
    findings.show_table(bench.summary(augmented, ["dataset", "method"]), caption("H: with augmentation"),
                        empty="No method ran.")
    findings.show_comparison(bench.compare_with_paper(augmented, "IV", "ae=d-500-500-2000-10,augmentation",
                                                      stand_ins=stand_ins),
                             caption("Table IV, ours beside the paper"), datasets=augmentation_datasets,
                             tables=("IV",), **compare)
    if main is None or not set(augmentation_datasets) <= set(datasets):  # the chart needs the plain runs too
        bench.run_grid(run, "A", augmentation_sets, methods, factor_seeds, **train)
    figures.publish(run, bench.draw_figures(run.run_dir, only=["table4_augmentation"]))

# %% [markdown]
# ## I: ResNet18 convolutional autoencoder (Table V)
#
# The paper runs it on all eight datasets (`full`: `datasets_per_experiment` I).

# %%
if "I" in experiments:
    conv_sets = bench.stratified_subsets(sets_for("I"), conv_subset, seed=seeds[0])
    conv_train = dict(train, pretrain_epochs=conv_epochs[0], clustering_epochs=conv_epochs[1])
    conv = bench.run_grid(run, "I", conv_sets, methods_for("I"), conv_seeds, network="resnet18", **conv_train)
    findings.show_table(bench.summary(conv, ["dataset", "method"]), caption(
        f"I: ResNet18 convolutional autoencoder ({conv_subset or 'all'} images per dataset, {conv_epochs[0]} + "
        f"{conv_epochs[1]} epochs, seeds {', '.join(map(str, conv_seeds))})"), empty="No method ran.")
    conv_protocol = dict(protocol, epochs=protocol["epochs"].replace(f"{pretrain_epochs}+{clustering_epochs}",
                                                                     f"{conv_epochs[0]}+{conv_epochs[1]}"),
                         subsets={name: conv_subset for name in conv_sets} if conv_subset else protocol["subsets"])
    findings.show_comparison(bench.compare_with_paper(conv, "V", "ae=resnet18_conv,m=10", stand_ins=stand_ins),
                             caption("Table V, ours beside the paper"), datasets=list(conv_sets),
                             tables=("V",), **dict(compare, protocol=conv_protocol))

# %% [markdown]
# ## clustlib beside ClustPy itself (optional)
#
# The DEC, IDEC and DCN of ClustPy on the same data, from the same pretrained autoencoder weights and seeds
# (`clustlib.compare.clustpy_reference`); ACC of both and seconds per clustering epoch. The side-by-side always runs
# on the CPU (it compares the two libraries there), whatever `device` the rest of the run uses. The `labels_` of
# ClustPy come from k-means with one restart; "re-scored" uses ten, as clustlib does.

# %%
side_methods = [m for m in compare_clustpy_methods if m in methods + factor_methods]
if compare_clustpy and clustpy_reference.clustpy_available() and side_methods:
    name = experiment_datasets[0]
    X_cp, key_cp = bench.prepare_inputs(imagesets[name], "ff_500_500_2000")
    side = clustpy_reference.side_by_side(
        X_cp, imagesets[name].labels, imagesets[name].n_classes, methods=side_methods,
        seeds=compare_clustpy_seeds or seeds, pretrain_epochs=pretrain_epochs, clustering_epochs=clustering_epochs,
        batch_size=batch_size, dataset_key=key_cp, bf16=precision == "bfloat16")
    bench.log_side_by_side(run, imagesets[name], side)
    findings.show_table(clustpy_reference.summarise_side_by_side(side), caption(
        f"clustlib beside ClustPy on {name}, on the CPU: ACC (%, mean ± SD over seeds) and median seconds per epoch"),
        empty="No method of the side-by-side is in this profile.")
elif compare_clustpy:
    print("Side-by-side skipped: it needs `pip install clustpy` and one of dec, idec, dcn in the methods.")

# %% tags=["check"]
logged = run.records
assert len(logged) > 0 and logged["value"].between(-0.5, 1).all()
assert set(logged["setting"].str.extract(r"experiment=(\w)")[0].dropna()) >= set(experiments) - {"B"}
assert not logged.duplicated(["dataset", "method", "setting", "seed", "metric"]).any()  # no job logged twice
trained = logged[~logged["setting"].str.contains("clustpy_side_by_side")]
assert trained["note"].str.contains("bfloat16").all() == (precision == "bfloat16")  # every record says its precision
if 10 in embedding_sizes and "D" in experiments and "A" in experiments and set(sets_for("D")) & set(datasets):
    assert trained["note"].str.contains("same job as experiment A").any()  # m = 10 reused, not recomputed

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
executor.close()
run_dir = run.finish()
findings.show(findings.clustpy_benchmark(run.records, profile=profile, params=params), run_dir=run_dir)
