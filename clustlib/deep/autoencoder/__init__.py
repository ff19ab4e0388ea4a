"""The autoencoder family (ClustPy benchmark, Leiber et al. 2023): pretrain an autoencoder (cached), cluster its
embedding, train the method, re-cluster.

- :mod:`~clustlib.deep.autoencoder.base`: :class:`DeepClusterer` (the shared parameters and checks, pretraining,
  the initial clustering, the final k-means, ``transform``/``predict``);
- one module per method: :mod:`~.aekmeans` (AE+KMeans), :mod:`~.dec` (DEC, IDEC), :mod:`~.dcn` (DCN),
  :mod:`~.acedec` (ACe/DeC), :mod:`~.dipencoder` (DipEncoder);
- :mod:`~.pretrain` (cached pretraining), :mod:`~.training` (the mini-batch epoch every method of the family
  runs on the engine), :mod:`~.preprocessing` (z-scored inputs), :mod:`~.run` (:func:`run_deep_clustering`, one
  benchmark job).

Nothing is imported here (``clustlib.deep`` resolves the public names lazily).
"""
