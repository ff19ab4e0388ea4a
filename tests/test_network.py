"""Download paths (marked ``network``: skipped unless CLUSTLIB_NETWORK=1). The real download code is kept
for users with a network; offline, the loaders are tested on files written in the official formats."""

import pytest

from clustlib import data

pytestmark = pytest.mark.network


@pytest.mark.parametrize("name,n_images", [("optdigits", 5620), ("usps", 9298)])
def test_download_then_load(tmp_path, name, n_images):
    folder = data.download(name, root=tmp_path)
    assert folder.exists()
    imageset = data.load(name, root=tmp_path)
    assert len(imageset) == n_images and imageset.n_classes == 10
