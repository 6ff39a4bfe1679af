"""The block-size check shared by the structured solvers (contiguous blocks of equal size)."""


def check_blocks(n, g, owner):
    """Raise a ValueError naming ``owner`` unless blocks of ``g`` coefficients tile ``n``."""
    if n % g:
        raise ValueError(f"{owner}: the {n} coefficients do not split into blocks of {g}; "
                         f"choose a block size that divides {n}.")
