"""The registry of deep clustering methods: one entry per method with its paper, public code, input kind and presets.

:func:`list_methods` and :func:`method_info` read the table without importing torch; :func:`create_method` imports
the method's module and builds the estimator from a preset (a tag of the entry, timm-style: ``("dac",
"script_mnist")``) and overrides. A study asks the registry, not a dict of its own, for the estimator of a name.

Names are unambiguous: ``contrastive_clustering`` is Li et al.'s method (a study may label it "CC"; Guérin et al.'s
"CC" baseline, JULE on the concatenated views, is :class:`~clustlib.deep.JULE` and not a method of its own).
NAT and RotNet are not here: they learn features, not clusters (:func:`clustlib.deep.mmdc.create_baseline`).
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

from clustlib.errors import InvalidParameter, UnknownName

__all__ = ["MethodInfo", "FAMILIES", "INPUT_KINDS", "list_methods", "method_info", "create_method", "list_presets"]

#: Families, each a subpackage of :mod:`clustlib.deep`.
FAMILIES = ("autoencoder", "jule", "dac", "mmdc", "contrastive")
#: What ``fit`` takes: flat rows (N, D) (images flattened, or (N, C, H, W) for the convolutional autoencoder),
#: (N, C, H, W) images, or a list of views (N, D_v).
INPUT_KINDS = ("vectors", "images", "views")

_CLUSTPY = "https://github.com/collinleiber/ClustPy"
_BENCHMARK = 'Leiber et al., "Benchmarking Deep Clustering Algorithms With ClustPy", ICDMW 2023'


@dataclass(frozen=True)
class MethodInfo:
    """One registered method.

    Attributes
    ----------
    name : str
        Registry name (lower case, unique).
    family : str
        One of :data:`FAMILIES`: the subpackage its file is in.
    target : str
        ``"module:Class"`` of the estimator.
    paper : str
        The method's paper (and the benchmark whose settings the defaults follow, where that differs).
    code : str
        URL of the public code the implementation was checked against.
    inputs : str
        One of :data:`INPUT_KINDS`.
    presets : str or None
        ``"module:NAME"`` of the dict of named settings (preset name -> keyword arguments), or None.
    """

    name: str
    family: str
    target: str
    paper: str
    code: str
    inputs: str
    presets: str | None = None

    def load(self) -> type:
        """The estimator class (imports its module, and torch)."""
        module, attr = self.target.split(":")
        return getattr(importlib.import_module(module), attr)

    def preset_table(self) -> Mapping[str, Mapping]:
        """Preset name -> keyword arguments (empty without presets)."""
        if self.presets is None:
            return {}
        module, attr = self.presets.split(":")
        return getattr(importlib.import_module(module), attr)


def _ae(name: str, cls: str, module: str, paper: str, code_path: str) -> MethodInfo:
    return MethodInfo(name, "autoencoder", f"clustlib.deep.autoencoder.{module}:{cls}", f"{paper}; {_BENCHMARK}",
                      f"{_CLUSTPY}/blob/main/clustpy/deep/{code_path}", "vectors")


_METHODS: dict[str, MethodInfo] = {m.name: m for m in (
    _ae("ae_kmeans", "AEKMeans", "aekmeans", "AE+KMeans, the benchmark's baseline", "_train_utils.py"),
    _ae("dec", "DEC", "dec", 'Xie, Girshick, Farhadi, "Unsupervised Deep Embedding for Clustering Analysis", '
        "ICML 2016", "dec.py"),
    _ae("idec", "IDEC", "dec", 'Guo, Gao, Liu, Yin, "Improved Deep Embedded Clustering with Local Structure '
        'Preservation", IJCAI 2017', "dec.py"),
    _ae("dcn", "DCN", "dcn", 'Yang, Fu, Sidiropoulos, Hong, "Towards K-means-friendly Spaces: Simultaneous Deep '
        'Learning and Clustering", ICML 2017', "dcn.py"),
    _ae("acedec", "ACeDeC", "acedec", 'Miklautz et al., "Details (Don\'t) Matter: Isolating Cluster Information in '
        'Deep Embedded Spaces", IJCAI 2021', "enrc.py"),
    _ae("dipencoder", "DipEncoder", "dipencoder", 'Leiber et al., "The DipEncoder: Enforcing Multimodality in '
        'Autoencoders", KDD 2022', "dipencoder.py"),
    MethodInfo("jule", "jule", "clustlib.deep.jule.jule:JULE",
               'Yang, Parikh, Batra, "Joint Unsupervised Learning of Deep Representations and Image Clusters", '
               "CVPR 2016 (the MLP variant of Guérin et al., Neurocomputing 2021)",
               "https://github.com/jwyang/JULE.torch", "vectors"),
    MethodInfo("mvnet", "jule", "clustlib.deep.jule.mvnet:MVnet",
               'Guérin et al., "Combining pretrained CNN feature extractors to enhance clustering of complex natural '
               'images", Neurocomputing 423, 2021', "https://github.com/jorisguerin/pretrainedCNN_clustering",
               "views"),
    MethodInfo("dac", "dac", "clustlib.deep.dac.dac:DAC",
               'Chang, Wang, Meng, Xiang, Pan, "Deep Adaptive Image Clustering", ICCV 2017',
               "https://github.com/vector-1127/DAC", "images", "clustlib.deep.dac.presets:PRESETS"),
    MethodInfo("mmdc", "mmdc", "clustlib.deep.mmdc.mmdc:MMDC",
               'Shiran, Weinshall, "Multi-Modal Deep Clustering: Unsupervised Partitioning of Images", ICPR 2020; '
               "M.Sc. thesis 2021", "https://github.com/guysrn/mmdc", "images", "clustlib.deep.mmdc.presets:PRESETS"),
    MethodInfo("contrastive_clustering", "contrastive", "clustlib.deep.contrastive.contrastive:ContrastiveClustering",
               'Li, Hu, Liu, Peng, Zhou, Peng, "Contrastive Clustering", AAAI 2021 (the network DeepCluE ensembles)',
               "https://github.com/Yunfan-Li/Contrastive-Clustering", "images"),
)}


def list_methods(family: str | None = None) -> list[str]:
    """Registered method names, sorted; only ``family``'s (one of :data:`FAMILIES`) when given."""
    if family is not None and family not in FAMILIES:
        raise UnknownName("deep clustering family", family, FAMILIES)
    return sorted(n for n, m in _METHODS.items() if family is None or m.family == family)


def method_info(name: str) -> MethodInfo:
    """The registry entry of ``name`` (see :class:`MethodInfo`)."""
    if name not in _METHODS:
        raise UnknownName("deep clustering method", name, sorted(_METHODS))
    return _METHODS[name]


def list_presets(name: str) -> list[str]:
    """Preset tags of method ``name`` (``"paper"``, ``"script_mnist"``, ``"thesis_cifar10"`` ...), sorted."""
    return sorted(method_info(name).preset_table())


def create_method(name: str, preset: str | None = None, **overrides):
    """The estimator of ``name`` with the settings of ``preset`` (a tag of :func:`list_presets`), then ``overrides``.

    Without ``preset`` the estimator has its own defaults (the paper's, or the benchmark's for the autoencoder
    family). ``n_clusters`` goes in ``overrides``; an unfitted estimator without it can be built to read its
    parameters, and ``fit`` refuses it.
    """
    info = method_info(name)
    settings: Mapping = {}
    if preset is not None:
        table = info.preset_table()
        if preset not in table:
            raise InvalidParameter(f"Unknown preset {preset!r} of method {name!r}; valid: {sorted(table) or 'none'}.")
        settings = table[preset]
    return info.load()(**{**settings, **overrides})
