"""Bad input through every public entry point, as one table (issue 10, items 4 and 5).

Each case feeds one bad value to the CLI, ``clustlib.data.load``, ``clustlib.features.extract``, an estimator of
``clustlib.cluster`` or of ``clustlib.deep``, and checks that

(a) the error is a :class:`~clustlib.errors.ClustlibError` (the CLI: exit code 2 and one paragraph on stderr),
(b) its message names the bad value and says how to fix it (substrings, whitespace-normalised),
(c) it comes before any compute: spies replace the training loops, the pretraining, the feature network's
    forward passes, the image decoder and the clustering cores, and fail the case if one of them is entered,
(d) nothing half-written is left: the temporary project (runs/, results/, figures/, cache/) is unchanged.

The cases need no data beyond scikit-learn's digits and tiny trees written into ``tmp_path``.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import pytest

from clustlib import cli
from clustlib.errors import ClustlibError

pytestmark = pytest.mark.usefixtures("one_thread")

PROJECT = Path(__file__).resolve().parents[1]


# ---------------------------------------------------------------------------------------------------------------
# spies: every place where compute starts


class ComputeStarted(AssertionError):
    """Raised by a spy: the entry point started computing before it rejected the input."""


# (module, attribute): the training loops, the pretraining, the feature network, the decoder, the clustering cores
_SPIED = [
    ("clustlib.deep.autoencoder.training", "train_epochs"),
    ("clustlib.deep.autoencoder.pretrain", "train_epochs"),
    ("clustlib.deep.autoencoder.pretrain", "build_autoencoder"),
    ("clustlib.deep.autoencoder.dec", "train_epochs"),
    ("clustlib.deep.autoencoder.dcn", "train_epochs"),
    ("clustlib.deep.autoencoder.acedec", "train_epochs"),
    ("clustlib.deep.autoencoder.acedec", "_acedec_init"),
    ("clustlib.deep.autoencoder.dipencoder", "train_epochs"),
    ("clustlib.deep.jule.jule", "run_jule"),
    ("clustlib.deep.jule.mvnet", "run_jule"),
    ("clustlib.deep.jule.mvnet", "fit_view_jules"),
    ("clustlib.deep.dac.dac.DAC", "_chunk_epoch"),
    ("clustlib.deep.dac.dac.DAC", "_batch_epoch"),
    ("clustlib.deep.mmdc.mmdc.MMDC", "_clustering_epoch"),
    ("clustlib.deep.mmdc.mmdc.MMDC", "_rotation_epoch"),
    ("clustlib.deep.contrastive.contrastive.ContrastiveClustering", "_epoch"),
    ("clustlib.deep.mmdc.selfsup_baselines", "_nat_epoch"),
    ("clustlib.deep.mmdc.selfsup_baselines", "_rotation_epoch"),
    ("clustlib.features.extraction", "_run"),
    ("clustlib.features.extraction", "create_extractor"),
    ("clustlib.data.folders", "decode_images"),
    ("clustlib.cluster.classical", "isometric_reduction"),
    ("clustlib.cluster.mvec", "coassociation_consensus"),
    ("clustlib.cluster.multiview.mvsc", "view_kernels"),
    ("clustlib.cluster.multiview.rmkkm", "view_kernels"),
    ("clustlib.cluster.subkmeans", "_nrkmeans"),
    ("clustlib.cluster.uspec", "_uspec_affinity"),
    ("clustlib.cluster.uspec", "_transfer_cut"),
    ("clustlib.cluster.consensus_entropy", "_transfer_cut"),
    ("clustlib.cluster.sweep", "_combination_task"),
    ("papermill", "execute_notebook"),
    ("clustlib.runner", "_new_run_dir"),
]


def _resolve(dotted: str):
    """A module, or a class inside one (``clustlib.deep.dac.dac.DAC``)."""
    try:
        return importlib.import_module(dotted)
    except ModuleNotFoundError:
        module, _, name = dotted.rpartition(".")
        return getattr(importlib.import_module(module), name)


class Spies(list):
    """The spied entry points entered so far; those in ``allowed`` run as usual."""

    allowed: tuple = ()


def _import_every_clustlib_module() -> None:
    import importlib
    import pkgutil

    import clustlib

    for info in pkgutil.walk_packages(clustlib.__path__, "clustlib."):
        importlib.import_module(info.name)


@pytest.fixture
def spies(monkeypatch):
    """Replace every compute entry point by a recorder that raises :class:`ComputeStarted`; yields the calls."""
    calls = Spies()
    _import_every_clustlib_module()  # a module first imported under a spy would keep it (`from x import f`)
    targets = [(_resolve(owner), owner, attr) for owner, attr in _SPIED]
    for target, owner, attr in targets:
        label, original = f"{owner}.{attr}", getattr(target, attr)

        def spy(*args, _label=label, _original=original, **kwargs):
            calls.append(_label)
            if _label in calls.allowed:
                return _original(*args, **kwargs)
            raise ComputeStarted(f"{_label} was called before the bad input was rejected")

        monkeypatch.setattr(target, attr, spy)
    return calls


def _snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*")} if folder.exists() else {}


def _words(text: str) -> str:
    return " ".join(text.split())


# ---------------------------------------------------------------------------------------------------------------
# inputs


def _rows(n: int = 20, d: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, d)).astype(np.float32)


def _images(n: int, c: int, s: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random((n, c, s, s), dtype=np.float32)


def _with(x: np.ndarray, value: float) -> np.ndarray:
    x = x.copy()
    x.flat[3] = value
    return x


def _write_png(path: Path, size=(6, 5), mode: str = "RGB", value: int = 128) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new(mode, size, value if mode in ("L", "P") else (value,) * len(mode)).save(path)


def _tree(root: Path, layout: dict) -> Path:
    """``{class: [(file name, kind), ...]}`` with kind "png", "png:L:9x4", "corrupt" or "text"."""
    root.mkdir(parents=True, exist_ok=True)
    for cls, files in layout.items():
        (root / cls).mkdir(parents=True, exist_ok=True)
        for name, kind in files:
            path = root / cls / name
            if kind.startswith("png"):
                _, mode, size = (kind.split(":") + ["RGB", "6x5"])[:3]
                _write_png(path, tuple(int(v) for v in size.split("x")), mode)
            elif kind == "corrupt":
                path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"not really a png")
            else:
                path.write_text("a note, not an image\n")
    return root


def _good_tree(root: Path) -> Path:
    return _tree(root, {"cat": [("a.png", "png"), ("b.png", "png:L:9x4"), ("c.png", "png:RGBA:3x7")],
                        "dog": [("a.png", "png:L:8x8"), ("b.png", "png"), ("c.png", "png:RGB:12x2")]})


def _read_only_dir(path: Path, monkeypatch) -> Path:
    """A folder nobody may write to: mode 0o555, and, as root (who ignores the mode), os.access says so."""
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o555)
    if os.geteuid() == 0:
        real = os.access

        def access(p, mode, *args, **kwargs):
            inside = Path(p).resolve() == path.resolve() or path.resolve() in Path(p).resolve().parents
            return False if inside and mode & os.W_OK else real(p, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    return path


def _blocked_dir(tmp_path: Path) -> Path:
    """A folder that cannot be created: its parent is a regular file."""
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be\n")
    return blocker / "cache"


# ---------------------------------------------------------------------------------------------------------------
# library cases


@dataclass
class Ctx:
    """What a case's call sees: the temporary project, and whatever its setup made."""

    tmp: Path
    monkeypatch: pytest.MonkeyPatch
    made: dict = field(default_factory=dict)


CASES = []


def case(case_id: str, call: Callable[[Ctx], object], *needles: str, setup: Callable[[Ctx], None] | None = None,
         allowed: tuple = ()):
    """One row of the table: ``call(ctx)`` must raise a ClustlibError whose message holds every needle.

    ``setup(ctx)`` runs before the spies and the snapshot; ``allowed`` names spies the case may enter (decoding
    the corrupt image is how it is found).
    """
    CASES.append(pytest.param(call, needles, setup, allowed, id=case_id, marks=pytest.mark.bad_input))


def _data():
    from clustlib import data

    return data


def _features():
    from clustlib import features

    return features


def _cluster():
    from clustlib import cluster

    return cluster


def _deep():
    from clustlib import deep

    return deep


def _selfsup():
    from clustlib.deep.mmdc import selfsup_baselines

    return selfsup_baselines


# data.load ------------------------------------------------------------------------------------------------------
case("load-unknown-name", lambda c: _data().load("nosuch"), "'nosuch'", "Valid datasets", "digits")
case("load-bad-split", lambda c: _data().load("digits", split="val"), "split='val'", "use one of", "'all'")
case("load-subset-zero", lambda c: _data().load("digits", subset=0), "subset=0", "at least 1")
case("load-subset-too-large", lambda c: _data().load("digits", subset=10**6), "1,000,000", "ask for at most 1,797")
case("load-negative-seed", lambda c: _data().load("digits", seed=-1), "seed=-1", "int >= 0")
case("load-bad-image-size", lambda c: _data().load("digits", image_size=0), "image_size", "0")
case("load-bad-resample", lambda c: _data().load("digits", resample="cubicle"), "'cubicle'", "bilinear")
case("load-bad-n-jobs", lambda c: _data().load("digits", n_jobs=0), "n_jobs=0", "int >= 1")
case("folder-missing", lambda c: _data().load(f"folder:{c.tmp / 'nowhere'}"), "nowhere", "is not a folder",
     "Give the absolute path")
case("folder-corrupt-image",
     lambda c: _data().load(f"folder:{c.made['tree']}", progress=False), "bad.png", "cannot be decoded",
     "Replace it", setup=lambda c: c.made.update(tree=_tree(c.tmp / "tree", {
         "cat": [("a.png", "png"), ("bad.png", "corrupt")], "dog": [("a.png", "png")]})),
     allowed=("clustlib.data.folders.decode_images",))
case("folder-class-of-non-images", lambda c: _data().load(f"folder:{c.made['tree']}"), "notes", "hold no image",
     "Remove them or fill them",
     setup=lambda c: c.made.update(tree=_tree(c.tmp / "tree", {
         "cat": [("a.png", "png")], "notes": [("readme.txt", "text")]})))
case("folder-zero-images", lambda c: _data().load(f"folder:{c.made['tree']}"), "empty_tree", "no class sub-folders",
     "one sub-folder per class",
     setup=lambda c: c.made.update(tree=_tree(c.tmp / "empty_tree", {})))
case("folder-class-folder-itself", lambda c: _data().load(f"folder:{c.made['tree'] / 'cat'}"), "cat",
     "no class sub-folders", "one sub-folder per class",
     setup=lambda c: c.made.update(tree=_tree(c.tmp / "tree", {"cat": [("a.png", "png"), ("b.png", "png")]})))


def _cluster_single_class_tree(c):
    imageset = _data().load(f"folder:{c.made['tree']}", image_size=4, progress=False)
    return _cluster().cluster_features(imageset.flat_pixels(), "kmeans", imageset.n_classes)


case("folder-single-class-as-k", _cluster_single_class_tree, "got 1", "between 2", "number of classes",
     setup=lambda c: c.made.update(tree=_tree(c.tmp / "only_cat", {"cat": [("a.png", "png"), ("b.png", "png")]})),
     allowed=("clustlib.data.folders.decode_images",))
case("folder-mixed-subset-too-large", lambda c: _data().load(f"folder:{c.made['tree']}", subset=50), "subset=50",
     "at most 6", setup=lambda c: c.made.update(tree=_good_tree(c.tmp / "mixed")))
case("folder-mixed-subset-below-classes", lambda c: _data().load(f"folder:{c.made['tree']}", subset=1), "subset=1",
     "subset >= 2", setup=lambda c: c.made.update(tree=_good_tree(c.tmp / "mixed")))
case("folder-mixed-bad-image-size", lambda c: _data().load(f"folder:{c.made['tree']}", image_size=(4, -2)),
     "(4, -2)", "positive", setup=lambda c: c.made.update(tree=_good_tree(c.tmp / "mixed")))

# features.extract -----------------------------------------------------------------------------------------------
_PIX = np.zeros((4, 8, 8, 1), dtype=np.uint8)
_LITE = "efficientnet_lite0.imagenet"
case("extract-unknown-extractor", lambda c: _features().extract(_PIX, "nope.imagenet"), "'nope.imagenet'",
     "Valid extractors", _LITE)
case("extract-unknown-layer", lambda c: _features().extract(_PIX, _LITE, layers=("L4",)), "'L4'", "Valid layers",
     "L3")
case("extract-no-layers", lambda c: _features().extract(_PIX, _LITE, layers=()), "layers is empty",
     "at least one of L1")
case("extract-float-images", lambda c: _features().extract(_PIX.astype(np.float32), _LITE), "float32",
     "astype(np.uint8)")
case("extract-wrong-rank", lambda c: _features().extract(_PIX[..., 0], _LITE), "(4, 8, 8)", "x[..., None]")
case("extract-two-channels", lambda c: _features().extract(np.zeros((4, 8, 8, 2), np.uint8), _LITE), "(4, 8, 8, 2)",
     "C = 1 (grey) or 3 (RGB)")
case("extract-no-images", lambda c: _features().extract(_PIX[:0], _LITE), "N = 0", "nothing to extract")
case("extract-zero-batch", lambda c: _features().extract(_PIX, _LITE, batch_size=0), "batch_size", "got 0",
     ">= 1")
case("extract-bad-device", lambda c: _features().extract(_PIX, _LITE, device="tpu"), "'tpu'", "'cpu'")
case("extract-bad-interpolation", lambda c: _features().extract(_PIX, _LITE, interpolation="cubicle"),
     "'cubicle'", "bilinear")
case("extract-unwritable-cache", lambda c: _features().extract(_PIX, _LITE, cache_dir=c.made["cache"],
                                                               progress=False),
     "blocker", "not writable", "cache_dir", setup=lambda c: c.made.update(cache=_blocked_dir(c.tmp)))

# clustlib.cluster -----------------------------------------------------------------------------------------------
case("cluster-features-k-above-n", lambda c: _cluster().cluster_features(_rows(5), "kmeans", 9), "got 9",
     "number of rows (5)", "number of classes")
case("cluster-features-k-below-one", lambda c: _cluster().cluster_features(_rows(), "kmeans", 0), "got 0",
     "between 2")
case("cluster-features-nan", lambda c: _cluster().cluster_features(_with(_rows(), np.nan), "agglomerative", 3),
     "NaN", "first bad rows: [0]", "impute")
case("cluster-features-unknown-algorithm", lambda c: _cluster().cluster_features(_rows(), "dbscan", 3), "'dbscan'",
     "Valid clustering algorithms", "kmeans")
case("mvec-k-above-n", lambda c: _cluster().MVEC(30).fit([_rows(), _rows(seed=1)]), "got 30",
     "number of rows (20)")
case("mvec-one-view", lambda c: _cluster().MVEC(3).fit([_rows()]), "at least two views, got 1",
     "one feature matrix per extractor")
case("mvec-empty-views", lambda c: _cluster().MVEC(3).fit([]), "got 0", "one feature matrix per extractor")
case("mvec-mismatched-views", lambda c: _cluster().MVEC(3).fit([_rows(20), _rows(15)]), "[20, 15]",
     "same rows")
case("mvsc-empty-views", lambda c: _cluster().MVSC(3).fit([]), "got 0", "at least 1 views")
case("mvsc-mismatched-views", lambda c: _cluster().MVSC(3).fit([_rows(20), _rows(12)]), "[20, 12]",
     "Subset every view with the same indices")
case("mvsc-inf", lambda c: _cluster().MVSC(3).fit([_rows(), _with(_rows(seed=1), np.inf)]), "views[1]",
     "NaN/inf", "Impute or drop")
case("rmkkm-k-below-one", lambda c: _cluster().RMKKM(0).fit([_rows(), _rows(seed=1)]), "got 0",
     "positive integer")
case("rmkkm-k-above-n", lambda c: _cluster().RMKKM(25).fit([_rows(), _rows(seed=1)]), "n_clusters=25",
     "pass at most 20")
case("subkmeans-k-above-n", lambda c: _cluster().SubKMeans(30).fit(_rows()), "30", "20")
case("nrkmeans-zero-clusters", lambda c: _cluster().NrKMeans((3, 0)).fit(_rows()), "[3, 0]", "[1, N = 20]")
case("uspec-nan", lambda c: _cluster().USPEC(3).fit(_with(_rows(), np.nan)), "NaN", "impute")
case("uspec-k-above-n", lambda c: _cluster().USPEC(40, n_representatives=10).fit(_rows()), "got 40",
     "(10)")
case("sweep-empty-combination", lambda c: _cluster().sweep_combinations(
    [np.arange(20) % 3, np.arange(20) % 2], 3, combinations=[(0,), ()]), "combination #1 is empty",
    "at least one view")
case("multilayer-mismatched-layers", lambda c: _cluster().multilayer_ensemble([_rows(20), _rows(18)], 3),
     "[20, 18]", "same samples")


# clustlib.deep --------------------------------------------------------------------------------------------------
_FAST = dict(pretrain_epochs=1, clustering_epochs=1, batch_size=8, network="ff_500_500_2000", progress=False,
             random_state=0)


def _autoencoder_method(name: str, n_clusters: int = 3, **kwargs):
    return getattr(_deep(), name)(n_clusters, **{**_FAST, **kwargs})


def _dec_checkpoint(c: Ctx) -> None:
    """A real DEC checkpoint, written by a run with 3 clusters."""
    path = c.tmp / "ckpt" / "dec.pt"
    _autoencoder_method("DEC", 3, checkpoint_path=path).fit(_rows(24, 6))
    c.made.update(ckpt=path)


def _dac_checkpoint(c: Ctx) -> None:
    path = c.tmp / "ckpt" / "dac.pt"
    _deep().DAC(3, network="small16", epochs=1, batch_size=8, progress=False, random_state=0,
                checkpoint_path=path).fit(_images(24, 1, 16))
    c.made.update(ckpt=path)


def _garbage_checkpoint(c: Ctx) -> None:
    path = c.tmp / "ckpt" / "garbage.pt"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"this is not a torch checkpoint")
    c.made.update(ckpt=path)


case("dec-wrong-rank", lambda c: _autoencoder_method("DEC").fit(np.zeros((20, 6, 2), np.float32)), "(20, 6, 2)",
     "(N, D)")
case("idec-too-few-samples", lambda c: _autoencoder_method("IDEC", 2).fit(_rows(1)), "(1, 6)", "N >= 2")
case("dcn-k-above-n", lambda c: _autoencoder_method("DCN", 50).fit(_rows()), "got 50", "number of samples = 20")
case("aekmeans-nan", lambda c: _autoencoder_method("AEKMeans").fit(_with(_rows(), np.nan)), "NaN",
     "clean or impute")
case("acedec-k-below-two", lambda c: _autoencoder_method("ACeDeC", 1).fit(_rows()), "got 1", "[2, number of samples")
case("dipencoder-wrong-rank", lambda c: _autoencoder_method("DipEncoder").fit(_rows()[:, :, None]), "(20, 6, 1)",
     "(N, D)")
case("dec-unknown-network", lambda c: _autoencoder_method("DEC", network="ff_tiny").fit(_rows()), "'ff_tiny'",
     "ff_500_500_2000")
case("dec-checkpoint-from-other-config",
     lambda c: _autoencoder_method("DEC", 4, checkpoint_path=c.made["ckpt"]).fit(_rows(24, 6)), "dec.pt",
     "another configuration", "Delete the file", setup=_dec_checkpoint)
case("dcn-garbage-checkpoint",
     lambda c: _autoencoder_method("DCN", 3, checkpoint_path=c.made["ckpt"]).fit(_rows()), "garbage.pt",
     "not a checkpoint", "Delete the file", setup=_garbage_checkpoint)
case("idec-read-only-cache", lambda c: _autoencoder_method("IDEC", cache_dir=c.made["cache"]).fit(_rows()),
     "ro_cache", "not writable", "cache_dir",
     setup=lambda c: c.made.update(cache=_read_only_dir(c.tmp / "ro_cache", c.monkeypatch)))
case("dec-unwritable-checkpoint-folder",
     lambda c: _autoencoder_method("DEC", checkpoint_path=c.made["folder"] / "dec.pt").fit(_rows()),
     "blocker", "not writable", "checkpoint_path", setup=lambda c: c.made.update(folder=_blocked_dir(c.tmp)))
case("jule-wrong-rank", lambda c: _deep().JULE(3).fit(np.zeros((20, 2, 3), np.float32)), "(20, 2, 3)",
     "X.reshape(len(X), -1)")
case("jule-too-few-samples", lambda c: _deep().JULE(3).fit(_rows(1)), "(1, 6)", "at least 2 samples")
case("jule-bad-device", lambda c: _deep().JULE(3, device="tpu").fit(_rows()), "'tpu'", "'cpu'")
case("mvnet-one-view", lambda c: _deep().MVnet(3).fit([_rows()]), "at least 2 views; got 1",
     "one (n_samples, n_features) matrix per view")
case("mvnet-mismatched-views", lambda c: _deep().MVnet(3).fit([_rows(20), _rows(10)]), "[20, 10]",
     "Subset every view")
case("dac-wrong-rank", lambda c: _deep().DAC(3).fit(_rows()), "(20, 6)", "X.reshape(-1, 1, 28, 28)")
case("dac-checkpoint-from-other-config",
     lambda c: _deep().DAC(4, network="small16", epochs=1, batch_size=8, progress=False, random_state=0,
                           checkpoint_path=c.made["ckpt"]).fit(_images(24, 1, 16)),
     "dac.pt", "another configuration", "Delete the file", setup=_dac_checkpoint)
case("dac-read-only-checkpoint-folder",
     lambda c: _deep().DAC(3, network="small16", epochs=1, batch_size=8, progress=False,
                           checkpoint_path=c.made["folder"] / "dac.pt").fit(_images(24, 1, 16)),
     "ro_ckpt", "not writable", "checkpoint_path",
     setup=lambda c: c.made.update(folder=_read_only_dir(c.tmp / "ro_ckpt", c.monkeypatch)))
case("mmdc-too-few-samples", lambda c: _deep().MMDC(2).fit(_images(1, 1, 32)), "(1, 1, 32, 32)", "N >= 2")
case("mmdc-wrong-rank", lambda c: _deep().MMDC(3).fit(_rows()), "(20, 6)", "X.reshape(-1, 1, 28, 28)")
case("nat-zero-target-dim", lambda c: _selfsup().NAT(target_dim=0).fit(_images(8, 1, 28)), "target_dim",
     "integer >= 1")
case("rotnet-wrong-rank", lambda c: _selfsup().RotNet().fit(_rows()), "(N, C, H, W)", "X.reshape(-1, 1, 28, 28)")
case("cc-wrong-rank", lambda c: _deep().ContrastiveClustering(3).fit(_rows()), "(20, 6)", "(N, 3, H, W)")
case("cc-grey-images", lambda c: _deep().ContrastiveClustering(3, backbone="resnet18", image_size=32, batch_size=4)
     .fit(_images(8, 1, 32)), "1 channel", "repeat")
case("cc-garbage-checkpoint",
     lambda c: _deep().ContrastiveClustering(3, backbone="resnet18", image_size=32, batch_size=4, epochs=1,
                                             progress=False, checkpoint_path=c.made["ckpt"]).fit(_images(8, 3, 32)),
     "garbage.pt", "not a checkpoint", "Delete the file", setup=_garbage_checkpoint)


@pytest.mark.parametrize("call, needles, setup, allowed", CASES)
def test_library_rejects_bad_input_before_compute(call, needles, setup, allowed, isolated_project, monkeypatch,
                                                 request):
    ctx = Ctx(isolated_project, monkeypatch)
    if setup is not None:
        setup(ctx)
    calls = request.getfixturevalue("spies")
    calls.allowed = allowed
    before = _snapshot(isolated_project)
    with pytest.raises(ClustlibError) as info:
        call(ctx)
    message = _words(str(info.value))
    missing = [needle for needle in needles if _words(needle) not in message]
    assert not missing, f"message lacks {missing}: {message}"
    assert [c for c in calls if c not in allowed] == []
    assert _snapshot(isolated_project) == before


# ---------------------------------------------------------------------------------------------------------------
# CLI cases: exit code 2, one paragraph, no run folder


CLI_CASES = []


def cli_case(case_id: str, args: list, *needles: str):
    CLI_CASES.append(pytest.param(args, needles, id=case_id, marks=pytest.mark.bad_input))


cli_case("run-unknown-study", ["run", "99"], "Unknown study '99'", "01_layer_architecture_grid")
cli_case("run-unknown-profile", ["run", "01", "--profile", "nope"], "Unknown profile 'nope'", "ci, full, smoke")
cli_case("run-unknown-parameter", ["run", "01", "--set", "epochs=3"], "'epochs'", "Valid parameters")
cli_case("run-unknown-dataset", ["run", "01", "--profile", "ci", "--set", "datasets=[nosuch]"], "nosuch",
         "clustlib data list")
cli_case("run-unknown-extractor", ["run", "01", "--profile", "ci", "--set", "extractors=[nope.imagenet]"],
         "'nope.imagenet'", "Valid extractors")
cli_case("run-unknown-view-extractor", ["run", "02", "--profile", "ci", "--set", "views=[nope.imagenet:L3, pixels]"],
         "'nope.imagenet'", "Valid extractors")
cli_case("run-unknown-method", ["run", "06", "--profile", "ci", "--set", "methods=[dec, nomethod]"], "nomethod",
         "implemented", "ae_kmeans")
cli_case("run-subsets-key-not-a-dataset", ["run", "01", "--profile", "ci", "--set", "subsets={mnist: 100}"],
         "mnist", "not in datasets", "datasets are ['digits']")
cli_case("run-empty-seeds", ["run", "04", "--profile", "ci", "--set", "seeds=[]"], "seeds", "at least one seed")
cli_case("run-non-integer-seeds", ["run", "07", "--profile", "ci", "--set", "seeds=[0, one]"], "['one']",
         "integers >= 0")
cli_case("run-negative-seed", ["run", "02", "--profile", "ci", "--set", "seed=-3"], "seed", "-3", ">= 0")
cli_case("run-checks-every-study-before-any", ["run", "01", "04", "--profile", "ci", "--set", "datasets=[usps, digits]",
                                                   "--set", "subsets={}"],
         "04_deepclue", "'usps'", "valid: ['cifar10'")
cli_case("data-unknown-dataset", ["data", "info", "nosuch"], "'nosuch'", "Valid datasets")
cli_case("data-download-needs-name", ["data", "download"], "needs a dataset name", "clustlib data list")
cli_case("report-unknown-study", ["report", "nosuch"], "Unknown study 'nosuch'", "07_dac")
cli_case("report-no-results", ["report", "01", "--profile", "ci"], "No results", "clustlib run")


@pytest.mark.parametrize("args, needles", CLI_CASES)
def test_cli_bad_input_is_one_paragraph_and_exit_2(args, needles, isolated_project, spies, capsys):
    before = _snapshot(isolated_project)
    assert cli.main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("clustlib: error: ") and "Traceback" not in err
    assert "\n\n" not in err.strip(), "one paragraph"
    message = _words(err)
    missing = [needle for needle in needles if _words(needle) not in message]
    assert not missing, f"stderr lacks {missing}: {message}"
    assert spies == []
    assert not (isolated_project / "runs").exists()
    assert _snapshot(isolated_project) == before


# ---------------------------------------------------------------------------------------------------------------
# study validation (item 5): the runner checks before creating a run folder; every committed profile passes


@pytest.mark.bad_input
@pytest.mark.parametrize("override, needle", [
    ("datasets=[nosuch]", "nosuch"),
    ("extractors=[nope.imagenet]", "nope.imagenet"),
    ("subsets={mnist: 10}", "mnist"),
])
def test_run_study_validates_before_the_run_folder(override, needle, isolated_project, spies):
    from clustlib import runner

    with pytest.raises(ClustlibError, match=needle):
        runner.run_study("01", "ci", [override], progress=False)
    assert spies == [] and not (isolated_project / "runs").exists()


def _profiles():
    return sorted(PROJECT.glob("params/*/*.yaml"))


@pytest.mark.parametrize("path", _profiles(), ids=lambda p: f"{p.parent.name}/{p.stem}")
def test_every_profile_passes_its_study_validation(path, spies):
    from clustlib import profiles
    from clustlib.studies import validate_study_params

    study = path.parent.name
    validate_study_params(study, profiles.resolve_params(study, path.stem))
    assert spies == []


@pytest.mark.parametrize("study", sorted(p.name for p in PROJECT.glob("params/*") if p.is_dir()))
def test_every_notebooks_defaults_pass_its_study_validation(study, spies):
    from clustlib.studies import validate_study_params

    validate_study_params(study, {})  # the parameters cell alone, as JupyterLab runs it
    assert spies == []


def test_every_study_has_a_validating_module():
    from clustlib import profiles, studies

    assert sorted(studies.STUDY_MODULES) == profiles.list_studies()
    for name in studies.STUDY_MODULES.values():
        assert callable(getattr(importlib.import_module(f"clustlib.studies.{name}"), "validate_params"))


def test_mixed_sizes_and_modes_load_as_one_rgb_array(tmp_path):
    """The good tree the bad-input cases start from: grey, RGBA and RGB files of six sizes load as one array."""
    imageset = _data().load(f"folder:{_good_tree(tmp_path / 'mixed')}", image_size=8, progress=False)
    assert imageset.images.shape == (6, 8, 8, 3) and imageset.classes == ("cat", "dog")
