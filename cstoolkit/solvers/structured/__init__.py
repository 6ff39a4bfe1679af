"""Structured and nonnegative sparsity (``family="structured"``): group Lasso by ADMM
(:mod:`.group_lasso`) and block-OMP / NNOMP (:mod:`.block_omp`).

Nonnegative basis pursuit and the nonnegative Lasso are the ``positive=True`` options of
:class:`~cstoolkit.BasisPursuitLP`, :class:`~cstoolkit.ADMMBasisPursuit` and
:class:`~cstoolkit.ADMMLasso`; :class:`~cstoolkit.BlockOMP` with ``positive=True`` is NNOMP.
"""
