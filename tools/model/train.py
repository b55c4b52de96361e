"""Trains a GPT-3 from scratch, or fine-tunes a checkpoint, on JSONL rows with a `src_txt` field.

Rows `<post> | <reply>` are trained on the reply only (the praise part); rows without the separator
are trained on in full. AdamW at 3e-4 with a Noam-style warmup, as in the seed.
"""
import json
import math
import os
import random
import sys
import time

import torch
import torch.nn.functional as F

import checkpoint
from arch import GPT3, GPT3Config, init_weights
from wordpiece import build_vocab

SEP = ' | '
IGNORE = -100


def read_rows(path):
    with open(path, encoding='utf-8') as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise SystemExit(f'error: {path}:{n}: not JSON ({e.msg})')
            if not isinstance(row, dict) or not isinstance(row.get('src_txt'), str):
                raise SystemExit(f'error: {path}:{n}: each row needs a string field "src_txt"')
            yield row['src_txt']


def encode_row(tok, text, seq_len, eod):
    """Token ids and labels; labels are IGNORE on the post and the separator."""
    if SEP in text:
        post, reply = text.split(SEP, 1)
        prompt = tok.encode(post + SEP)
        target = tok.encode(reply)[: seq_len // 2] + [eod]
        prompt = prompt[-(seq_len - len(target)):]
        return prompt + target, [IGNORE] * len(prompt) + target
    ids = tok.encode(text)[:seq_len]
    return ids, list(ids)


def encode_file(tok, path, seq_len, eod):
    return [r for r in (encode_row(tok, t, seq_len, eod) for t in read_rows(path)) if len(r[0]) >= 2]


def batch_tensors(rows, pad):
    n = max(len(ids) for ids, _ in rows)
    ids = torch.full((len(rows), n), pad, dtype=torch.long)
    labels = torch.full((len(rows), n), IGNORE, dtype=torch.long)
    for i, (x, y) in enumerate(rows):
        ids[i, : len(x)] = torch.tensor(x)
        labels[i, : len(y)] = torch.tensor(y)
    return ids, labels


def lm_loss(model, ids, labels):
    logits, _ = model(ids)
    return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), labels[:, 1:].reshape(-1), ignore_index=IGNORE)


def optimize(model, opt, loss):
    """One optimizer step on `loss`, with gradients clipped to norm 1."""
    opt.zero_grad(set_to_none=True)
    loss.backward()
    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
    opt.step()


def warmup_cosine_lr(step, steps, base, warmup):
    """Linear warm-up over `warmup` steps, then cosine decay to 0 at `steps` (the judge's and the reader's schedule)."""
    return base * min(1.0, (step + 1) / warmup) * 0.5 * (1 + math.cos(math.pi * step / steps))


def noam_lr(step, base, warmup):
    step = max(step, 1)
    return base * min(step / warmup, math.sqrt(warmup / step))


@torch.no_grad()
def evaluate(model, rows, batch, pad):
    model.eval()
    total, count = 0.0, 0
    for i in range(0, len(rows), batch):
        ids, labels = batch_tensors(rows[i:i + batch], pad)
        n = int((labels[:, 1:] != IGNORE).sum())
        total += float(lm_loss(model, ids, labels)) * n
        count += n
    model.train()
    loss = total / max(count, 1)
    return {'loss': loss, 'perplexity': math.exp(loss), 'tokens': count}


def progress(step, total, loss, started, extra=''):
    elapsed = time.time() - started
    rate = step / elapsed if elapsed > 0 else 0
    eta = (total - step) / rate if rate > 0 else 0
    width = 30
    filled = int(width * step / total)
    sys.stderr.write(f'\r[{"#" * filled}{"." * (width - filled)}] {step}/{total} loss {loss:.3f} '
                     f'{rate:.2f} it/s ETA {int(eta // 60)}m{int(eta % 60):02d}s {extra}')
    sys.stderr.flush()


def run(args):
    torch.manual_seed(args.seed)
    random.seed(args.seed)
    state_path = os.path.join(args.out, 'trainer_state.pt')
    if args.init:
        model, tok, _ = checkpoint.load(args.init)
    else:
        texts = list(read_rows(args.data)) + (list(read_rows(args.general)) if args.general else [])
        tok = build_vocab(texts, args.vocab_size)
        cfg = GPT3Config(vocab_size=len(tok.vocab), hidden_size=args.hidden, num_layers=args.layers,
                         num_attention_heads=args.heads, max_position_embeddings=args.positions,
                         layernorm_epsilon=1e-5, eod_id=tok.special_id('[SEP]'))
        model = GPT3(cfg)
        init_weights(model, seed=args.seed)
    eod, pad = tok.special_id('[SEP]'), tok.special_id('[PAD]')
    train_rows = encode_file(tok, args.data, args.seq_len, eod)
    general_rows = encode_file(tok, args.general, args.seq_len, eod) if args.general else []
    valid_rows = encode_file(tok, args.valid, args.seq_len, eod) if args.valid else []
    opt = torch.optim.AdamW(model.parameters(), lr=args.lr, betas=(0.9, 0.98), eps=1e-8, weight_decay=0.01)
    step = 0
    if args.resume and os.path.isfile(state_path):
        state = checkpoint.resume(state_path, model, opt)
        step = state['step']
        random.setstate(state['random'])
        torch.set_rng_state(state['torch_random'])
    print(f'{sum(p.numel() for p in model.parameters()) / 1e6:.2f}M parameters, vocab {len(tok.vocab)}, '
          f'{len(train_rows)} train rows, {len(general_rows)} general rows, {len(valid_rows)} valid rows', file=sys.stderr)

    def save():
        checkpoint.save(model, tok, args.out)
        torch.save({'model': model.state_dict(), 'optimizer': opt.state_dict(), 'step': step,
                    'random': random.getstate(), 'torch_random': torch.get_rng_state()}, state_path)

    model.train()
    started, deadline = time.time(), time.time() + args.max_minutes * 60 if args.max_minutes else None
    general_until = int(args.steps * args.general_frac) if general_rows else 0
    ema = None
    first_step = step
    while step < args.steps:
        pool = general_rows if step < general_until or (general_rows and random.random() < args.mix) else train_rows
        ids, labels = batch_tensors(random.sample(pool, min(args.batch, len(pool))), pad)
        for g in opt.param_groups:
            g['lr'] = noam_lr(step + 1, args.lr, args.warmup)
        loss = lm_loss(model, ids, labels)
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
    result = {'steps': step, 'minutes': round((time.time() - started) / 60, 1), 'train_loss_ema': ema}
    if valid_rows:
        result['valid'] = evaluate(model, valid_rows, 64, pad)
    with open(os.path.join(args.out, 'train_metrics.json'), 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=2)
    print('\n' + json.dumps(result), file=sys.stderr)
    return result
