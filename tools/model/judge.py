"""The reply judge: a cross-encoder that scores how well a reply answers a post.

It reads `<post> | <reply>[SEP]` with the generator's architecture and tokenizer (initialised from the generator,
so it starts out knowing fluent praise) and maps the final hidden state at the closing [SEP] to one logit. Trained on
judge_data groups: each true reply against its negatives (a softmax over the group, plus a per-candidate logistic
loss, without the generator's samples, that keeps the logit's scale meaningful for a threshold), and top-liked
replies over other replies of the same topic.
"""
import json
import os
import random
import sys
import time

import onnx
import torch
import torch.nn.functional as F
from torch import nn

import checkpoint
from arch import GPT3, GPT3Config, attention_bias
from judge_data import NEGATIVE_KINDS
from train import optimize, progress, warmup_cosine_lr

SEP = ' | '
MAX_POST_TOKENS = 48
MAX_REPLY_TOKENS = 48
ONNX_FILE = 'onnx/judge.onnx'
ONNX_INT8_FILE = 'onnx/judge_int8.onnx'


class Judge(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.config = cfg
        self.backbone = GPT3(cfg)
        self.score = nn.Linear(cfg.hidden_size, 1)

    def forward(self, input_ids, attention_mask):
        """input_ids, attention_mask: [b, s], right-padded. Returns one logit per row, read at its last real token."""
        x = final_hidden(self.backbone, input_ids, attention_mask)
        last = (attention_mask.sum(dim=1) - 1).clamp(min=0)
        picked = x[torch.arange(x.shape[0]), last]
        return self.score(picked).squeeze(-1)


def final_hidden(backbone, input_ids, attention_mask):
    """The backbone's final hidden states [b, s, h] for right-padded rows, without the LM head or a cache."""
    lm = backbone.language_model
    s = input_ids.shape[1]
    positions = torch.arange(s, dtype=torch.long).unsqueeze(0).expand_as(input_ids)
    x = lm.word_embeddings(input_ids) + lm.position_embeddings(positions)
    bias = attention_bias(attention_mask, s)
    for layer in lm.transformer.layers:
        x, _, _ = layer(x, bias)
    return lm.transformer.final_layernorm(x)


def encode_pair(tok, post, reply):
    eod = tok.special_id('[SEP]')
    return tok.encode(post + SEP)[-MAX_POST_TOKENS:] + tok.encode(reply)[:MAX_REPLY_TOKENS] + [eod]


def batch_tensors(rows, pad):
    n = max(len(r) for r in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    mask = torch.zeros((len(rows), n), dtype=torch.long)
    for i, r in enumerate(rows):
        ids[i, :len(r)] = torch.tensor(r)
        mask[i, :len(r)] = 1
    return ids, mask


def read_groups(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def group_loss(model, tok, groups, pad):
    """Softmax over each group (true reply first) + logistic loss per candidate + like preference pairs."""
    rows, spans, pairs = [], [], []
    for g in groups:
        start = len(rows)
        rows.append(encode_pair(tok, g['post'], g['reply']))
        rows.extend(encode_pair(tok, g['post'], n['text']) for n in g['negatives'])
        spans.append((start, len(rows)))
        if 'over' in g:
            rows.append(encode_pair(tok, g['post'], g['over']))
            pairs.append((start, len(rows) - 1))
    ids, mask = batch_tensors(rows, pad)
    logits = model(ids, mask)
    listwise = torch.stack([F.cross_entropy(logits[a:b].unsqueeze(0), torch.zeros(1, dtype=torch.long)) for a, b in spans]).mean()
    # The generator's samples only take part in the softmax: many are acceptable, just less so than a real reply,
    # and the logistic loss sets the scale the policy's threshold reads.
    pointwise_rows = [(i, 1.0 if i == a else 0.0) for (a, b), g in zip(spans, groups) for i, kind in
                      zip(range(a, b), ['true'] + [n['kind'] for n in g['negatives']]) if kind != 'generated']
    idx = torch.tensor([i for i, _ in pointwise_rows])
    labels = torch.tensor([y for _, y in pointwise_rows])
    pointwise = F.binary_cross_entropy_with_logits(logits[idx], labels, pos_weight=torch.tensor(3.0))
    loss = listwise + pointwise
    if pairs:
        hi, lo = zip(*pairs)
        loss = loss + 0.5 * F.softplus(logits[list(lo)] - logits[list(hi)]).mean()
    return loss


@torch.no_grad()
def ranking_accuracy(model, tok, groups, pad, batch=48):
    """Per negative kind: how often the true reply outscores it; `all`: how often it outscores every negative of its
    group; `liked`: how often a top-liked reply outscores another reply of its topic."""
    model.eval()
    wins = {k: [0, 0] for k in NEGATIVE_KINDS + ('all', 'liked')}
    for i in range(0, len(groups), batch):
        part = groups[i:i + batch]
        rows = []
        for g in part:
            rows.append(encode_pair(tok, g['post'], g['reply']))
            rows.extend(encode_pair(tok, g['post'], n['text']) for n in g['negatives'])
            rows.append(encode_pair(tok, g['post'], g.get('over', g['reply'])))
        ids, mask = batch_tensors(rows, pad)
        scores = model(ids, mask).tolist()
        at = 0
        for g in part:
            true = scores[at]
            negs = scores[at + 1: at + 1 + len(g['negatives'])]
            for n, s in zip(g['negatives'], negs):
                wins[n['kind']][0] += true > s
                wins[n['kind']][1] += 1
            wins['all'][0] += all(true > s for s in negs)
            wins['all'][1] += 1
            if 'over' in g:
                wins['liked'][0] += true > scores[at + 1 + len(negs)]
                wins['liked'][1] += 1
            at += len(g['negatives']) + 2
    model.train()
    return {k: {'accuracy': round(w / n, 3), 'pairs': n} for k, (w, n) in wins.items() if n}


def train(args):
    torch.manual_seed(args.seed)
    rng = random.Random(args.seed)
    generator, tok, _ = checkpoint.load(args.init)
    if args.init_judge:
        model = judge_from_dir(args.init_judge)
    else:
        model = Judge(generator.config)
        model.backbone.load_state_dict(generator.state_dict())
    pad = tok.special_id('[PAD]')
    groups = read_groups(os.path.join(args.data, 'train.jsonl'))
    valid = read_groups(os.path.join(args.data, 'valid.jsonl'))
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, weight_decay=0.01)
    state_path = os.path.join(args.out, 'judge_state.pt')
    step = 0
    if args.resume and os.path.isfile(state_path):
        step = checkpoint.resume(state_path, model, opt)['step']
    os.makedirs(args.out, exist_ok=True)

    def save():
        torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step}, state_path)

    print(f'{len(groups)} train groups, {len(valid)} valid groups', file=sys.stderr)
    started = time.time()
    deadline = started + args.max_minutes * 60 if args.max_minutes else None
    ema = None
    first_step = step
    model.train()
    while step < args.steps:
        for g in opt.param_groups:
            g['lr'] = warmup_cosine_lr(step, args.steps, args.lr, args.warmup)
        loss = group_loss(model, tok, rng.sample(groups, args.batch), pad)
        optimize(model, opt, loss)
        step += 1
        ema = float(loss) if ema is None else 0.98 * ema + 0.02 * float(loss)
        if step % 10 == 0 or step == args.steps:
            progress(step - first_step, args.steps - first_step, ema, started)
        if step % args.save_every == 0:
            save()
        if deadline and time.time() > deadline:
            print(f'\nstopping at step {step}: --max-minutes reached', file=sys.stderr)
            break
    save()
    metrics = {'steps': step, 'minutes': round((time.time() - started) / 60, 1), 'train_loss_ema': ema,
               'heldout_ranking': ranking_accuracy(model, tok, valid, pad)}
    write_judge_dir(model.eval(), tok, args.out_dir, metrics)
    print('\n' + json.dumps(metrics), file=sys.stderr)
    return metrics


def export_onnx(model, path):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    ids = torch.ones(2, 5, dtype=torch.long)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0]])
    torch.onnx.export(model, (ids, mask), path, input_names=['input_ids', 'attention_mask'], output_names=['score'],
                      dynamic_axes={'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'sequence'},
                                    'score': {0: 'batch'}}, opset_version=17)
    onnx.checker.check_model(onnx.load(path))


def write_judge_dir(model, tok, out, metrics):
    """A judge directory: onnx/judge.onnx (fp32), onnx/judge_int8.onnx (weights int8, what the engine runs: half the
    time, scores within about 0.1), tokenizer files, config.json."""
    import quantize
    from wordpiece import write_tokenizer_files
    os.makedirs(out, exist_ok=True)
    export_onnx(model, os.path.join(out, ONNX_FILE))
    onnx.save(quantize.int8(onnx.load(os.path.join(out, ONNX_FILE))), os.path.join(out, ONNX_INT8_FILE))
    cfg = model.config
    config = {'model_type': 'kuakua-judge', 'backbone': cfg.to_dict(), 'onnx': ONNX_FILE, 'onnx_int8': ONNX_INT8_FILE,
              'input': f'"<post>{SEP}<reply>[SEP]", right-padded; score: one logit per row',
              'max_post_tokens': MAX_POST_TOKENS, 'max_reply_tokens': MAX_REPLY_TOKENS,
              'separator': SEP, 'eos_token_id': tok.special_id('[SEP]'), 'pad_token_id': tok.special_id('[PAD]')}
    with open(os.path.join(out, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    write_tokenizer_files(tok, out)
    with open(os.path.join(out, 'train_metrics.json'), 'w', encoding='utf-8') as f:
        json.dump(metrics, f, indent=2)


def load_judge(judge_dir, state_path):
    """The PyTorch judge of a training run (its judge_state.pt) with the tokenizer of its judge directory."""
    from wordpiece import WordPiece
    with open(os.path.join(judge_dir, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    model = Judge(GPT3Config.from_dict(config['backbone']))
    model.load_state_dict(torch.load(state_path, map_location='cpu')['model'])
    return model.eval(), WordPiece.from_file(os.path.join(judge_dir, 'vocab.txt'))


def judge_from_dir(judge_dir):
    """The PyTorch judge of a judge directory, its weights read back from the fp32 ONNX file (no training state
    needed): the backbone by export.state_dict_from_onnx, the score head by name."""
    import export
    from onnx import numpy_helper
    with open(os.path.join(judge_dir, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    cfg = GPT3Config.from_dict(config['backbone'])
    graph = onnx.load(os.path.join(judge_dir, config['onnx']))
    state = {'backbone.' + k: v for k, v in export.state_dict_from_onnx(graph, cfg).items()}
    inits = {t.name: t for t in graph.graph.initializer}
    for name in ('score.weight', 'score.bias'):
        state[name] = torch.from_numpy(numpy_helper.to_array(inits[name]).copy())
    model = Judge(cfg)
    model.load_state_dict(state, strict=True)
    return model


def reference_scores(model, tok, pairs):
    pad = tok.special_id('[PAD]')
    ids, mask = batch_tensors([encode_pair(tok, p, r) for p, r in pairs], pad)
    with torch.no_grad():
        return model(ids, mask).tolist(), ids.tolist(), mask.tolist()


def random_judge_dir(out, vocab, layers=2, heads=2, hidden=64, seed=0):
    """A judge directory with random weights (for tests), and its judge_state.pt beside the ONNX file."""
    from arch import init_weights
    from wordpiece import WordPiece
    tok = WordPiece.from_file(vocab)
    cfg = GPT3Config(vocab_size=len(tok.vocab), hidden_size=hidden, num_layers=layers, num_attention_heads=heads,
                     max_position_embeddings=128, eod_id=tok.special_id('[SEP]'))
    model = Judge(cfg)
    init_weights(model.backbone, std=0.2, seed=seed)
    torch.manual_seed(seed)
    nn.init.normal_(model.score.weight, std=0.5)
    write_judge_dir(model.eval(), tok, out, {'random': True})
    torch.save({'model': model.state_dict()}, os.path.join(out, 'judge_state.pt'))
