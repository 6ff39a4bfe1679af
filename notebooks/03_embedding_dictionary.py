# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # A dictionary for an embedding table, and what its atoms mean
#
# The token-embedding matrix of all-MiniLM-L6-v2 (30 522 tokens × 384 dimensions) is
# approximated as sparse combinations of a few learned atoms. Dictionary learners follow
# scikit-learn's row convention: samples (tokens) are rows, `components_` is
# `(n_atoms, n_features)`. We learn 64 atoms on a subsample of word tokens with a
# registered learner (approximate K-SVD, Rubinstein et al. 2008, with an OMP coder) and list, for some atoms, the tokens whose
# embeddings point in the atom's direction.

# %%
import numpy as np

import cstoolkit as cs

E = cs.load_embeddings("minilm")
tokens = np.array(E.tokens)
data = np.asarray(E.data, dtype=np.float64)
print(E.data.shape, cs.available_learners())

# plain lower-case word pieces only (no [unused], ##suffixes, digits or punctuation)
words = np.flatnonzero([t.isalpha() and t.islower() and len(t) > 2 for t in tokens])
rng = np.random.default_rng(0)
sample = rng.choice(words, size=2000, replace=False)
Xs = data[sample] / np.linalg.norm(data[sample], axis=1, keepdims=True)    # (2000, 384) rows = tokens

# %%
learner = cs.make_learner(
    "aksvd", n_atoms=64, coder=cs.make_recoverer("omp", n_nonzero_coefs=4), max_iter=10, random_state=0
)
learner.fit(Xs)
D = learner.components_                                     # (64, 384), unit-norm atoms
codes = learner.transform(Xs)
codes = codes.toarray() if hasattr(codes, "toarray") else np.asarray(codes)
rel = np.linalg.norm(Xs - codes @ D) / np.linalg.norm(Xs)
print(f"4 atoms per token, 64 atoms: relative reconstruction error {rel:.3f}")
assert D.shape == (64, 384) and rel < 1.0

# %% [markdown]
# Nearest tokens of an atom: cosine similarity between the atom and every word token of
# the full vocabulary.

# %%
W = data[words] / np.linalg.norm(data[words], axis=1, keepdims=True)
sims = W @ D.T                                              # (n_words, 64)
usage = np.count_nonzero(codes, axis=0)
for j in np.argsort(-usage)[:8]:
    top = tokens[words[np.argsort(-sims[:, j])[:8]]]
    print(f"atom {j:2d} (used by {usage[j]:4d} tokens): {', '.join(top)}")
