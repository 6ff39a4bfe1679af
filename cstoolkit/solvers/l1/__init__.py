"""ℓ1-regularised solvers (``family="l1"``): ISTA/FISTA (:mod:`.proximal`), coordinate-descent
Lasso (:mod:`.cd`, compiled kernel :mod:`._cd_numba`), homotopy / LARS for the Lasso and BP
(:mod:`.homotopy`, compiled kernel :mod:`._homotopy_numba`), AMP (:mod:`.amp`) and the ADMM
family (:mod:`.admm`: Lasso, BPDN and BP by ADMM). :mod:`._common` holds the shared Lasso objective,
duality gap and λ scaling.

A module with solvers of two families sits with the majority of its classes (``admm``: two
``l1``, one ``bp``); ``homotopy`` (one ``l1``, one ``bp``) sits here because its algorithm is the
Lasso path, basis pursuit being its λ → 0 end point.
"""
