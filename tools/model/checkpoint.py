"""ModelScope GPT-3 checkpoint directories: pytorch_model.bin + config.json + vocab.txt."""
import json
import os

import torch

from arch import GPT3, GPT3Config
from wordpiece import WordPiece

REQUIRED = ('pytorch_model.bin', 'config.json', 'vocab.txt')


def check_dir(path):
    if not os.path.isdir(path):
        raise SystemExit(f'error: checkpoint directory not found: {path}')
    missing = [f for f in REQUIRED if not os.path.isfile(os.path.join(path, f))]
    if missing:
        raise SystemExit(f'error: {path} is missing {", ".join(missing)} (a ModelScope checkpoint has {", ".join(REQUIRED)})')


def normalize_state_dict(sd):
    """Unwraps {'state_dict': ...} and renames the `model.language_model` prefix to `language_model`."""
    if 'state_dict' in sd and isinstance(sd['state_dict'], dict):
        sd = sd['state_dict']
    out = {}
    for k, v in sd.items():
        if k.startswith('model.language_model'):
            k = k[len('model.'):]
        out[k] = v
    return out


def load(path):
    """Returns (model, tokenizer, raw config dict) from a ModelScope checkpoint directory."""
    check_dir(path)
    with open(os.path.join(path, 'config.json'), encoding='utf-8') as f:
        raw = json.load(f)
    cfg = GPT3Config.from_dict(raw)
    model = GPT3.blank(cfg)
    sd = normalize_state_dict(torch.load(os.path.join(path, 'pytorch_model.bin'), map_location='cpu'))
    expected = set(model.state_dict().keys())
    missing = sorted(expected - set(sd))
    if missing:
        raise SystemExit(f'error: checkpoint lacks {len(missing)} weights, first: {missing[0]}')
    model.load_state_dict({k: sd[k].float() for k in expected})
    model.eval()
    tok = WordPiece.from_file(os.path.join(path, 'vocab.txt'))
    if len(tok.vocab) > cfg.vocab_size:
        raise SystemExit(f'error: vocab.txt has {len(tok.vocab)} tokens but vocab_size is {cfg.vocab_size}')
    return model, tok, raw


def save(model, tok, path, extra_config=None, wrap=False):
    os.makedirs(path, exist_ok=True)
    sd = model.state_dict()
    torch.save({'state_dict': sd} if wrap else sd, os.path.join(path, 'pytorch_model.bin'))
    cfg = model.config.to_dict()
    cfg.update(extra_config or {})
    with open(os.path.join(path, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(cfg, f, ensure_ascii=False, indent=2)
    tok.save(os.path.join(path, 'vocab.txt'))


def resume(path, model, optimizer):
    """Loads a trainer state ({model, optimizer, step, ...}) saved beside a training run; returns the whole state."""
    import sys
    state = torch.load(path, map_location='cpu')
    model.load_state_dict(state['model'])
    optimizer.load_state_dict(state['optimizer'])
    print(f'resumed at step {state["step"]}', file=sys.stderr)
    return state
