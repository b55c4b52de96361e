"""The post reader's second opinion: a bag of the post's character 1-, 2- and 3-grams, hashed into BUCKETS rows of a
table whose mean goes to the intent and distress heads (fastText's recipe). Trained alone on the reader's labelled
rows in seconds, it reads some posts better than the transformer reader and others worse, and the mean of the two
reads better than either on the held-out test split (models/kuakua-reader/README.md). The runtime
(worker/engine/ngramReader.ts) hashes a post the same way and reads the int8 table this module writes.

ngram.bin, little-endian: the table as int8 [BUCKETS, DIM], one float32 scale per row, the heads' weights as float32
[labels + 1, DIM] and their biases as float32 [labels + 1] (the last row is distress).
"""
import json
import os
import random
import re
import sys
import zlib

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from reader import is_dev, load_reader, pick_threshold, predict, read_rows, report, times_drawn

BUCKETS = 1 << 17
DIM = 32
ORDERS = (1, 2, 3)
NGRAM_FILE = 'ngram.bin'
# The bag reads Chinese: the intent of a post with fewer Han characters than this (🎉🎉, "ok") is the transformer's
# alone, where the bag's few n-grams, rare in training, would decide it (🎉🎉 read as tired). Its distress is mixed
# all the same, which the threshold is picked for.
MIN_HAN = 2
HAN = re.compile('[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ffff]')


def grams(text):
    """The bucket of each character n-gram of `^text$` (by code point): crc32 of the order and the n-gram, in UTF-8."""
    t = '^' + text + '$'
    return [zlib.crc32(f'{n}{t[i:i + n]}'.encode('utf-8')) % BUCKETS for n in ORDERS for i in range(len(t) - n + 1)]


class Bag(nn.Module):
    def __init__(self, labels):
        super().__init__()
        self.table = nn.EmbeddingBag(BUCKETS, DIM, mode='mean', sparse=True)
        # Zero, not torch's N(0, 1): a bucket no training post reached then adds nothing, where a random row made a
        # post of one repeated character read as distress.
        nn.init.zeros_(self.table.weight)
        self.heads = nn.Linear(DIM, labels + 1)

    def forward(self, ids, offsets):
        return self.heads(self.table(ids, offsets))


def _batch(feats):
    ids, offsets = [], []
    for f in feats:
        offsets.append(len(ids))
        ids += f
    return torch.tensor(ids, dtype=torch.long), torch.tensor(offsets, dtype=torch.long)


def train_bag(rows, labels, seed=7, epochs=5, lr=0.01, batch=64, written_repeat=2):
    """A Bag trained on rows (each written row drawn written_repeat times an epoch), deterministically for a seed."""
    torch.manual_seed(seed)
    model = Bag(len(labels))
    pool = [(grams(r['input']), r['intent'], float(r['distress'])) for r in rows for _ in range(times_drawn(r, written_repeat))]
    sparse = torch.optim.SparseAdam(list(model.table.parameters()), lr=lr)
    dense = torch.optim.Adam(model.heads.parameters(), lr=lr)
    rng = random.Random(seed)
    for _ in range(epochs):
        rng.shuffle(pool)
        for i in range(0, len(pool), batch):
            chunk = pool[i:i + batch]
            out = model(*_batch([c[0] for c in chunk]))
            loss = (F.cross_entropy(out[:, :-1], torch.tensor([c[1] for c in chunk]))
                    + F.binary_cross_entropy_with_logits(out[:, -1], torch.tensor([c[2] for c in chunk])))
            sparse.zero_grad()
            dense.zero_grad()
            loss.backward()
            sparse.step()
            dense.step()
    return model.eval()


def quantize(model):
    """The int8 table with one scale per row (its largest magnitude over 127), and the heads as float32."""
    table = model.table.weight.detach().numpy().astype(np.float32)
    scale = np.abs(table).max(axis=1) / 127
    scale[scale == 0] = 1
    return {'table': np.round(table / scale[:, None]).astype(np.int8), 'scale': scale.astype(np.float32),
            'weight': model.heads.weight.detach().numpy().astype(np.float32),
            'bias': model.heads.bias.detach().numpy().astype(np.float32)}


def read_q(q, texts):
    """Intent probabilities [n, labels] and distress probabilities [n] from the quantized bag: what the runtime computes."""
    probs, risk = [], []
    for text in texts:
        ids = grams(text)
        mean = (q['table'][ids].astype(np.float32) * q['scale'][ids, None]).mean(axis=0)
        logits = q['weight'] @ mean + q['bias']
        e = np.exp(logits[:-1] - logits[:-1].max())
        probs.append(e / e.sum())
        risk.append(1 / (1 + np.exp(-logits[-1])))
    return np.array(probs), np.array(risk)


def write_bin(q, path):
    with open(path, 'wb') as f:
        for key in ('table', 'scale', 'weight', 'bias'):
            f.write(np.ascontiguousarray(q[key]).astype(q[key].dtype.newbyteorder('<')).tobytes())


def load_bin(path, labels):
    raw = open(path, 'rb').read()
    sizes = [('table', np.int8, BUCKETS * DIM), ('scale', np.float32, BUCKETS), ('weight', np.float32, (labels + 1) * DIM),
             ('bias', np.float32, labels + 1)]
    q, at = {}, 0
    for key, dtype, n in sizes:
        q[key] = np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder('<'), count=n, offset=at)
        at += n * np.dtype(dtype).itemsize
    q['table'] = q['table'].reshape(BUCKETS, DIM)
    q['weight'] = q['weight'].reshape(labels + 1, DIM)
    return q


def intent_weight(text, weight):
    """The bag's share of this post's intent: weight, or 0 for a post with fewer than MIN_HAN Han characters."""
    return weight if len(HAN.findall(text)) >= MIN_HAN else 0.0


def mix(texts, reader_probs, reader_risk, bag_probs, bag_risk, weight):
    w = np.array([intent_weight(t, weight) for t in texts])
    return ((1 - w[:, None]) * np.asarray(reader_probs) + w[:, None] * bag_probs,
            (1 - weight) * np.asarray(reader_risk) + weight * bag_risk)


def add_to_reader(reader_dir, q, weight, threshold=None):
    """Writes the bag's ngram.bin into a reader directory and its entry (and a threshold for the mix) into config.json."""
    write_bin(q, os.path.join(reader_dir, NGRAM_FILE))
    path = os.path.join(reader_dir, 'config.json')
    with open(path, encoding='utf-8') as f:
        config = json.load(f)
    if threshold is not None:
        config['distress_threshold'] = threshold
    config['ngram'] = {'file': NGRAM_FILE, 'buckets': BUCKETS, 'dim': DIM, 'orders': list(ORDERS), 'weight': weight,
                       'min_han': MIN_HAN,
                       'input': "the post's character n-grams of ^post$, hashed by crc32 of the order and the n-gram"}
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)


def random_bag(reader_dir, seed=0):
    """A bag of random weights in a reader directory (tests)."""
    with open(os.path.join(reader_dir, 'config.json'), encoding='utf-8') as f:
        labels = json.load(f)['labels']
    torch.manual_seed(seed)
    model = Bag(len(labels))
    nn.init.normal_(model.table.weight, std=0.5)
    nn.init.normal_(model.heads.weight, std=0.5)
    add_to_reader(reader_dir, quantize(model), 0.5)


def train(args):
    """Trains the bag on the reader's training rows less its dev share, writes ngram.bin into the reader's directory,
    and re-picks the distress threshold for the mix on the dev share: the highest that keeps min_recall, or else the
    reader's own rule (the highest dev recall at min_precision)."""
    with open(os.path.join(args.data, 'labels.json'), encoding='utf-8') as f:
        labels = json.load(f)
    rows = read_rows(os.path.join(args.data, 'train.jsonl'))
    dev = [r for r in rows if is_dev(r)]
    bag = train_bag([r for r in rows if not is_dev(r)], labels, seed=args.seed, epochs=args.epochs, written_repeat=args.written_repeat)
    q = quantize(bag)
    model, tok, _ = load_reader(args.reader_dir, args.reader_state)

    def both(rs):
        texts = [r['input'] for r in rs]
        probs, risk = predict(model, tok, texts)
        return mix(texts, probs.numpy(), risk.numpy(), *read_q(q, texts), args.weight)

    dev_probs, dev_risk = both(dev)
    threshold = pick_threshold(dev_risk, [r['distress'] for r in dev], args.min_recall, None if args.min_recall else args.min_precision)
    add_to_reader(args.reader_dir, q, args.weight, threshold)
    metrics_path = os.path.join(args.reader_dir, 'train_metrics.json')
    with open(metrics_path, encoding='utf-8') as f:
        metrics = json.load(f)
    metrics['with_ngram'] = {'weight': args.weight, 'epochs': args.epochs, 'threshold': threshold,
                             'dev': report(dev, torch.tensor(dev_probs), torch.tensor(dev_risk), threshold, labels)}
    test_path = os.path.join(args.data, 'test.jsonl')
    if os.path.isfile(test_path):
        test = read_rows(test_path)
        probs, risk = both(test)
        metrics['with_ngram']['test'] = report(test, torch.tensor(probs), torch.tensor(risk), threshold, labels)
    with open(metrics_path, 'w', encoding='utf-8') as f:
        json.dump(metrics, f, ensure_ascii=False, indent=2)
    print(json.dumps(metrics['with_ngram'], ensure_ascii=False), file=sys.stderr)
    return metrics['with_ngram']


def reference(reader_dir):
    """The bag's own probabilities for the JSON list of posts on stdin, from ngram.bin (for the runtime's parity test)."""
    with open(os.path.join(reader_dir, 'config.json'), encoding='utf-8') as f:
        labels = json.load(f)['labels']
    probs, risk = read_q(load_bin(os.path.join(reader_dir, NGRAM_FILE), len(labels)), json.load(sys.stdin))
    print(json.dumps([{'probs': p.tolist(), 'distress': float(r)} for p, r in zip(probs, risk)]))
