"""Fits the policy's predicted blind score (policy.score in config/default.yaml) to blind-judged candidates.

Input: JSONL rows {post, system, reply, score (the blind 1-5), logprob (the generator's mean log-probability per
token, as the engine computes it: repetition penalty and temperature applied, stop token excluded), judge (the
judge's logit)}; rows of the systems `human` and `tone` only give each post's tone-reply score.
Prints the least-squares weights of bias + logprob + judge + chars, their leave-one-post-out correlation, and for each
threshold what choosing the best-predicted candidate per post, else the tone reply, would have scored.
"""
import json

import numpy as np


def fit(path, thresholds=(2.8, 3.0, 3.1, 3.2, 3.3)):
    rows = [json.loads(line) for line in open(path, encoding='utf-8') if line.strip()]
    gen = [r for r in rows if r['system'] not in ('human', 'tone')]
    tone = {r['post']: r['score'] for r in rows if r['system'] == 'tone'}
    x = np.array([[1.0, r['logprob'], r['judge'], len(r['reply'])] for r in gen])
    y = np.array([r['score'] for r in gen], dtype=float)
    posts = sorted({r['post'] for r in gen})
    held_out = np.zeros(len(gen))
    for p in posts:
        train = [i for i, r in enumerate(gen) if r['post'] != p]
        test = [i for i, r in enumerate(gen) if r['post'] == p]
        held_out[test] = x[test] @ np.linalg.lstsq(x[train], y[train], rcond=None)[0]
    w = np.linalg.lstsq(x, y, rcond=None)[0]
    result = {'candidates': len(gen), 'posts': len(posts),
              'weights': dict(zip(('bias', 'logprob', 'judge', 'chars'), np.round(w, 4).tolist())),
              'held_out_correlation': round(float(np.corrcoef(held_out, y)[0, 1]), 3),
              'correlation_alone': {k: round(float(np.corrcoef([r[k] for r in gen], y)[0, 1]), 3) for k in ('logprob', 'judge')},
              'thresholds': []}
    for t in thresholds:
        got, used = [], 0
        for p in posts:
            best = max((i for i, r in enumerate(gen) if r['post'] == p), key=lambda i: held_out[i])
            if held_out[best] >= t:
                got.append(y[best])
                used += 1
            else:
                got.append(tone[p])
        got = np.array(got)
        result['thresholds'].append({'minScore': t, 'generated': used, 'mean': round(float(got.mean()), 2),
                                     'good': round(float((got >= 4).mean()), 2), 'bad': round(float((got <= 2).mean()), 2)})
    return result
