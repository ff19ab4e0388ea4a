"""MMDC's named settings: the thesis's row of each dataset and the README command of each.

A preset is a tag of the registered ``mmdc`` method (:func:`clustlib.deep.create_method`, ``preset=``) and a key
of :data:`PRESETS` (:meth:`clustlib.deep.MMDC.from_preset`).
"""

from __future__ import annotations

__all__ = ["MMDC_SETTINGS", "MMDC_README_SETTINGS", "PRESETS"]


#: Keyword arguments of :class:`MMDC` for each dataset as the thesis trains it (Sec. 4.2 and 4.4; inputs as
#: the code feeds them: pixels in [0, 1], train + test). From the thesis: lr 0.05, weight decay 1e-4 for
#: CIFAR-100 and Tiny-ImageNet and 5e-4 otherwise, 400 epochs with the learning rate / 5 after epoch 350
#: (MNIST: 50, / 10 after 40), RotNet for all but MNIST, refinement for MNIST only. From the README
#: commands, where the thesis is silent: MNIST's refine_epoch 20, the crop sizes and input sizes, MNIST's
#: rotation of +-25 degrees. ``refine_epoch=None``: no refinement stage.
_THESIS_MNIST = dict(network="vgg", rotation=False, lr=0.05, weight_decay=5e-4, epochs=50, lr_milestones=(40,),
                     lr_gamma=0.1, refine_epoch=20, crop_sizes=(24, 20, 16), input_size=32, flip=False,
                     color_jitter=False, rotation_degrees=25.0)
_THESIS_RESNET = dict(network="resnet18", rotation=True, lr=0.05, weight_decay=5e-4, epochs=400, lr_milestones=(350,),
                      lr_gamma=0.2, refine_epoch=None, flip=True, color_jitter=True, rotation_degrees=0.0)
MMDC_SETTINGS: dict[str, dict] = {
    "mnist": _THESIS_MNIST,
    "cifar10": dict(_THESIS_RESNET, crop_sizes=(20,), input_size=32),
    "cifar100_20": dict(_THESIS_RESNET, weight_decay=1e-4, crop_sizes=(20,), input_size=32),
    "stl10": dict(_THESIS_RESNET, crop_sizes=(64,), input_size=64),
    "imagenet10": dict(_THESIS_RESNET, crop_sizes=(64,), input_size=64),
    "tiny_imagenet": dict(_THESIS_RESNET, weight_decay=1e-4, crop_sizes=(40,), input_size=64),
}
#: The README command of each dataset: as :data:`MMDC_SETTINGS` but the learning rate / 5 at epoch 300 and
#: refinement from epoch 350 of 400 on every ResNet18 dataset (MNIST's command is the thesis's schedule).
MMDC_README_SETTINGS: dict[str, dict] = {
    name: dict(kw, lr_milestones=(300,), refine_epoch=350) if kw["network"] == "resnet18" else dict(kw)
    for name, kw in MMDC_SETTINGS.items()
}
#: Named settings for :meth:`MMDC.from_preset`: ``"thesis_<dataset>"`` and ``"readme_<dataset>"``.
PRESETS: dict[str, dict] = {**{f"thesis_{name}": kw for name, kw in MMDC_SETTINGS.items()},
                            **{f"readme_{name}": kw for name, kw in MMDC_README_SETTINGS.items()}}

#: What ``None`` means for each network: the thesis's MNIST and CIFAR-10 rows.
_NETWORK_DEFAULTS = {
    "vgg": {k: _THESIS_MNIST[k] for k in ("rotation", "epochs", "lr_milestones", "lr_gamma", "refine_epoch", "flip",
                                          "color_jitter", "rotation_degrees")},
    "resnet18": {k: _THESIS_RESNET[k] for k in ("rotation", "epochs", "lr_milestones", "lr_gamma", "refine_epoch",
                                                "flip", "color_jitter", "rotation_degrees")},
}
