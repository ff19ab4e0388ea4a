"""Study 6 helpers (clustlib.studies.clustpy_benchmark): parameter checks before compute, experiment inputs."""

from __future__ import annotations

import numpy as np
import pytest

from clustlib import data
from clustlib.deep import zscore_images
from clustlib.errors import InvalidParameter
from clustlib.studies import clustpy_benchmark as bench


@pytest.mark.parametrize("kwargs,match", [
    (dict(methods=["deck"]), "Unknown method"),
    (dict(experiments=["J"]), "Unknown experiment"),
    (dict(seeds=[]), "at least one seed"),
    (dict(initial_clusterings=["dbscan"]), "Unknown initial clustering"),
    (dict(conv_epochs=[5]), "conv_epochs"),
    (dict(amp="fp8"), "amp must be one of"),
    (dict(method_params={"acedek": {}}), "unknown method"),
    (dict(method_params={"dec": {"alpah": 1.0}}), "unknown argument"),
])
def test_validate_refuses_bad_parameters(kwargs, match):
    args = dict(methods=["dec"], experiments=["A"], seeds=[0])
    args.update({k: kwargs.pop(k) for k in list(kwargs) if k in args})
    with pytest.raises(InvalidParameter, match=match):
        bench.validate(args["methods"], args["experiments"], args["seeds"], **kwargs)


def test_validate_accepts_the_profiles_overrides():
    bench.validate(["acedec", "dec"], list(bench.EXPERIMENTS), [0, 1], initial_clusterings=list(bench.INIT_NAMES),
                   method_params={"acedec": {"init_iterations": 2000}}, amp="on")


def test_augmentation_params_put_a_black_pixel_where_the_zscore_puts_it():
    digits = data.load("digits")
    params = bench.augmentation_params(digits)
    assert params["augmentation"] == "affine" and params["image_shape"] == (8, 8, 1)
    X, _ = bench.prepare_inputs(digits, "ff_500_500_2000")
    black = np.flatnonzero(digits.images.reshape(len(digits), -1) == 0)[0]
    assert np.isclose(X.reshape(-1)[black], params["augmentation_fill"][0], atol=1e-5)
    assert np.allclose(X, zscore_images(digits.images, "global"))


def test_stratified_subsets_keep_every_class():
    digits = data.load("digits")
    cut = bench.stratified_subsets({"digits": digits}, 100, seed=0)["digits"]
    assert len(cut) == 100 and set(cut.labels) == set(range(10))
    assert bench.stratified_subsets({"digits": digits}, 0)["digits"] is digits
