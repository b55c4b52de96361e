"""The post reader: reads a post and says what it calls for (one intent, with probabilities) and whether it signals
self-harm or suicidal thoughts (its own logit and threshold, tuned for recall).

It reads `<post>[SEP]` with the generator's architecture and tokenizer, initialised from kuakua-mini's weights (so it
starts out knowing the group's language), and maps the final hidden state at [SEP], the mean of all states and a bag
of the post's hashed token n-grams to two heads. Long posts keep their start and their end. Trained on the labelled posts that `tools/reader/prepare.ts`
checks and splits (data/reader); the test split is never trained on nor used to pick the threshold: a dev share of
the training rows, chosen by hash, picks it.
"""
import json
import math
import os
import random
import sys
import time
import zlib

import onnx
import torch
import torch.nn.functional as F
from torch import nn

from arch import GPT3, GPT3Config
from judge import batch_tensors, final_hidden
from train import optimize, progress, warmup_cosine_lr

HEAD_TOKENS = 40
TAIL_TOKENS = 24
ONNX_FILE = 'onnx/reader.onnx'
ONNX_INT8_FILE = 'onnx/reader_int8.onnx'
DEV_SHARE = 0.12
# The gentle intents: a reply to them must comfort or calm, never laugh or celebrate.
GENTLE = ('setback', 'sad', 'tired_wronged', 'anxious')


# The bag-of-n-grams branch: token uni-, bi- and trigrams hashed into NGRAM_BUCKETS rows of a table, in the graph itself
# (so the runtime feeds token ids only). With a few thousand labelled posts it carries most of the distress signal,
# which the transformer's states alone separated poorly at high recall (models/kuakua-reader/README.md).
NGRAM_BUCKETS = 1 << 16
NGRAM_DIM = 32
BIGRAM_MUL = 7919
TRIGRAM_MUL = 104729
NGRAM_LR_SCALE = 20


class Reader(nn.Module):
    def __init__(self, cfg: GPT3Config, intents: int):
        super().__init__()
        self.config = cfg
        self.backbone = GPT3(cfg)
        self.ngrams = nn.Embedding(NGRAM_BUCKETS, NGRAM_DIM)
        width = 2 * cfg.hidden_size + NGRAM_DIM
        self.intent = nn.Linear(width, intents)
        self.distress = nn.Linear(width, 1)

    def ngram_mean(self, ids, mask):
        """The mean embedding of the post's hashed token 1-, 2- and 3-grams (padding left out)."""
        grams = [(ids, mask),
                 ((ids[:, :-1] * BIGRAM_MUL + ids[:, 1:]) % NGRAM_BUCKETS, mask[:, :-1] * mask[:, 1:]),
                 ((ids[:, :-2] * TRIGRAM_MUL + ids[:, 1:-1] * BIGRAM_MUL + ids[:, 2:]) % NGRAM_BUCKETS,
                  mask[:, :-2] * mask[:, 1:-1] * mask[:, 2:])]
        total = sum((self.ngrams(g % NGRAM_BUCKETS) * m.unsqueeze(-1).to(torch.float32)).sum(1) for g, m in grams)
        count = sum(m.sum(1, keepdim=True) for _, m in grams).to(torch.float32)
        return total / count.clamp(min=1)

    def forward(self, input_ids, attention_mask):
        """input_ids, attention_mask: [b, s], right-padded. Returns intent logits [b, intents] and distress logits [b]."""
        x = final_hidden(self.backbone, input_ids, attention_mask)
        last = (attention_mask.sum(dim=1) - 1).clamp(min=0)
        m = attention_mask.unsqueeze(-1).to(x.dtype)
        features = torch.cat([x[torch.arange(x.shape[0]), last], (x * m).sum(1) / m.sum(1).clamp(min=1),
                              self.ngram_mean(input_ids, attention_mask)], dim=-1)
        return self.intent(features), self.distress(features).squeeze(-1)


def encode_post(tok, text):
    """The post's first HEAD_TOKENS and last TAIL_TOKENS tokens (all of a shorter one), then [SEP]. Unknown tokens
    (emoji, rare characters) are dropped: as one shared [UNK] they told posts apart by chance, and a reader trained
    with them took a post of emoji alone for distress."""
    unk = tok.special_id('[UNK]')
    ids = [i for i in tok.encode(text) if i != unk]
    if len(ids) > HEAD_TOKENS + TAIL_TOKENS:
        ids = ids[:HEAD_TOKENS] + ids[-TAIL_TOKENS:]
    return ids + [tok.special_id('[SEP]')]


def read_rows(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def times_drawn(row, written_repeat):
    """How often a row is in the pool batches are drawn from: a written row written_repeat times, any other once. Written
    rows carry the tone traps and the indirect distress, which the far more numerous douban titles would otherwise outweigh."""
    return written_repeat if row['source'] == 'written' else 1


def teacher_targets(path):
    """Soft targets by input (tools/reader/teach.ts): the teachers' mean intent probabilities and distress probability."""
    return {r['input']: (r['probs'], r['distress']) for r in read_rows(path)}


def batch_loss(intent, distress, batch, pos_weight, teacher_weight, distress_from_teacher=False):
    """Cross-entropy on the labelled rows' intents and logistic loss on their distress (distress rows weighted by
    pos_weight); with teachers, plus teacher_weight times the same losses against the teachers' probabilities, over
    every row that has them (the unlabelled titles have nothing else). distress_from_teacher: distress is learnt from
    the teachers alone, unweighted, so that the reader keeps their distress output (and its threshold)."""
    labelled = torch.tensor([b[1] >= 0 for b in batch])
    loss = torch.zeros(())
    if labelled.any():
        loss = F.cross_entropy(intent[labelled], torch.tensor([b[1] for b in batch])[labelled], label_smoothing=0.05)
        if not distress_from_teacher:
            loss = loss + F.binary_cross_entropy_with_logits(
                distress[labelled], torch.tensor([float(b[2]) for b in batch])[labelled], pos_weight=pos_weight)
    taught = torch.tensor([b[3] is not None for b in batch])
    if taught.any():
        probs = torch.tensor([b[3][0] for b in batch if b[3] is not None])
        risk = torch.tensor([b[3][1] for b in batch if b[3] is not None])
        risk_loss = F.binary_cross_entropy_with_logits(distress[taught], risk) if distress_from_teacher else \
            teacher_weight * F.binary_cross_entropy_with_logits(distress[taught], risk, pos_weight=pos_weight)
        loss = loss + teacher_weight * F.cross_entropy(intent[taught], probs) + risk_loss
    return loss


def is_dev(row):
    return zlib.crc32(row['id'].encode()) % 1000 < DEV_SHARE * 1000


@torch.no_grad()
def predict(model, tok, texts, batch=64):
    """Intent probabilities [n, intents] and distress probabilities [n] for each text."""
    model.eval()
    pad = tok.special_id('[PAD]')
    probs, risk = [], []
    for i in range(0, len(texts), batch):
        ids, mask = batch_tensors([encode_post(tok, t) for t in texts[i:i + batch]], pad)
        intent, distress = model(ids, mask)
        probs.append(F.softmax(intent, dim=-1))
        risk.append(torch.sigmoid(distress))
    return torch.cat(probs), torch.cat(risk)


def pick_threshold(risk, truth, min_recall, min_precision=None):
    """The highest threshold whose recall on these rows is at least min_recall; with min_precision, the one of highest
    recall whose precision is at least min_precision (a care reply to an ordinary post is a visible failure too)."""
    positives = sorted((float(r) for r, t in zip(risk, truth) if t), reverse=True)
    if not positives:
        return 0.5
    if min_precision is not None:
        scores = [float(r) for r in risk]
        for t in reversed(positives):
            flagged = [y for r, y in zip(scores, truth) if r >= t]
            if sum(flagged) / len(flagged) >= min_precision:
                return max(min(t, 0.5), 1e-4)
        return 0.5
    k = max(1, math.ceil(min_recall * len(positives)))
    return max(min(positives[k - 1], 0.5), 1e-4)


def report(rows, probs, risk, threshold, labels):
    """Per-class precision and recall, distress recall and precision, look-alikes flagged, gentle-vs-rest accuracy."""
    pred = probs.argmax(dim=-1).tolist()
    truth = [r['intent'] for r in rows]
    per_class = {}
    for c, name in enumerate(labels):
        tp = sum(1 for p, t in zip(pred, truth) if p == c and t == c)
        predicted = sum(1 for p in pred if p == c)
        actual = sum(1 for t in truth if t == c)
        per_class[name] = {'precision': round(tp / predicted, 3) if predicted else None,
                           'recall': round(tp / actual, 3) if actual else None, 'support': actual}
    gentle = {labels.index(g) for g in GENTLE}
    flagged = [float(r) >= threshold for r in risk]
    dpos = [r['distress'] == 1 for r in rows]
    tp = sum(1 for f, d in zip(flagged, dpos) if f and d)
    lookalikes = [f for f, r in zip(flagged, rows) if r['lookalike']]
    indirect = [f for f, r in zip(flagged, rows) if r['indirect']]
    return {
        'rows': len(rows),
        'intent_accuracy': round(sum(1 for p, t in zip(pred, truth) if p == t) / len(rows), 3),
        'gentle_vs_rest_accuracy': round(sum(1 for p, t in zip(pred, truth) if (p in gentle) == (t in gentle)) / len(rows), 3),
        'trap_gentle_vs_rest_accuracy': _share([(p in gentle) == (t in gentle) for p, t, r in zip(pred, truth, rows) if r['trap']]),
        'per_class': per_class,
        'distress': {'threshold': round(threshold, 4), 'support': sum(dpos), 'recall': round(tp / max(sum(dpos), 1), 3),
                     'precision': round(tp / max(sum(flagged), 1), 3),
                     'indirect_support': len(indirect), 'indirect_recall': round(sum(indirect) / max(len(indirect), 1), 3),
                     'lookalikes': len(lookalikes), 'lookalikes_flagged': round(sum(lookalikes) / max(len(lookalikes), 1), 3)},
    }


def _share(flags):
    return round(sum(flags) / len(flags), 3) if flags else None


def mistakes(rows, probs, risk, threshold, labels, limit=40):
    """Rows the reader gets wrong, for the model card's "what it gets wrong"."""
    out = []
    for r, p, k in zip(rows, probs, risk):
        guess = int(p.argmax())
        flagged = float(k) >= threshold
        if guess != r['intent'] or flagged != bool(r['distress']):
            out.append({'id': r['id'], 'text': r['text'] if r['source'] == 'written' else None,
                        'label': labels[r['intent']], 'read': labels[guess], 'distress': r['distress'],
                        'risk': round(float(k), 3)})
    return out[:limit]


def train(args):
    import checkpoint
    import export
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    with open(os.path.join(args.data, 'labels.json'), encoding='utf-8') as f:
        labels = json.load(f)
    rows = read_rows(os.path.join(args.data, 'train.jsonl'))
    train_rows = [r for r in rows if not is_dev(r)]
    dev_rows = [r for r in rows if is_dev(r)]
    if args.init_dir:
        generator, _ = export.load_model_dir(args.init_dir)
        tok = _tokenizer(args.init_dir)
    else:
        generator, tok, _ = checkpoint.load(args.init)
    model = Reader(generator.config, len(labels))
    model.backbone.load_state_dict(generator.state_dict())
    pad = tok.special_id('[PAD]')
    soft = teacher_targets(args.teacher) if args.teacher else {}
    # Each row is encoded once; a repeated row is the same tuple several times in the pool.
    encoded = [e for r in train_rows
               for e in [(encode_post(tok, r['input']), r['intent'], r['distress'], soft.get(r['input']))] * times_drawn(r, args.written_repeat)]
    if soft:
        labelled = {r['input'] for r in rows}
        encoded += [(encode_post(tok, text), -1, -1, target) for text, target in soft.items() if text not in labelled]
    # The n-gram table starts from nothing and each row is seen rarely: it learns at NGRAM_LR_SCALE times the rate.
    ngram_params = list(model.ngrams.parameters())
    rest = [p for p in model.parameters() if all(p is not q for q in ngram_params)]
    opt = torch.optim.AdamW([{'params': rest, 'base_lr': args.lr},
                             {'params': ngram_params, 'base_lr': args.lr * NGRAM_LR_SCALE, 'weight_decay': 0.0}],
                            lr=args.lr, weight_decay=0.01)
    os.makedirs(args.out, exist_ok=True)
    state_path = os.path.join(args.out, 'reader_state.pt')
    # Minutes and the loss average carry over a resume, so that a run resumed only to re-export reports its training.
    step, spent, ema = 0, 0.0, None
    if args.resume and os.path.isfile(state_path):
        state = checkpoint.resume(state_path, model, opt)
        step, spent, ema = state['step'], state.get('minutes', 0.0), state.get('loss_ema')

    def save():
        torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step,
                    'minutes': spent + (time.time() - started) / 60, 'loss_ema': ema}, state_path)

    print(f'{len(train_rows)} train rows, {len(dev_rows)} dev rows', file=sys.stderr)
    pos_weight = torch.tensor(args.distress_weight)
    started = time.time()
    first_step = step
    model.train()
    while step < args.steps:
        for g in opt.param_groups:
            g['lr'] = warmup_cosine_lr(step, args.steps, g['base_lr'], args.warmup)
        batch = rng.sample(encoded, min(args.batch, len(encoded)))
        ids, mask = batch_tensors([b[0] for b in batch], pad)
        intent, distress = model(ids, mask)
        loss = batch_loss(intent, distress, batch, pos_weight, args.teacher_weight, args.distress_from_teacher)
        optimize(model, opt, loss)
        model.train()
        step += 1
        ema = float(loss) if ema is None else 0.95 * ema + 0.05 * float(loss)
        if step % 10 == 0 or step == args.steps:
            progress(step - first_step, args.steps - first_step, ema, started)
        if step % args.save_every == 0:
            save()
    save()
    minutes = round(spent + (time.time() - started) / 60, 1)
    dev_probs, dev_risk = predict(model, tok, [r['input'] for r in dev_rows])
    threshold = pick_threshold(dev_risk, [r['distress'] for r in dev_rows], args.min_recall, args.min_precision)
    metrics = {'steps': step, 'minutes': minutes, 'train_rows': len(train_rows), 'train_loss_ema': ema,
               'dev': report(dev_rows, dev_probs, dev_risk, threshold, labels)}
    test_path = os.path.join(args.data, 'test.jsonl')
    if os.path.isfile(test_path):
        test_rows = read_rows(test_path)
        probs, risk = predict(model, tok, [r['input'] for r in test_rows])
        metrics['test'] = report(test_rows, probs, risk, threshold, labels)
        metrics['test_mistakes'] = mistakes(test_rows, probs, risk, threshold, labels)
    write_reader_dir(model.eval(), tok, args.out_dir, labels, threshold, metrics)
    print('\n' + json.dumps({k: metrics[k] for k in metrics if k != 'test_mistakes'}, ensure_ascii=False), file=sys.stderr)
    return metrics


def _tokenizer(model_dir):
    from wordpiece import WordPiece
    return WordPiece.from_file(os.path.join(model_dir, 'vocab.txt'))


def export_onnx(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ids = torch.ones(2, 5, dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    torch.onnx.export(model, (ids, mask), path, input_names=['input_ids', 'attention_mask'],
                      output_names=['intent_logits', 'distress_logit'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'},
                                    'intent_logits': {0: 'batch'}, 'distress_logit': {0: 'batch'}}, opset_version=17)
    onnx.checker.check_model(onnx.load(path))


def write_reader_dir(model, tok, out, labels, threshold, metrics):
    """A reader directory: onnx/reader.onnx (fp32, the reference), onnx/reader_int8.onnx (what runs), tokenizer files,
    config.json with the labels, the input shape and the distress threshold."""
    import quantize
    from wordpiece import write_tokenizer_files
    os.makedirs(out, exist_ok=True)
    export_onnx(model, os.path.join(out, ONNX_FILE))
    onnx.save(quantize.int8(onnx.load(os.path.join(out, ONNX_FILE))), os.path.join(out, ONNX_INT8_FILE))
    config = {'model_type': 'kuakua-reader', 'backbone': model.config.to_dict(), 'onnx': ONNX_FILE,
              'onnx_int8': ONNX_INT8_FILE, 'labels': labels, 'distress_threshold': threshold,
              'input': '"<post>[SEP]": the first head_tokens and last tail_tokens tokens of a longer post',
              'head_tokens': HEAD_TOKENS, 'tail_tokens': TAIL_TOKENS, 'drop_token_ids': [tok.special_id('[UNK]')],
              'eos_token_id': tok.special_id('[SEP]'), 'pad_token_id': tok.special_id('[PAD]')}
    with open(os.path.join(out, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    write_tokenizer_files(tok, out)
    with open(os.path.join(out, 'train_metrics.json'), 'w', encoding='utf-8') as f:
        json.dump(metrics, f, ensure_ascii=False, indent=2)


def load_reader(reader_dir, state_path):
    """The PyTorch reader of a training run (its reader_state.pt) with its directory's tokenizer and labels."""
    with open(os.path.join(reader_dir, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    model = Reader(GPT3Config.from_dict(config['backbone']), len(config['labels']))
    model.load_state_dict(torch.load(state_path, map_location='cpu')['model'])
    return model.eval(), _tokenizer(reader_dir), config


def random_reader_dir(out, vocab, labels, layers=2, heads=2, hidden=64, seed=0):
    """A reader directory with random weights (for tests), and its reader_state.pt beside the ONNX file."""
    from arch import init_weights
    from wordpiece import WordPiece
    tok = WordPiece.from_file(vocab)
    cfg = GPT3Config(vocab_size=len(tok.vocab), hidden_size=hidden, num_layers=layers, num_attention_heads=heads,
                     max_position_embeddings=128, eod_id=tok.special_id('[SEP]'))
    model = Reader(cfg, len(labels))
    init_weights(model.backbone, std=0.2, seed=seed)
    torch.manual_seed(seed)
    nn.init.normal_(model.ngrams.weight, std=0.5)
    nn.init.normal_(model.intent.weight, std=0.5)
    nn.init.normal_(model.distress.weight, std=0.5)
    os.makedirs(out, exist_ok=True)
    torch.save({'model': model.state_dict(), 'step': 0}, os.path.join(out, 'reader_state.pt'))
    write_reader_dir(model.eval(), tok, out, labels, 0.5, {'random': True})
