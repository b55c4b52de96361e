"""Fits the policy's predicted blind score (policy.score in config/default.yaml) to blind-judged candidates.

Input: JSONL rows {post, system, reply, score (the blind 1-5), logprob (the generator's mean log-probability per
token, as the engine computes it: repetition penalty and temperature applied, stop token excluded), judge (the
judge's logit)}, or for a praise retrieved from the corpus {…, judge, similarity} (policy.retrievedScore); rows of
the systems `human` and `tone` only give each post's tone-reply score.
Prints the least-squares weights of bias + logprob + judge + chars, their leave-one-post-out correlation, and for each
threshold what choosing the best-predicted candidate per post, else the tone reply, would have scored.
"""
import json

import numpy as np


GENERATED = ('bias', 'logprob', 'judge', 'chars')
RETRIEVED = ('bias', 'judge', 'similarity', 'chars')


def _features(r):
    """A candidate's terms: a retrieved praise (it has a `similarity`) has no log-probability (policy.retrievedScore)."""
    if 'similarity' in r:
        return [1.0, r['judge'], r['similarity'], len(r['reply'])]
    return [1.0, r['logprob'], r['judge'], len(r['reply'])]


def _fit(cands, names):
    """Least-squares weights over `cands`, and each candidate's leave-one-post-out prediction."""
    x = np.array([_features(r) for r in cands])
    y = np.array([r['score'] for r in cands], dtype=float)
    held_out = np.zeros(len(cands))
    for p in {r['post'] for r in cands}:
        train = [i for i, r in enumerate(cands) if r['post'] != p]
        test = [i for i, r in enumerate(cands) if r['post'] == p]
        held_out[test] = x[test] @ np.linalg.lstsq(x[train], y[train], rcond=None)[0]
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    return dict(zip(names, np.round(w, 4).tolist())), held_out


def fit(path, thresholds=(2.8, 3.0, 3.1, 3.2, 3.3)):
    """Generated and retrieved candidates (rows with a `similarity`) are fit apart, each with its own terms; the
    thresholds choose among both, as the policy does."""
    rows = [json.loads(line) for line in open(path, encoding='utf-8') if line.strip()]
    cands = [r for r in rows if r['system'] not in ('human', 'tone')]
    gen = [r for r in cands if 'similarity' not in r]
    ret = [r for r in cands if 'similarity' in r]
    tone = {r['post']: r['score'] for r in rows if r['system'] == 'tone'}
    y = np.array([r['score'] for r in gen + ret], dtype=float)
    weights, held_gen = _fit(gen, GENERATED)
    held_out = held_gen
    result = {'candidates': len(cands), 'posts': len({r['post'] for r in cands}), 'weights': weights}
    if ret:
        result['retrieved_weights'], held_ret = _fit(ret, RETRIEVED)
        held_out = np.concatenate([held_gen, held_ret])
    result['held_out_correlation'] = round(float(np.corrcoef(held_out, y)[0, 1]), 3)
    result['correlation_alone'] = {k: round(float(np.corrcoef([r[k] for r in gen], [r['score'] for r in gen])[0, 1]), 3)
                                   for k in ('logprob', 'judge')}
    result['thresholds'] = []
    both = gen + ret
    for t in thresholds:
        got, used = [], 0
        for p in sorted({r['post'] for r in both}):
            best = max((i for i, r in enumerate(both) if r['post'] == p), key=lambda i: held_out[i])
            if held_out[best] >= t:
                got.append(y[best])
                used += 1
            else:
                got.append(tone[p])
        got = np.array(got)
        result['thresholds'].append({'minScore': t, 'generated': used, 'mean': round(float(got.mean()), 2),
                                     'good': round(float((got >= 4).mean()), 2), 'bad': round(float((got <= 2).mean()), 2)})
    return result
