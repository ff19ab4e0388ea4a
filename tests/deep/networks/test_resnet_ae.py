"""The ResNet18 convolutional autoencoder (clustlib.deep.networks.resnet_ae) and image inputs to the methods."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from clustlib.deep import DEC, build_autoencoder, pretrain_autoencoder
from clustlib.errors import InvalidParameter


pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.parametrize("shape", [(3, 32, 32), (1, 32, 32), (3, 64, 32)])
def test_resnet18_autoencoder_shapes(shape):
    ae = build_autoencoder("resnet18", shape, 10, seed=0).eval()
    x = torch.randn(2, *shape)
    with torch.no_grad():
        z = ae.encode(x)
        assert z.shape == (2, 10)
        assert ae.decode(z).shape == (2, *shape)
    # The ImageNet stem is kept: a 7x7 stride-2 first conv and a max-pool.
    assert ae.conv_encoder.conv1.kernel_size == (7, 7) and ae.conv_encoder.conv1.stride == (2, 2)
    assert isinstance(ae.conv_encoder.maxpool, torch.nn.MaxPool2d)
    linears = [m for m in ae.fc_encoder.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(512, 10)]


@pytest.mark.parametrize("shape", [(3, 28, 28), (3, 32), 784])
def test_resnet18_autoencoder_rejects_bad_shapes(shape):
    with pytest.raises(InvalidParameter):
        build_autoencoder("resnet18", shape, 10)


def test_images_flow_through_pretraining_and_dec(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(24, 1, 32, 32)).astype(np.float32)
    X[12:] += 2.0  # two groups
    res = pretrain_autoencoder(X, network="resnet18", embedding_size=4, epochs=1, batch_size=12,
                               cache_dir=tmp_path, progress=False)
    assert res.autoencoder.input_shape == (1, 32, 32)
    est = DEC(2, autoencoder=res.autoencoder, embedding_size=4, clustering_epochs=1, batch_size=12,
              kmeans_n_init=2, random_state=0, progress=False).fit(X)
    assert est.labels_.shape == (24,) and est.transform(X).shape == (24, 4)
    with pytest.raises(InvalidParameter, match="takes"):
        pretrain_autoencoder(X.reshape(24, -1), network="resnet18", cache_dir=tmp_path, progress=False)
