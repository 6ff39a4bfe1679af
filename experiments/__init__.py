"""One module per figure; run with ``python -m experiments.<name> [--quick] [--n-jobs N]``."""
