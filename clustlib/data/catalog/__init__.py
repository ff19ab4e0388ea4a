"""The datasets of the five reproduced papers: where their files live and what they are.

Importing this package registers every built-in dataset with :func:`clustlib.data.registry.register_dataset`:

* :mod:`~clustlib.data.catalog.arrays`: datasets kept as arrays in their official files (digits, Optdigits, MNIST,
  Fashion-MNIST, KMNIST, USPS, CIFAR-10, CIFAR-100-20, STL-10);
* :mod:`~clustlib.data.catalog.trees`: datasets kept as image trees (ImageNet-10/-Dogs, Tiny-ImageNet, VOC2007,
  COIL-100, Archi, MIT Indoor, Flowers-17, Birds, UMist, FEI, ClustPy's ImageNetDog).

Every entry names the layouts it accepts under the data root (``root`` argument > ``$CLUSTLIB_DATA``
> ``<project>/data``), the official source, and the one command or URL that gets it. The names below are
re-exported here for the code that has always imported them from ``clustlib.data.catalog``.
"""

from clustlib.data.catalog.arrays import DEBIAN_FASHION_MNIST
from clustlib.data.catalog.trees import CLUSTPY_DOG, CLUSTPY_DOG_WNIDS, IMAGENET10_WNIDS, IMAGENET_DOGS_WNIDS
from clustlib.data.folders import TreeSource, folder_locate, folder_metadata, load_folder, tree_source
from clustlib.data.sources.flowers17 import FLOWERS17_PER_CLASS, scan_flowers17_archive
from clustlib.data.sources.voc import scan_voc2007_single_label

__all__ = ["folder_metadata", "folder_locate", "load_folder", "TreeSource", "tree_source", "scan_flowers17_archive",
           "scan_voc2007_single_label", "DEBIAN_FASHION_MNIST", "IMAGENET10_WNIDS", "IMAGENET_DOGS_WNIDS",
           "FLOWERS17_PER_CLASS", "CLUSTPY_DOG", "CLUSTPY_DOG_WNIDS"]
