"""Basis pursuit by general-purpose convex solvers (``family="bp"``): the linear program
(:mod:`.lp`, SciPy HiGHS) and the cvxpy references for BP and BPDN (:mod:`.convex`; its BPDN is
``family="l1"``, its BP the reason it sits here beside the LP). ADMM and homotopy BP live with
their algorithms in :mod:`cstoolkit.solvers.l1`.
"""
