"""The networks of the deep methods, one module per family, with names that say whose network it is.

- :mod:`~clustlib.deep.networks.autoencoders`: the ClustPy benchmark's feed-forward autoencoders
  (:func:`build_autoencoder` also builds ``"resnet18"``, :class:`ResNet18Autoencoder` of
  :mod:`~clustlib.deep.networks.resnet_ae`);
- :mod:`~clustlib.deep.networks.allconv`: DAC's All-ConvNets (:class:`DACNetwork`);
- :mod:`~clustlib.deep.networks.mmdc`: MMDC's small VGG and CIFAR ResNet18 (:class:`MMDCSmallVGG`,
  :class:`MMDCResNet18`), also trained by the NAT and RotNet baselines;
- Contrastive Clustering's ResNet backbone with its two heads is :class:`ContrastiveNetwork`
  (:mod:`~clustlib.deep.networks.contrastive`).

A network name passed to an estimator (``network="resnet18"``) is read in that estimator's family: the
autoencoder methods' ``"resnet18"`` is :class:`ResNet18Autoencoder`, MMDC's is :class:`MMDCResNet18`, and
Contrastive Clustering's ``backbone="resnet18"`` is torchvision's ResNet18 inside :class:`ContrastiveNetwork`.
"""

from clustlib.deep.networks.allconv import (ALLCONV_ARCHITECTURES, AllConvSpec, DACNetwork, default_architecture,
                                            list_dac_networks, restraint_layer)
from clustlib.deep.networks.autoencoders import (AUTOENCODER_HIDDEN, FeedforwardAutoencoder, build_autoencoder,
                                                 list_autoencoders)
from clustlib.deep.networks.contrastive import BACKBONES, CC_LAYERS, DEEPCLUE_LAYERS, ContrastiveNetwork
from clustlib.deep.networks.mmdc import MMDC_NETWORKS, MMDCResNet18, MMDCSmallVGG, SobelFilter, build_mmdc_network
from clustlib.deep.networks.resnet_ae import ResNet18Autoencoder

__all__ = [
    "FeedforwardAutoencoder", "AUTOENCODER_HIDDEN", "build_autoencoder", "list_autoencoders", "ResNet18Autoencoder",
    "AllConvSpec", "ALLCONV_ARCHITECTURES", "DACNetwork", "restraint_layer", "default_architecture",
    "list_dac_networks",
    "SobelFilter", "MMDCSmallVGG", "MMDCResNet18", "MMDC_NETWORKS", "build_mmdc_network",
    "ContrastiveNetwork", "BACKBONES", "CC_LAYERS", "DEEPCLUE_LAYERS",
]
