"""Turn a pair's evidence matrices into per-sentence claim choices.

Three steps, all pure numpy:

1. ``pair_features`` stacks a few evidence features for every (response
   sentence, claim sentence) cell; compare/align.py weighs them (weights
   fitted by benchmarks/fit_alignment.py) into one logit per cell.
2. ``posterior`` runs forward-backward over the response sentences with a
   ``transitions`` prior ("keep answering the same claim, especially inside a
   paragraph; otherwise move a little forward"). Whether a document follows
   such a sequence at all (peer-review rebuttals do, political rebuttals
   mostly don't) is decided from the document itself: align.py compares the
   likelihood of the sequence model with that of independent choices.
"""

from __future__ import annotations

import numpy as np

FEATURES = (
    "cosine_z",  # model cosine, standardized over the pair's whole matrix
    "lexical",  # IDF-weighted term overlap within the pair
    "specific",  # shared names, acronyms, numbers, quoted phrases
    "paragraph_cosine_z",  # mean cosine_z over the claim's paragraph (a point can span one)
    "paragraph_lexical",  # best lexical overlap within the claim's paragraph
)
# With the default model, one more: the cosine of its tuned companion (mpnet tuned for the
# task), standardized like `cosine_z` (compare/embed.py, TUNED_MODEL).
TUNED_FEATURE = "tuned_cosine_z"


def zscore(m: np.ndarray) -> np.ndarray:
    """Standardize over the whole array (a document's own score distribution)."""
    if not m.size:
        return m
    sd = float(m.std())
    return (m - float(m.mean())) / (sd if sd > 1e-6 else 1.0)


def pair_features(
    cosine: np.ndarray,
    overlap: np.ndarray,
    specific: np.ndarray,
    claim_paragraphs: np.ndarray | None = None,
    tuned: np.ndarray | None = None,
) -> np.ndarray:
    """(responses, claims, len(FEATURES)) feature array, or len(FEATURES) + 1 with
    `tuned`.

    claim_paragraphs: paragraph number of every claim sentence (None: each
    sentence is its own paragraph).
    tuned: the tuned model's cosine matrix, when there is one.
    """
    z = zscore(cosine)
    n_c = cosine.shape[1]
    para = np.arange(n_c) if claim_paragraphs is None else np.asarray(claim_paragraphs)
    para_z = np.empty_like(z)
    para_lex = np.empty_like(overlap)
    for k in np.unique(para):
        cols = para == k
        para_z[:, cols] = z[:, cols].mean(axis=1, keepdims=True)
        para_lex[:, cols] = overlap[:, cols].max(axis=1, keepdims=True)
    features = [z, overlap, specific, para_z, para_lex]
    if tuned is not None:
        features.append(zscore(np.asarray(tuned, np.float64)))
    return np.stack(features, axis=-1)


def softmax(logits: np.ndarray, axis: int = -1) -> np.ndarray:
    e = np.exp(logits - logits.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def transitions(n_c: int, stay: float, forward: float, reach: float) -> np.ndarray:
    """Row-stochastic claim-to-claim transition matrix.

    stay: keep answering the same claim; forward: move to a later claim, nearer
    ones likelier (decay length `reach` claims); the rest is uniform.
    """
    idx = np.arange(n_c)
    jump = idx[None, :] - idx[:, None]
    fwd = np.where(jump > 0, np.exp(-(jump - 1) / max(reach, 1e-3)), 0.0)
    sums = fwd.sum(axis=1, keepdims=True)
    fwd = np.divide(fwd, sums, out=np.zeros_like(fwd), where=sums > 0)
    # The last claim cannot move forward: its forward mass stays put.
    fwd[sums[:, 0] == 0, :] = 0.0
    t = stay * np.eye(n_c) + forward * fwd + (1 - stay - forward) / n_c
    t[sums[:, 0] == 0] += forward * np.eye(n_c)[sums[:, 0] == 0]
    return t / t.sum(axis=1, keepdims=True)


def posterior(emission: np.ndarray, trans, loglik: bool = False):
    """Forward-backward marginals P(claim | all sentences) per response sentence.

    trans: one (claims x claims) matrix, or a list with one per step
    (trans[r] leads from sentence r to sentence r + 1).
    """
    n_r, n_c = emission.shape
    emission = np.maximum(emission, 1e-300)  # no row may vanish entirely
    step = (lambda r: trans) if isinstance(trans, np.ndarray) and trans.ndim == 2 else (lambda r: trans[r])
    alpha = np.zeros((n_r, n_c))
    beta = np.ones((n_r, n_c))
    a = emission[0] / n_c
    alpha[0] = a / a.sum()
    ll = float(np.log(a.sum()))
    for r in range(1, n_r):
        a = (alpha[r - 1] @ step(r - 1)) * emission[r]
        alpha[r] = a / a.sum()
        ll += float(np.log(a.sum()))
    for r in range(n_r - 2, -1, -1):
        b = step(r) @ (emission[r + 1] * beta[r + 1])
        beta[r] = b / b.sum()
    g = alpha * beta
    g = g / g.sum(axis=1, keepdims=True)
    return (g, ll) if loglik else g
