"""Multi-view clustering baselines of Guérin et al. (2021): MVSC and RMKKM with Gaussian kernels.

* :class:`MVSC`: co-regularised multi-view spectral clustering, pairwise variant (Kumar, Rai and
  Daumé III, NIPS 2011).
* :class:`RMKKM`: robust multiple kernel k-means with the L2,1 norm (Du et al., IJCAI 2015).

Both build one RBF kernel ``exp(-gamma ||x - y||^2)`` per view with ``gamma`` chosen by the Sigest
heuristic (Caputo et al. 2002, as in kernlab's ``sigest``), as Guérin et al. Section 6.1 state.
Each holds dense ``N x N`` kernels, which is why the paper reports N/A for its large datasets:
:func:`memory_reason` estimates the memory first, and ``fit`` raises :class:`MemoryBudgetExceeded`
(with the printable reason) before allocating anything.

Modules: :mod:`~.checks` (input checks), :mod:`~.synthetic` (:func:`make_multiview_blobs`), :mod:`~.kernels`
(Sigest, RBF kernels, the memory estimate), :mod:`~.mvsc`, :mod:`~.rmkkm`.

The ``*_jule`` variants of the paper are these estimators run on the per-view JULE embeddings
(:func:`clustlib.deep.mvnet.fit_view_jules`).

References
----------
A. Kumar, P. Rai, H. Daumé III, "Co-regularized Multi-view Spectral Clustering", NIPS 2011.
L. Du, P. Zhou, L. Shi, H. Wang, M. Fan, W. Wang, Y.-D. Shen, "Robust Multiple Kernel K-means using
L21-norm", IJCAI 2015; code https://github.com/csliangdu/RMKKM.
B. Caputo, K. Sim, F. Furesjo, A. Smola, "Appearance-based object recognition using SVMs: which
kernel should I use?", NIPS workshop 2002 (Sigest).
J. Guérin et al., "Combining pretrained CNN feature extractors to enhance clustering of complex
natural images", Neurocomputing 423 (2021), Sections 6.1-6.2.
"""

from clustlib.cluster.multiview.checks import check_views
from clustlib.cluster.multiview.kernels import kernel_memory_bytes, memory_reason, rbf_kernel, sigest
from clustlib.cluster.multiview.mvsc import MVSC
from clustlib.cluster.multiview.rmkkm import RMKKM
from clustlib.cluster.multiview.synthetic import make_multiview_blobs
from clustlib.errors import MemoryBudgetExceeded

__all__ = [
    "MVSC",
    "RMKKM",
    "MemoryBudgetExceeded",
    "check_views",
    "sigest",
    "rbf_kernel",
    "kernel_memory_bytes",
    "memory_reason",
    "make_multiview_blobs",
]
