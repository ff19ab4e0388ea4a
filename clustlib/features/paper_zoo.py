"""The ten ImageNet networks of Guérin et al. (2021), with the paper's layers L1, L2, L3.

The paper used Keras' ``applications`` models; we use torchvision where it has the architecture
(VGG16/19, InceptionV3, ResNet50, DenseNet121/169/201) and timm for the rest (Xception,
NASNet-Large, Inception-ResNet-v2; timm's weights for these are ports of the same TensorFlow
checkpoints Keras ships). The paper (Section 3.1.2) reads three layers of each network:

* **L1**: a layer at the end of the convolutional part ("end of the convolutional block");
* **L2**: the second layer before the ImageNet softmax;
* **L3**: the last layer before the softmax.

Table 2 names them for five networks; the mapping to torch modules is (Keras name -> module,
width at the native input size):

============  ==========================================  ==========================================  ==========================
network       L1                                          L2                                          L3
============  ==========================================  ==========================================  ==========================
VGG16/19      ``block5_pool`` -> ``features`` (25,088)    ``fc1`` -> ``classifier.1`` (ReLU, 4,096)   ``fc2`` -> ``classifier.4``
InceptionV3   ``mixed7`` -> ``Mixed_6e`` (221,952)        ``mixed10`` -> ``Mixed_7c`` (131,072)       ``avg_pool`` -> ``avgpool``
Xception      ``add_12`` -> ``block12`` (102,400)         ``block14_sepconv2_act`` -> ``act4``        ``avg_pool`` -> ``global_pool``
                                                          (204,800)
ResNet50      ``activation_40`` -> ``layer3`` (200,704)   ``activation_47`` -> ReLU of                ``avg_pool`` -> ``avgpool``
                                                          ``layer4.2.bn1`` (25,088)
============  ==========================================  ==========================================  ==========================

For the five networks Table 2 does not list, the layers follow the same pattern (L1 = output of
the last stage before the final down-sampling, L2 = last spatial feature map, L3 = the pooled
vector that enters the classifier):

* DenseNet121/169/201: ``conv4_block{24,32,48}_concat`` -> ``features.denseblock3``; ``relu`` ->
  ReLU of ``features`` (torchvision applies it functionally); ``avg_pool`` -> input of ``classifier``.
* NASNet-Large: last normal cell of the 21x21 stack -> ``cell_11``; final ReLU -> ``act``;
  ``global_average_pooling2d_1`` -> ``global_pool``.
* Inception-ResNet-v2: ``block17_20_ac`` -> ``repeat_1``; ``conv_7b_ac`` -> ``conv2d_7b``;
  ``avg_pool`` -> ``global_pool``.

Spatial maps are flattened in Keras' (H, W, C) order. Input sizes follow the Keras models (and the
widths in Table 2): 224 for VGG, ResNet50 and DenseNet, 299 for InceptionV3, Xception and
Inception-ResNet-v2, 331 for NASNet-Large. Which NASNet the paper used is not stated; its
tutorial's ``global_average_pooling2d_1`` and 4,032-wide L3 point to NASNet-Large. Mean/std and the
resize kernel are those the weights were evaluated with (torchvision: ImageNet statistics,
bilinear; timm TF ports: [-1, 1] scaling, bicubic), not Keras' caffe-style preprocessing, because
the weights differ from Keras'.

References
----------
.. [1] J. Guérin, S. Thiery, E. Nyiri, O. Gibaru, B. Boots. "Combining pretrained CNN feature
   extractors to enhance clustering of complex natural images". Neurocomputing 423, 2021.
.. [2] TorchVision maintainers. torchvision.models, https://github.com/pytorch/vision
.. [3] R. Wightman. PyTorch Image Models (timm), https://github.com/huggingface/pytorch-image-models
"""

from __future__ import annotations

import functools
import re

import torchvision.models as tvm
from torch import nn

from clustlib.features.preprocess import IMAGENET_MEAN, IMAGENET_STD, INCEPTION_MEAN, INCEPTION_STD, Preprocessing
from clustlib.features.registry import LayerTap, WeightsSource, register_extractor

__all__ = ["PAPER_EXTRACTORS"]

#: The ten extractors of Guérin et al. (2021), Section 4, in the paper's order.
PAPER_EXTRACTORS: tuple[str, ...] = (
    "densenet121.imagenet",
    "densenet169.imagenet",
    "densenet201.imagenet",
    "inception_v3.imagenet",
    "inception_resnet_v2.imagenet",
    "nasnet_large.imagenet",
    "resnet50.imagenet",
    "vgg16.imagenet",
    "vgg19.imagenet",
    "xception.imagenet",
)

_TV_URL = "https://download.pytorch.org/models/"
_TIMM_URL = "https://github.com/rwightman/pytorch-image-models/releases/download/"
_TV_LICENSE = "BSD-3-Clause (torchvision code); weights trained on ImageNet-1k, whose terms are non-commercial research"
_TIMM_TF_LICENSE = "Apache-2.0 (TensorFlow checkpoints ported by timm); trained on ImageNet-1k"
_TAG_PAPER = ("paper",)
# torchvision checks that its file names end in the file's SHA-256 prefix, so we can too. timm's release
# files (rehosted by R. Wightman) follow the same naming, but we could not verify offline that the suffix is
# a SHA-256 prefix, so their hash is not enforced; the actual SHA-256 still keys the feature cache.
_UNVERIFIED = None


def _tv_prep(size: int = 224) -> Preprocessing:
    return Preprocessing(size=size, interpolation="bilinear", mean=IMAGENET_MEAN, std=IMAGENET_STD)


def _tf_prep(size: int) -> Preprocessing:
    return Preprocessing(size=size, interpolation="bicubic", mean=INCEPTION_MEAN, std=INCEPTION_STD)


def _tv_weights(file: str) -> WeightsSource:
    return WeightsSource(file=file, sha256=file.rsplit("-", 1)[1].split(".")[0], urls=(_TV_URL + file,))


def _register_tv(name: str, builder, *, layers: dict, file: str, origin: str, paper: str, size: int = 224,
                 convert_state=None) -> None:
    """A torchvision network: ImageNet preprocessing at ``size`` px, the checkpoint ``file`` of torchvision's
    download server (its name ends in the SHA-256 prefix, which is checked)."""
    register_extractor(
        name, preprocessing=_tv_prep(size), layers=layers, weights=_tv_weights(file), convert_state=convert_state,
        license=_TV_LICENSE, origin=origin, paper=paper, tags=_TAG_PAPER,
    )(builder)


# --- VGG -------------------------------------------------------------------------------------------
_VGG_LAYERS = {
    "L1": LayerTap("features", keras_name="block5_pool", description="last max-pool of the conv part, 7x7x512"),
    "L2": LayerTap("classifier.1", keras_name="fc1", description="first fully connected layer after its ReLU"),
    "L3": LayerTap("classifier.4", keras_name="fc2", description="second fully connected layer after its ReLU"),
}
_VGG_PAPER = "K. Simonyan, A. Zisserman. Very deep convolutional networks for large-scale image recognition. ICLR 2015."

for _depth, _file in ((16, "vgg16-397923af.pth"), (19, "vgg19-dcbb9e9d.pth")):
    _register_tv(f"vgg{_depth}.imagenet", functools.partial(getattr(tvm, f"vgg{_depth}"), weights=None),
                 layers=_VGG_LAYERS, file=_file, origin=f"torchvision.models.vgg{_depth} (IMAGENET1K_V1)",
                 paper=_VGG_PAPER)


# --- InceptionV3 -----------------------------------------------------------------------------------
def _inception_v3() -> nn.Module:
    # transform_input maps ImageNet-normalised input to the [-1, 1] scaling the TF weights expect
    return tvm.inception_v3(weights=None, aux_logits=True, transform_input=True, init_weights=False)


_register_tv(
    "inception_v3.imagenet", _inception_v3, size=299,
    layers={
        "L1": LayerTap("Mixed_6e", keras_name="mixed7", description="last 17x17 inception module, 17x17x768"),
        "L2": LayerTap("Mixed_7c", keras_name="mixed10", description="last inception module, 8x8x2048"),
        "L3": LayerTap("avgpool", keras_name="avg_pool", description="global average pool, 2048"),
    },
    file="inception_v3_google-0cc3c7bd.pth",
    origin="torchvision.models.inception_v3 (IMAGENET1K_V1, ported from TensorFlow; transform_input=True)",
    paper="C. Szegedy et al. Rethinking the Inception architecture for computer vision. CVPR 2016.",
)


# --- ResNet50 --------------------------------------------------------------------------------------
_register_tv(
    "resnet50.imagenet", functools.partial(tvm.resnet50, weights=None),
    layers={
        "L1": LayerTap("layer3", keras_name="activation_40", description="end of stage 4 (conv4_x), 14x14x1024"),
        "L2": LayerTap("layer4.2.bn1", post="relu", keras_name="activation_47",
                       description="ReLU after the first 1x1 conv of the last bottleneck, 7x7x512"),
        "L3": LayerTap("avgpool", keras_name="avg_pool", description="global average pool, 2048"),
    },
    file="resnet50-0676ba61.pth", origin="torchvision.models.resnet50 (IMAGENET1K_V1)",
    paper="K. He, X. Zhang, S. Ren, J. Sun. Deep residual learning for image recognition. CVPR 2016.",
)


# --- DenseNet --------------------------------------------------------------------------------------
# Checkpoints from LuaTorch name layers "norm.1"; torchvision's modules are "norm1".
_DENSENET_KEY = re.compile(r"^(.*denselayer\d+\.(?:norm|relu|conv))\.((?:[12])\.(?:weight|bias|running_mean|running_var))$")


def _densenet_keys(model: nn.Module, state_dict: dict) -> dict:
    fixed = {}
    for key, value in state_dict.items():
        match = _DENSENET_KEY.match(key)
        fixed[match.group(1) + match.group(2) if match else key] = value
    return fixed


def _densenet_layers(last_block: int) -> dict:
    return {
        "L1": LayerTap("features.denseblock3", keras_name=f"conv4_block{last_block}_concat",
                       description="end of dense block 3, 14x14"),
        "L2": LayerTap("features", post="relu", keras_name="relu", description="final BN + ReLU, 7x7"),
        "L3": LayerTap("classifier", point="input", keras_name="avg_pool", description="global average pool"),
    }


_DENSENET_PAPER = "G. Huang, Z. Liu, L. van der Maaten, K. Q. Weinberger. Densely connected convolutional networks. CVPR 2017."

for _depth, _blocks, _file in ((121, 24, "densenet121-a639ec97.pth"), (169, 32, "densenet169-b2777c0a.pth"),
                               (201, 48, "densenet201-c1103571.pth")):
    _register_tv(f"densenet{_depth}.imagenet", getattr(tvm, f"densenet{_depth}"), layers=_densenet_layers(_blocks),
                 file=_file, convert_state=_densenet_keys, paper=_DENSENET_PAPER,
                 origin=f"torchvision.models.densenet{_depth} (IMAGENET1K_V1, ported from LuaTorch)")


# --- timm: Xception, NASNet-Large, Inception-ResNet-v2 ---------------------------------------------
def _timm(arch: str) -> nn.Module:
    import timm

    return timm.create_model(arch, pretrained=False)


def _register_timm(name: str, arch: str, *, size: int, layers: dict, file: str, release: str, origin: str,
                   paper: str, hf_repo: str | None = None) -> None:
    """A Keras/TF network ported by timm: TF preprocessing at ``size`` px, the checkpoint ``file`` of timm's
    GitHub ``release`` (and, with ``hf_repo``, its safetensors on the Hugging Face hub)."""
    register_extractor(
        name, preprocessing=_tf_prep(size), layers=layers,
        weights=WeightsSource(file=file, sha256=_UNVERIFIED, urls=(f"{_TIMM_URL}{release}/{file}",), hf_repo=hf_repo,
                              hf_file="model.safetensors" if hf_repo else None),
        license=_TIMM_TF_LICENSE, origin=origin, paper=paper, tags=_TAG_PAPER,
    )(functools.partial(_timm, arch))


_register_timm(
    "xception.imagenet", "legacy_xception", size=299,
    layers={
        "L1": LayerTap("block12", keras_name="add_12", description="residual sum of exit-flow block 13, 10x10x1024"),
        "L2": LayerTap("act4", keras_name="block14_sepconv2_act", description="last separable conv + ReLU, 10x10x2048"),
        "L3": LayerTap("global_pool", keras_name="avg_pool", description="global average pool, 2048"),
    },
    file="xception-43020ad28.pth", release="v0.1-cadene",
    origin="timm legacy_xception.tf_in1k (Keras/TF Xception weights via Cadene's pretrained-models)",
    paper="F. Chollet. Xception: deep learning with depthwise separable convolutions. CVPR 2017.",
)
_register_timm(
    "nasnet_large.imagenet", "nasnetalarge", size=331,
    layers={
        "L1": LayerTap("cell_11", keras_name="normal_concat_12 (last 21x21 normal cell)",
                       description="last normal cell before the second reduction, 21x21x2016"),
        "L2": LayerTap("act", keras_name="final ReLU activation", description="final ReLU, 11x11x4032"),
        "L3": LayerTap("global_pool", keras_name="global_average_pooling2d_1", description="global average pool, 4032"),
    },
    file="nasnetalarge-dc4a7b8b.pth", release="v0.1-weights", hf_repo="timm/nasnetalarge.tf_in1k",
    origin="timm nasnetalarge.tf_in1k",
    paper="B. Zoph, V. Vasudevan, J. Shlens, Q. V. Le. Learning transferable architectures for scalable image "
          "recognition. CVPR 2018.",
)
_register_timm(
    "inception_resnet_v2.imagenet", "inception_resnet_v2", size=299,
    layers={
        "L1": LayerTap("repeat_1", keras_name="block17_20_ac", description="last Inception-ResNet-B block, 17x17x1088"),
        "L2": LayerTap("conv2d_7b", keras_name="conv_7b_ac", description="final 1x1 conv + BN + ReLU, 8x8x1536"),
        "L3": LayerTap("global_pool", keras_name="avg_pool", description="global average pool, 1536"),
    },
    file="inception_resnet_v2-940b1cd6.pth", release="v0.1-weights", hf_repo="timm/inception_resnet_v2.tf_in1k",
    origin="timm inception_resnet_v2.tf_in1k",
    paper="C. Szegedy, S. Ioffe, V. Vanhoucke, A. Alemi. Inception-v4, Inception-ResNet and the impact of residual "
          "connections on learning. AAAI 2017.",
)
