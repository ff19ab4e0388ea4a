"""Contrastive Clustering's network: a torchvision ResNet backbone with the instance head g_I and the cluster
head g_C, and the layers DeepCluE reads from it."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from clustlib.errors import InvalidParameter

__all__ = ["ContrastiveNetwork", "BACKBONES", "CC_LAYERS", "DEEPCLUE_LAYERS"]

BACKBONES = ("resnet34", "resnet18")
#: Layers :meth:`ContrastiveNetwork.features` can return, in forward order. ``conv1`` is the 7x7
#: convolution after BN and ReLU (before the max-pool); ``conv2_x`` ... ``conv5_x`` the outputs of
#: torchvision's ``layer1`` ... ``layer4``; ``fc6`` the 512-d average-pooled vector; ``fc7`` and
#: ``fc9`` the hidden layers of the instance and cluster heads after their ReLU (Caffe-style
#: in-place ReLU, as "fc7" features are usually read); ``fc8`` the instance head's L2-normalised
#: 128-d output.
CC_LAYERS = ("conv1", "conv2_x", "conv3_x", "conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")
#: DeepCluE's six layers: three of the backbone (the notes' best guess), fc7/fc8 of g_I, fc9 of g_C.
DEEPCLUE_LAYERS = ("conv4_x", "conv5_x", "fc6", "fc7", "fc8", "fc9")



class ContrastiveNetwork(nn.Module):
    """CC's network: torchvision ResNet (no fc) + instance projector + cluster projector.

    Parameters
    ----------
    n_clusters : int
        K, the width of the cluster head.
    backbone : {"resnet34", "resnet18"}, default="resnet34"
        torchvision's ResNet with the ImageNet stem (7x7 stride-2 conv, 3x3 stride-2 max-pool), no
        pretrained weights, its own initialisation (Kaiming-normal fan-out convs, BN 1/0,
        ``zero_init_residual=False``). Takes (B, 3, H, W) with H, W >= 32.
    feature_dim : int, default=128
        Width of the instance projection.
    seed : int, default=0
        Seeds the initial weights (torch's global generator is forked, not disturbed).

    Notes
    -----
    ``forward(x)`` returns ``(z, c)``: the L2-normalised instance projection (B, 128) and the cluster
    softmax (B, K).
    """

    def __init__(self, n_clusters: int, backbone: str = "resnet34", *, feature_dim: int = 128, seed: int = 0) -> None:
        super().__init__()
        import torchvision

        if backbone not in BACKBONES:
            raise InvalidParameter(f"backbone must be one of {BACKBONES}, got {backbone!r}.")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(int(seed))
            resnet = getattr(torchvision.models, backbone)(weights=None)
            rep = resnet.fc.in_features  # 512
            resnet.fc = nn.Identity()
            self.backbone = resnet
            self.instance_projector = nn.Sequential(nn.Linear(rep, rep), nn.ReLU(), nn.Linear(rep, feature_dim))
            self.cluster_projector = nn.Sequential(nn.Linear(rep, rep), nn.ReLU(), nn.Linear(rep, int(n_clusters)),
                                                   nn.Softmax(dim=1))
        self.n_clusters = int(n_clusters)
        self.backbone_name = backbone

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        h = self.backbone(x)  # (B, 512)
        z = F.normalize(self.instance_projector(h), dim=1)  # (B, 128)
        c = self.cluster_projector(h)  # (B, K)
        return z, c

    def features(self, x: torch.Tensor, layers: tuple[str, ...] = DEEPCLUE_LAYERS) -> dict[str, torch.Tensor]:
        """Activations of ``layers`` (names from :data:`CC_LAYERS`), each flattened to (B, D)."""
        r, want, out = self.backbone, set(layers), {}
        h = r.relu(r.bn1(r.conv1(x)))
        if "conv1" in want:
            out["conv1"] = h.flatten(1)
        h = r.maxpool(h)
        for name, stage in zip(("conv2_x", "conv3_x", "conv4_x", "conv5_x"), (r.layer1, r.layer2, r.layer3, r.layer4)):
            h = stage(h)
            if name in want:
                out[name] = h.flatten(1)
        h = torch.flatten(r.avgpool(h), 1)  # (B, 512)
        out["fc6"] = h
        hid_i = self.instance_projector[1](self.instance_projector[0](h))  # (B, 512), after ReLU
        out["fc7"] = hid_i
        out["fc8"] = F.normalize(self.instance_projector[2](hid_i), dim=1)  # (B, 128)
        out["fc9"] = self.cluster_projector[1](self.cluster_projector[0](h))  # (B, 512), after ReLU
        return {name: out[name] for name in layers}
