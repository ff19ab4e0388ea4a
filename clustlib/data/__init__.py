"""Datasets: a registry of named loaders that return :class:`ImageSet` objects.

>>> from clustlib import data
>>> digits = data.load("digits")                       # 1,797 8x8 images, offline
>>> fashion = data.load("fashion_mnist", subset=7000)  # stratified, seed 0
>>> data.list_datasets("*mnist*")
['fashion_mnist', 'kmnist', 'mnist']

Data root: ``root`` argument > ``$CLUSTLIB_DATA`` > ``<project>/data``. A dataset that is not there
raises :class:`~clustlib.errors.DatasetUnavailable` naming where it looked and how to get it.
"""

from clustlib.data.imageset import ImageSet
from clustlib.data.registry import (FOLDER_PREFIX, LoadRequest, RawDataset, count_images, dataset_info, download,
                                    is_available, list_datasets, load, register_dataset)
from clustlib.data import catalog  # registers the built-in datasets
from clustlib.data.subset import stratified_counts, stratified_subset
from clustlib.data.transforms import RESAMPLE, resize_images, to_rgb

__all__ = [
    "FOLDER_PREFIX",
    "ImageSet",
    "LoadRequest",
    "RESAMPLE",
    "RawDataset",
    "catalog",
    "count_images",
    "dataset_info",
    "download",
    "is_available",
    "list_datasets",
    "load",
    "register_dataset",
    "resize_images",
    "stratified_counts",
    "stratified_subset",
    "to_rgb",
]
