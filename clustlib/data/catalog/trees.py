"""The datasets stored as image trees: ImageNet-10/-Dogs, Tiny-ImageNet, VOC2007, COIL-100, the natural-image sets
of Guérin et al. (2021), and ClustPy's ImageNetDog.

An entry accepts ``<root>/<name>/<class>/<image>`` and the layout its official archive extracts to (a VOC devkit,
the Flowers-17 numbered files, flat ``obj<k>__<angle>.png`` files, the WordNet-id folders of a full ImageNet train
tree); every one is read by :func:`clustlib.data.folders.load_folder`. None has an automatic download.
"""

from __future__ import annotations

from pathlib import Path

from clustlib.data._files import missing_error
from clustlib.data.folders import NATURAL_SIZE, load_folder
from clustlib.data.registry import register_dataset
from clustlib.data.sources.flowers17 import scan_flowers17_archive
from clustlib.data.sources.folder import (FolderListing, scan_flat_folder, scan_image_folder,
                                          scan_selected_folders)
from clustlib.data.sources.voc import scan_voc2007_single_label

__all__ = ["IMAGENET10_WNIDS", "IMAGENET_DOGS_WNIDS", "CLUSTPY_DOG", "CLUSTPY_DOG_WNIDS"]

#: The 10 ImageNet classes of ImageNet-10 (DAC; Contrastive Clustering's datasets/ImageNet-10.txt).
IMAGENET10_WNIDS = ("n02056570", "n02085936", "n02128757", "n02690373", "n02692877", "n03095699", "n04254680",
                    "n04285008", "n04467665", "n07747607")
#: The 15 dog classes of ImageNet-Dogs (DAC; Contrastive Clustering's datasets/ImageNet-dogs.txt).
IMAGENET_DOGS_WNIDS = ("n02085936", "n02086646", "n02088238", "n02091467", "n02097130", "n02099601", "n02101388",
                       "n02101556", "n02102177", "n02105056", "n02105412", "n02105855", "n02107142", "n02110958",
                       "n02112137")


def _has_class_dirs(folder: Path) -> bool:
    return any(p.is_dir() and not p.name.startswith(".") for p in folder.iterdir())


def _register_tree(name: str, *, aliases: tuple = (), n_classes: int, default_image_size: int, url: str,
                   flat_pattern: str | None = None, wnids: tuple | None = None, voc: bool = False,
                   archive=None, archive_layout: str = "", **metadata) -> None:
    layout = f"<root>/{name}/<class>/<image>"
    if archive_layout:
        layout += f", or {archive_layout}"
    if flat_pattern:
        layout += f", or a flat folder of files named like {flat_pattern!r}"
    if wnids:
        layout += " (class folders named by WordNet id), or a full ImageNet train tree <root>/imagenet/train/"
    if voc:
        layout += ", or the official test archive extracted as <root>/VOCdevkit/VOC2007/"
    how = (f"download it from {url} and arrange it as {layout} (a tree elsewhere loads as "
           f"'folder:<path>'); there is no automatic download.")

    def locate(root: Path, split: str) -> FolderListing:
        candidates = [root / name, *(root / a for a in aliases)]
        for folder in candidates:
            if not folder.is_dir():
                continue
            if voc and (folder / "ImageSets" / "Main" / "test.txt").is_file():
                return scan_voc2007_single_label(folder, dataset=name)
            if wnids and all((folder / w).is_dir() for w in wnids):
                return scan_selected_folders(folder, wnids, dataset=name)
            if archive is not None and (listing := archive(folder, dataset=name)) is not None:
                return listing
            if _has_class_dirs(folder):
                return scan_image_folder(folder, dataset=name)
            if flat_pattern:
                return scan_flat_folder(folder, flat_pattern, dataset=name)
        raise missing_error(name, candidates, how, what="its image folder")

    register_dataset(
        name, locate=locate, n_classes=n_classes, splits={"all": None}, default_image_size=default_image_size,
        source_url=url, how_to_get=how, layout=layout, offline="no (needs the image tree under the data root)",
        **metadata,
    )(load_folder)


_GUERIN = "Used by Guerin et al. (2021), Table 1, with this number of images and classes."
def _register_imagenet_subset(name: str, wnids: tuple, listed_in: str, *, paper_n_samples: int, **metadata) -> None:
    """Classes ``wnids`` (the constant ``listed_in`` of this module) of the ILSVRC2012 train split, as DAC selected
    them, in their own folder or a full ImageNet train tree."""
    _register_tree(
        name, aliases=("imagenet/train", "ILSVRC/Data/CLS-LOC/train"), n_classes=len(wnids), default_image_size=224,
        url=f"https://image-net.org/download.php (ILSVRC2012 train, the {len(wnids)} classes in "
            f"clustlib.data.catalog.{listed_in})",
        wnids=wnids, paper_n_samples=paper_n_samples, license="ImageNet terms of access (non-commercial research)",
        citation="J. Chang, L. Wang, G. Meng, S. Xiang, C. Pan, Deep adaptive image clustering, ICCV 2017.",
        **metadata,
    )


_register_imagenet_subset(
    "imagenet10", IMAGENET10_WNIDS, "IMAGENET10_WNIDS", paper_n_samples=13000, task="objects",
    description="ImageNet-10: 10 ImageNet train classes, 1,300 images each (DAC, CC, DeepCluE, MMDC)",
    notes="MMDC stores these at 96x96; CC and DeepCluE resize to 224; ClustPy flattens 224x224x3.",
)
_register_imagenet_subset(
    "imagenet_dogs", IMAGENET_DOGS_WNIDS, "IMAGENET_DOGS_WNIDS", paper_n_samples=19500, task="fine-grained",
    description="ImageNet-Dogs: 15 ImageNet dog breeds from the train split (DAC, CC, DeepCluE)",
    notes="ClustPy's benchmark reports N = 2,574 for its ImageNetDog (a different selection).",
)
_register_tree(
    "tiny_imagenet", aliases=("tiny-imagenet-200/train",), n_classes=200, default_image_size=64,
    url="http://cs231n.stanford.edu/tiny-imagenet-200.zip (train split)", paper_n_samples=100000,
    task="objects", description="Tiny-ImageNet train split: 200 classes x 500 images, 64x64 RGB",
    license="ImageNet terms of access (non-commercial research)",
    citation="Y. Le, X. Yang, Tiny ImageNet visual recognition challenge, CS231N, 2015.",
)
_register_tree(
    "voc2007", aliases=("VOCdevkit/VOC2007",), n_classes=20, default_image_size=NATURAL_SIZE, voc=True,
    url="http://host.robots.ox.ac.uk/pascal/VOC/voc2007/ (VOCtest_06-Nov-2007.tar)", paper_n_samples=2841,
    task="objects", description="PASCAL VOC2007 test images showing a single object class (20 classes)",
    license="Flickr terms of use (research)",
    citation="M. Everingham et al., The PASCAL Visual Object Classes Challenge 2007 (VOC2007) Results, 2007.",
    notes=_GUERIN + " Images with objects of two or more classes are removed.",
)
_register_tree(
    "coil100", aliases=("coil-100",), n_classes=100, default_image_size=128,
    flat_pattern=r"obj(?P<label>\d+)__\d+\.png",
    url="https://www.cs.columbia.edu/CAVE/software/softlib/coil-100.php", paper_n_samples=7200,
    task="objects", description="COIL-100: 100 objects x 72 poses, 128x128 RGB",
    license="research use", citation="S. Nene, S. Nayar, H. Murase, Columbia Object Image Library (COIL-100), "
                                     "CUCS-006-96, 1996.",
    notes=_GUERIN + " The official archive (flat obj<k>__<angle>.png files) loads as it is.",
)
_register_tree(
    "archi", aliases=("arcDataset",), n_classes=25, default_image_size=NATURAL_SIZE,
    url="https://sites.google.com/site/zhexuutssjtu/projects/arch (Architectural Style dataset)",
    paper_n_samples=4794, task="scenes", description="Architectural styles: 25 classes (4,794 images)",
    license="research use",
    citation="Z. Xu, D. Tao, Y. Zhang, J. Wu, A. C. Tsoi, Architectural style classification using multinomial "
             "latent logistic regression, ECCV 2014.",
    notes=_GUERIN,
)
_register_tree(
    "mit_indoor", aliases=("indoorCVPR_09/Images", "Images"), n_classes=67, default_image_size=NATURAL_SIZE,
    url="https://web.mit.edu/torralba/www/indoor.html (indoorCVPR_09.tar)", paper_n_samples=15620,
    task="scenes", description="MIT Indoor scenes: 67 classes (15,620 images)", license="research use",
    citation="A. Quattoni, A. Torralba, Recognizing indoor scenes, CVPR 2009.", notes=_GUERIN,
)
_PAPER_SELECTION = (" Which {n} images the paper used is not published: the full profiles of studies 01 and 03 draw a "
                    "stratified subset of {n} (subsets: {{{name}: {n}}}, seed 0) from the {total}.")
_register_tree(
    "flowers17", aliases=("flowers", "17flowers"), n_classes=17, default_image_size=NATURAL_SIZE,
    url="https://www.robots.ox.ac.uk/~vgg/data/flowers/17/ (17flowers.tgz: 80 images per class, in class order)",
    archive=scan_flowers17_archive,
    archive_layout="the official archive extracted as it is: <root>/flowers17/jpg/image_0001.jpg ... image_1360.jpg",
    paper_n_samples=400, task="fine-grained", description="Oxford 17 Flowers: 17 flower species",
    license="research use",
    citation="M.-E. Nilsback, A. Zisserman, Delving deeper into the whorl of flower segmentation, IVC 28, 2010.",
    notes=_GUERIN + " The official archive (1,360 images, jpg/image_NNNN.jpg, 80 per class in class order, no label "
                    "file) loads as it is: image n is class (n - 1) // 80." +
          _PAPER_SELECTION.format(n=400, name="flowers17", total="1,360"),
)
_register_tree(
    "birds", aliases=("CUB_200_2010/images", "images"), n_classes=200, default_image_size=NATURAL_SIZE,
    url="https://www.vision.caltech.edu/datasets/cub_200/ (CUB-200 2010, images.tgz)", paper_n_samples=2800,
    task="fine-grained", description="Caltech-UCSD Birds 200 (2010): 200 bird species", license="research use",
    citation="P. Welinder et al., Caltech-UCSD Birds 200, CNS-TR-2010-001, Caltech, 2010.",
    notes="The paper's Table 1 gives 2,800 images for Birds and 6,033 for FEI; CUB-200 (2010) has 6,033 and FEI "
          "2,800 (200 x 14): the two counts look swapped.",
)
_register_tree(
    "umist", aliases=("umist_cropped",), n_classes=20, default_image_size=NATURAL_SIZE,
    url="https://www.visioneng.org.uk/datasets/ (Sheffield/UMIST face database, cropped)", paper_n_samples=564,
    task="faces", description="UMist (Sheffield) faces: 20 people, grey images replicated to RGB",
    license="research use",
    citation="D. B. Graham, N. M. Allinson, Characterising virtual eigensignatures for general purpose face "
             "recognition, Face Recognition, Springer, 1998.",
    notes=_GUERIN + " The cropped database has 575 images (the tutorial of Guerin et al. loads 575); the paper says "
                    "564." + _PAPER_SELECTION.format(n=564, name="umist", total="575"),
)
_register_tree(
    "fei", aliases=("originalimages",), n_classes=200, default_image_size=NATURAL_SIZE,
    flat_pattern=r"(?P<label>\d+)-\d+\.jpg",
    url="https://fei.edu.br/~cet/facedatabase.html (originalimages_part1..4.zip)", paper_n_samples=6033,
    task="faces", description="FEI faces: 200 people x 14 images, 640x480 RGB", license="research use",
    citation="C. E. Thomaz, G. A. Giraldi, A new ranking method for principal components analysis and its "
             "application to face image analysis, IVC 28, 2010.",
    notes="The official zips extract to flat <person>-<shot>.jpg files, which load as they are. See 'birds' for "
          "the image counts of the paper's Table 1.",
)


#: ClustPy's "ImageNetDog" (Leiber et al. 2023, Table II; ClustPy's loader): 15 Stanford Dogs breeds, 2,574 images.
#: Its list is DAC's ImageNet-Dogs list (:data:`IMAGENET_DOGS_WNIDS`) with n02097209 (standard schnauzer) in place
#: of n02097130 (giant schnauzer); DAC's 19,500-image ``imagenet_dogs`` is another selection.
CLUSTPY_DOG_WNIDS = ("n02085936", "n02086646", "n02088238", "n02091467", "n02097209", "n02099601", "n02101388",
                     "n02101556", "n02102177", "n02105056", "n02105412", "n02105855", "n02107142", "n02110958",
                     "n02112137")
CLUSTPY_DOG = "imagenet_dog_clustpy"
_DOG_FOLDERS = ("stanford_dogs/Images", "StanfordDogs/Images", "Images")


def _locate_clustpy_dogs(root: Path, split: str):
    """Stanford Dogs as its archive extracts (``<root>/stanford_dogs/Images/<wnid>-<breed>/*.jpg``): the 15 breeds
    of :data:`CLUSTPY_DOG_WNIDS`, labelled in that order."""
    looked = [Path(root) / f for f in _DOG_FOLDERS]
    for folder in looked:
        if folder.is_dir():
            names = {d.name.split("-", 1)[0]: d.name for d in folder.iterdir() if d.is_dir()}
            if all(w in names for w in CLUSTPY_DOG_WNIDS):
                return scan_selected_folders(folder, [names[w] for w in CLUSTPY_DOG_WNIDS], dataset=CLUSTPY_DOG)
    raise missing_error(CLUSTPY_DOG, looked, _DOG_HOW, what="the Stanford Dogs image folders")


_DOG_HOW = ("download images.tar from http://vision.stanford.edu/aditya86/ImageNetDogs/ and extract it to "
            "<data root>/stanford_dogs/ (giving stanford_dogs/Images/n02085936-Maltese_dog/...); there is no "
            "automatic download.")


def _register_clustpy_dogs() -> None:
    register_dataset(
        CLUSTPY_DOG, locate=_locate_clustpy_dogs, n_classes=15, splits={"all": None}, default_image_size=224,
        source_url="http://vision.stanford.edu/aditya86/ImageNetDogs/", how_to_get=_DOG_HOW,
        layout="<data root>/stanford_dogs/Images/<wnid>-<breed>/<image>.jpg", paper_n_samples=2574,
        offline="no (needs the Stanford Dogs image tree under the data root)", task="fine-grained",
        description="ImageNetDog of the ClustPy benchmark: 15 Stanford Dogs breeds, 2,574 images at 224 px",
        license="Stanford Dogs terms (ImageNet images, non-commercial research)",
        citation="A. Khosla, N. Jayadevaprakash, B. Yao, F.-F. Li, Novel dataset for fine-grained image "
                 "categorization: Stanford Dogs, CVPR FGVC workshop 2011.",
        notes="Not DAC's 19,500-image imagenet_dogs: one breed differs (n02097209 for n02097130).",
    )(load_folder)


_register_clustpy_dogs()
