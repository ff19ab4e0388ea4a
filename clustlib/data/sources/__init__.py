"""Readers of the official dataset file formats, each a pure function of files on disk."""

from clustlib.data.sources.cifar import read_cifar_batch, read_cifar_meta
from clustlib.data.sources.flowers17 import FLOWERS17_PER_CLASS, scan_flowers17_archive
from clustlib.data.sources.folder import (FolderListing, decode_images, scan_flat_folder, scan_image_folder,
                                          scan_selected_folders)
from clustlib.data.sources.idx import read_idx, read_idx_pair
from clustlib.data.sources.optdigits import read_optdigits
from clustlib.data.sources.stl10 import read_stl10_split
from clustlib.data.sources.usps import read_usps
from clustlib.data.sources.voc import scan_voc2007_single_label

__all__ = [
    "FLOWERS17_PER_CLASS",
    "FolderListing",
    "decode_images",
    "read_cifar_batch",
    "read_cifar_meta",
    "read_idx",
    "read_idx_pair",
    "read_optdigits",
    "read_stl10_split",
    "read_usps",
    "scan_flat_folder",
    "scan_flowers17_archive",
    "scan_image_folder",
    "scan_selected_folders",
    "scan_voc2007_single_label",
]
