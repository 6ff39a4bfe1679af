"""Greedy pursuits (``family="greedy"``): OMP and MP (:mod:`.pursuit`, compiled OMP kernels in
:mod:`._omp_numba`, batched NumPy ones in :mod:`._omp_kernels`), and the hard-thresholding /
stagewise pursuits (:mod:`.thresholding`: IHT, NIHT, HTP, CoSaMP, SP, StOMP, Maleki–Donoho presets).

Modules are imported by :mod:`cstoolkit.solvers`, which runs their ``@register`` lines.
"""
