"""The ``full`` profile of every study, end to end on CPU, on tiny datasets in the official layouts (issue 13, item 7).

Each study runs as a user would start it, ``clustlib run NN --profile full --force --set ...``, in a temporary
project (``CLUSTLIB_HOME``, runs, results, figures), data root, cache and ``TORCH_HOME``, after
``clustlib plan NN --profile full`` with the same ``--set`` has reported nothing missing. What differs from a
paper-scale run, and why:

* **Data**: every dataset of every ``full`` profile is a tiny tree the test writes in the layout its loader reads
  from the official download (``tests/official_trees.py``): VOC2007's devkit, the Flowers-17 archive, COIL-100's
  and FEI's flat files, class folders (Archi, MIT Indoor, Birds, UMist's grey faces), ImageNet's train tree (which
  holds ImageNet-10 and ImageNet-Dogs), Tiny-ImageNet's ``train/<wnid>/images``, the CIFAR pickles, the STL-10
  binaries, MNIST/Fashion-MNIST/KMNIST IDX files, USPS bz2 and Optdigits text. 1 to 5 images per class; the
  paper's ``subsets`` (Flowers 400, UMist 564) become sizes these trees hold.
* **Weights**: none can be downloaded here. ``TORCH_HOME/hub/checkpoints`` holds randomly initialised state dicts
  under the file names the checkpoints have in a user's torch hub cache. Only the timm networks, whose files carry
  no hash to check (Xception, Inception-ResNet-v2), can be stood in for so: torchvision's file names carry a
  SHA-256 prefix that :func:`clustlib.features.resolve_weights` verifies and no random file matches. So study 01
  runs Xception alone (cut: VGG16, VGG19, InceptionV3, ResNet50), studies 02 and 03 Xception and
  Inception-ResNet-v2 at L3 (cut: the seven other networks, NASNet-Large also for its 331-px cost).
* **Datasets cut** (each layout still loads in study 01 or in a deep study): 02 runs VOC2007 and UMist (cut Archi,
  Flowers-17: 299-px extraction costs ~1 s per image on one thread), 03 UMist alone (the face
  eta path; cut CIFAR-10 and the seven other sets: JULE needs about five samples per cluster, and 50 CIFAR images
  through two 299-px networks cost minutes on one thread); 04 runs every baseline but JULE (too few samples per
  cluster in these trees for its nearest-neighbour chains; JULE's path runs in study 03); 05's Table 4.4 on CIFAR-10
  alone (cut CIFAR-100/20: the linear probe's stratified 1/6 test split needs 120 images of 20 classes);
  06 runs Optdigits, USPS, KMNIST and CIFAR-10 (cut MNIST and Fashion-MNIST, which load in 04, 05 and 07, and
  ImageNet-10 and ClustPy's ImageNetDog: flattened 224-px colour images make the first layer 150,528 x 500 and
  each job 25-45 s on one thread), its single-factor experiments on USPS (C and I also on Optdigits/CIFAR-10,
  the colour and 8x8 paths) with DEC and ACe/DeC (C and I keep the profile's six methods).
* **Schedules**: one or two epochs/iterations wherever the profile trains (CC, MMDC and its NAT/RotNet baselines,
  linear probes and Figure 4.1 grid, DAC, the ClustPy autoencoders, JULE, the DeepCluE baselines), one seed
  everywhere (the profiles: 3 to 10); CC trains at 32 px instead of 224 (the ResNet34 is kept); DeepCluE's
  ensemble with 2 clusterings per layer and its size sweep at M' = 1, 2 (profile: 5; 1..10); study 05's Figure 4.1
  grid at d in {10, 25} and sigma in {0, 0.1} (profile: 4 x 5); study 06's experiment D at m in {2, 5} and F at
  two learning rates (profile: 6 and 5 values), ACe/DeC's initialisation at 2 iterations; DAC's mini-batch 8
  (the scripts' 32 to 128 exceed a chunk of these trees) and one pass over each chunk (scripts: 5 or 10), in
  Table 2 and in Figures 5-7, whose sweeps run at one retention rate (0.5), 2 and 3 Tiny-ImageNet classes and 20
  and 30 images (profile: 5, 9 and 6 values at paper scale); 07's Table 2 and sweeps without JULE (see 04).
  Mini-batches of 8 to 16 elsewhere, for the same reason.
* ``device=cpu`` and ``n_threads=1``: the profiles say cuda and 8 threads; study 02's Dask LocalCluster with one
  worker (profile: 4).

Each study must finish with exit 0 and log a record for each of its ``datasets``.
"""

from __future__ import annotations

import json
import os
import shutil

import pytest

from official_trees import (write_cifar10, write_cifar100, write_coil100, write_fei, write_flowers17_archive,
                            write_grey_tree, write_imagenet_classes, write_mnist_like, write_optdigits,
                            write_stanford_dogs, write_stl10, write_tree, write_usps, write_voc2007)

pytestmark = pytest.mark.slow

#: Networks whose cached checkpoint the test stands in for (see the module docstring).
WEIGHTS = ("xception.imagenet", "inception_resnet_v2.imagenet")
_TINY_WNIDS = ("n01443537", "n01629819", "n01641577", "n01644900")


def write_datasets(root) -> None:
    """Every dataset of every ``full`` profile, tiny, in its official layout under the data root ``root``."""
    from clustlib.data.catalog import IMAGENET10_WNIDS, IMAGENET_DOGS_WNIDS
    from clustlib.studies.clustpy_benchmark import CLUSTPY_DOG_WNIDS  # registers ClustPy's ImageNetDog

    write_voc2007(root, {"000001": ["cat"], "000002": ["dog", "dog"], "000003": ["dog", "person"],
                         "000004": ["car"], "000005": ["cat"], "000006": ["car"], "000007": ["dog"]})
    write_coil100(root, objects=(1, 2, 3), angles=(0, 5))
    write_tree(root / "arcDataset", {"Achaemenid architecture": 2, "Baroque architecture": 2, "Gothic": 2},
               ext=".jpg")
    write_tree(root / "indoorCVPR_09" / "Images", {"airport_inside": 2, "bakery": 2, "kitchen": 2}, ext=".jpg")
    write_flowers17_archive(root, per_class=1)
    write_tree(root / "CUB_200_2010" / "images", {"001.Black_footed_Albatross": 2, "002.Laysan_Albatross": 2,
                                                  "003.Sooty_Albatross": 2}, ext=".jpg")
    write_grey_tree(root / "umist_cropped", {"1a": 8, "1b": 8})
    write_fei(root, people=(1, 2, 3), shots=(1, 2))
    write_imagenet_classes(root / "imagenet" / "train", dict.fromkeys(IMAGENET10_WNIDS + IMAGENET_DOGS_WNIDS),
                           per_class=2)
    write_stanford_dogs(root, CLUSTPY_DOG_WNIDS, per_class=2)
    write_imagenet_classes(root / "tiny-imagenet-200" / "train", _TINY_WNIDS, per_class=6, tiny=True)
    write_cifar10(root, per_batch=10, balanced=True)  # 60: the 1/6 probe split of study 05
    write_cifar100(root, n_train=40, n_test=20, balanced=True)
    write_stl10(root, n_train=10, n_test=10, balanced=True)
    for folder in ("MNIST", "FashionMNIST", "KMNIST"):
        write_mnist_like(root / folder / "raw", 20, 10, compress=True)
    write_usps(root, "usps.bz2", 20)
    write_usps(root, "usps.t.bz2", 10)
    write_optdigits(root, 20, 10)


def write_weights(torch_home) -> None:
    """Random state dicts of :data:`WEIGHTS` under their checkpoint names in ``<torch_home>/hub/checkpoints``."""
    import torch

    from clustlib.features import get_extractor_info

    folder = torch_home / "hub" / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    for name in WEIGHTS:
        info = get_extractor_info(name)
        torch.manual_seed(0)
        torch.save(info.builder().state_dict(), folder / info.weights.file)


_COMMON = ["device=cpu", "n_threads=1"]
_DEEP_SEED = ["seeds=[0]"]
_DAC_FAST = "{dac_star: {batch_size: 8, chunk_passes: 1}, dac: {batch_size: 8, chunk_passes: 1}}"

#: study -> the --set overrides of its full profile (see the module docstring for each cut).
OVERRIDES = {
    "01": ["extractors=[xception.imagenet]", "subsets={flowers17: 17, umist: 14}", "batch_size=16"],
    "02": ["datasets=[voc2007, umist]", "subsets={umist: 14}", "batch_size=16", "n_workers=1",
           'views=["xception.imagenet:L3", "inception_resnet_v2.imagenet:L3"]'],
    "03": ["datasets=[umist]", "subsets={umist: 14}", "batch_size=16", "tsne_points=20",
           'views=["xception.imagenet:L3", "inception_resnet_v2.imagenet:L3"]', "jule_params={epochs_per_period: 1}"],
    "04": [*_DEEP_SEED, "baselines=[kmeans_pixels, spectral_pixels, agglomerative_pixels, nmf_pixels, ae_pixels, "
           "dec_pixels, dac_pixels]", "estimator_params={image_size: 32, epochs: 1, batch_size: 8}",
           "clusterings_per_layer=2", "ensemble_sizes_per_layer=[1, 2]",
           "baseline_params={ae_pixels: {pretrain_epochs: 1}, dec_pixels: {pretrain_epochs: 1, clustering_epochs: 1},"
           " dac_pixels: {epochs: 1, batch_size: 8, chunk_passes: 1}}"],
    "05": [*_DEEP_SEED, "estimator_params={epochs: 2, refine_epoch: 1, lr_milestones: [1], batch_size: 8}",
           "refinement_epochs=1", "feature_datasets=[cifar10]", "feature_seeds=[0]",
           "baseline_params={epochs: 1, lr_milestones: [1]}",
           "probe_params={epochs: 1}", "target_dims=[10, 25]", "target_sigmas=[0.0, 0.1]", "grid_seeds=[0]",
           "grid_params={epochs: 1, lr_milestones: [1]}"],
    "06": [*_DEEP_SEED, "datasets=[optdigits, usps, kmnist, cifar10]", "experiment_datasets=[usps]",
           "datasets_per_experiment={C: [optdigits, cifar10], D: [usps], F: [usps], I: [usps, cifar10]}",
           "factor_methods=[dec, acedec]", "augmentation_datasets=[usps]", "pretrain_epochs=1", "clustering_epochs=1",
           "batch_size=16", "embedding_sizes=[2, 5]", "learning_rates=[0.0001, 0.001]", "conv_seeds=[0]",
           "conv_epochs=[1, 1]", "compare_clustpy_seeds=[0]", "method_params={acedec: {init_iterations: 2}}"],
    "07": [*_DEEP_SEED, "epochs=1", f"estimator_params={_DAC_FAST}", "baselines=[kmeans, sc, ac, nmf, ae, dec]",
           "baseline_params={ae: {pretrain_epochs: 1}, dec: {pretrain_epochs: 1, clustering_epochs: 1}}",
           "imbalance_rates=[0.5]", "cluster_counts=[2, 3]", "sample_counts=[20, 30]",
           "sweep_methods=[kmeans, sc, ac, nmf, ae, dec, dac]", f"sweep_estimator_params={_DAC_FAST}"],
}


@pytest.fixture(scope="module")
def full_env(tmp_path_factory):
    """A temporary project, data root (the tiny trees), cache and TORCH_HOME (the stood-in weights)."""
    from clustlib import paths

    base = tmp_path_factory.mktemp("full_path")
    home = base / "home"
    home.mkdir()
    for folder in ("notebooks", "params"):  # the study notebooks and profiles, as in a checkout
        (home / folder).symlink_to(paths.project_root() / folder)
    env = {"CLUSTLIB_HOME": home, "CLUSTLIB_DATA": base / "data", "CLUSTLIB_CACHE": base / "cache",
           "TORCH_HOME": base / "torch", "CLUSTLIB_RUNS": home / "runs", "CLUSTLIB_RESULTS": home / "results",
           "CLUSTLIB_FIGURES": home / "figures", "CLUSTLIB_OFFLINE": "1"}
    write_datasets(base / "data")
    write_weights(base / "torch")
    saved = {k: os.environ.get(k) for k in env}
    os.environ.update({k: str(v) for k, v in env.items()})
    yield env
    shutil.rmtree(base / "torch", ignore_errors=True)  # ~300 MB of stood-in checkpoints
    shutil.rmtree(base / "cache", ignore_errors=True)
    for key, old in saved.items():
        if old is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = old


def _study(number: str) -> str:
    from clustlib import profiles

    return profiles.resolve_study(number)


#: Studies whose full path stops at a known bug outside the study and data code (strict: passes once it is fixed).
KNOWN_BUGS: dict = {}
NUMBERS = [pytest.param(n, marks=pytest.mark.xfail(strict=True, reason=KNOWN_BUGS[n])) if n in KNOWN_BUGS else n
           for n in sorted(OVERRIDES)]


@pytest.mark.parametrize("number", NUMBERS)
def test_full_profile_runs_end_to_end_on_tiny_official_trees(full_env, number, capsys):
    from clustlib import cli, profiles

    sets = [a for o in _COMMON + OVERRIDES[number] for a in ("--set", o)]
    assert cli.main(["plan", number, "--profile", "full", *sets]) == 0, capsys.readouterr().out
    assert "ready" in capsys.readouterr().out
    assert cli.main(["run", number, "--profile", "full", "--force", "--quiet", *sets]) == 0, capsys.readouterr().err
    study = _study(number)
    params = profiles.resolve_params(study, "full", [o for o in _COMMON + OVERRIDES[number]])
    (run_dir,) = (full_env["CLUSTLIB_RUNS"] / study / "full").iterdir()
    assert json.loads((run_dir / "run.json").read_text())["status"] == "ok"
    records = [json.loads(line) for line in (run_dir / "records.jsonl").read_text().splitlines() if line]
    logged = {r.get("dataset") for r in records}
    missing = [d for d in params["datasets"] if d not in logged]
    assert not missing, f"{study}: no record for {missing}"
