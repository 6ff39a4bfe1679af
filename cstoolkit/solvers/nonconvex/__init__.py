"""Beyond ℓ1 (``family="beyond-l1"``): smoothed ℓ0 (:mod:`.sl0`), reweighted ℓ1 and IRLS
(:mod:`.reweighted`).
"""
