"""ModelScope's Chinese GPT-3 (GPT3Model) in plain PyTorch.

Parameter names match ModelScope checkpoints, so a state dict loads unchanged.
"""
import contextlib
import math
from dataclasses import dataclass, asdict

import torch
from torch import nn
import torch.nn.functional as F

MASK_VALUE = -1e9


@dataclass
class GPT3Config:
    vocab_size: int = 25600
    hidden_size: int = 1024
    num_layers: int = 24
    num_attention_heads: int = 16
    max_position_embeddings: int = 2048
    layernorm_epsilon: float = 1e-12
    eod_id: int = 3

    @classmethod
    def from_dict(cls, d):
        known = {k: d[k] for k in cls.__dataclass_fields__ if k in d}
        return cls(**known)

    def to_dict(self):
        return asdict(self)

    @property
    def head_dim(self):
        return self.hidden_size // self.num_attention_heads


def attend(q, k, v, bias, past_k, past_v, heads):
    """Multi-head attention over the cache plus this run's tokens. q, k, v: [b, s, hidden]; past: [b, heads, p, d].
    Returns the context [b, s, hidden] and the new cache (key, value) [b, heads, p + s, d]."""
    b, s, hidden = q.shape
    d = hidden // heads

    def split(x):
        return x.view(b, s, heads, d).transpose(1, 2)

    q, k, v = split(q), split(k), split(v)
    if past_k is not None:
        k = torch.cat([past_k, k], dim=2)
        v = torch.cat([past_v, v], dim=2)
    scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + bias
    ctx = torch.matmul(torch.softmax(scores, dim=-1), v)
    return ctx.transpose(1, 2).reshape(b, s, hidden), k, v


class FusedAttention(torch.autograd.Function):
    """`attend` as one ONNX node when exporting: a `kuakua::Attention` placeholder that export.fuse_attention turns
    into onnxruntime's MultiHeadAttention (one kernel instead of about 20 small ops per layer) or, for a runtime that
    keeps its own cache, attention that reads the cache in place."""

    @staticmethod
    def forward(ctx, q, k, v, bias, past_k, past_v, heads):
        return attend(q, k, v, bias, past_k, past_v, heads)

    @staticmethod
    def symbolic(g, q, k, v, bias, past_k, past_v, heads):
        return g.op('kuakua::Attention', q, k, v, bias, past_k, past_v, num_heads_i=heads, outputs=3)


class Attention(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.heads = cfg.num_attention_heads
        self.query_key_value = nn.Linear(cfg.hidden_size, 3 * cfg.hidden_size)
        self.dense = nn.Linear(cfg.hidden_size, cfg.hidden_size)

    def forward(self, x, bias, past_k=None, past_v=None):
        q, k, v = self.query_key_value(x).chunk(3, dim=-1)
        if torch.onnx.is_in_onnx_export() and past_k is not None:
            ctx, k, v = FusedAttention.apply(q, k, v, bias, past_k, past_v, self.heads)
        else:
            ctx, k, v = attend(q, k, v, bias, past_k, past_v, self.heads)
        return self.dense(ctx), k, v


class MLP(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.dense_h_to_4h = nn.Linear(cfg.hidden_size, 4 * cfg.hidden_size)
        self.dense_4h_to_h = nn.Linear(4 * cfg.hidden_size, cfg.hidden_size)

    def forward(self, x):
        return self.dense_4h_to_h(F.gelu(self.dense_h_to_4h(x)))


class Block(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.input_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)
        self.attention = Attention(cfg)
        self.post_attention_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)
        self.mlp = MLP(cfg)

    def forward(self, x, bias, past_k=None, past_v=None):
        a, k, v = self.attention(self.input_layernorm(x), bias, past_k, past_v)
        x = x + a
        return x + self.mlp(self.post_attention_layernorm(x)), k, v


class Transformer(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.layers = nn.ModuleList([Block(cfg) for _ in range(cfg.num_layers)])
        self.final_layernorm = nn.LayerNorm(cfg.hidden_size, eps=cfg.layernorm_epsilon)


class LanguageModel(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.word_embeddings = nn.Embedding(cfg.vocab_size, cfg.hidden_size)
        self.position_embeddings = nn.Embedding(cfg.max_position_embeddings, cfg.hidden_size)
        self.transformer = Transformer(cfg)


def attention_bias(attention_mask, query_len):
    """Additive mask [b, 1, q, total]: causal over past+new tokens, and 0-masked (padding) keys hidden."""
    total = attention_mask.shape[1]
    past = total - query_len
    key_pos = torch.arange(total, device=attention_mask.device).unsqueeze(0)
    query_pos = torch.arange(query_len, device=attention_mask.device).unsqueeze(1) + past
    allowed = (key_pos <= query_pos).unsqueeze(0) & (attention_mask.unsqueeze(1) > 0)
    zero = torch.zeros((), dtype=torch.float32)
    return torch.where(allowed, zero, zero + MASK_VALUE).unsqueeze(1)


def default_position_ids(attention_mask, query_len):
    """Positions that skip left padding: cumsum(mask) - 1, pads clamped to 0."""
    pos = torch.cumsum(attention_mask, dim=1) - 1
    return pos.clamp(min=0)[:, -query_len:]


class GPT3(nn.Module):
    def __init__(self, cfg: GPT3Config):
        super().__init__()
        self.config = cfg
        self.language_model = LanguageModel(cfg)

    @classmethod
    def blank(cls, cfg: GPT3Config):
        """A GPT3 whose parameters are allocated but not initialised, for callers that then set every one of them
        (load_state_dict with strict, init_weights): PyTorch's default initialisation of the GPT-3-large shape takes
        about 2 s."""
        with _no_default_init():
            return cls(cfg)

    def forward(self, input_ids, attention_mask=None, position_ids=None, past=None):
        """Returns logits [b, s, vocab] and the new cache: a list of (key, value) [b, heads, past+s, head_dim]."""
        lm = self.language_model
        s = input_ids.shape[1]
        if attention_mask is None:
            past_len = 0 if past is None else past[0][0].shape[2]
            attention_mask = torch.ones(input_ids.shape[0], past_len + s, dtype=torch.long)
        if position_ids is None:
            position_ids = default_position_ids(attention_mask, s)
        x = lm.word_embeddings(input_ids) + lm.position_embeddings(position_ids)
        bias = attention_bias(attention_mask, s)
        presents = []
        for i, layer in enumerate(lm.transformer.layers):
            pk, pv = (None, None) if past is None else past[i]
            x, k, v = layer(x, bias, pk, pv)
            presents.append((k, v))
        x = lm.transformer.final_layernorm(x)
        logits = torch.matmul(x, lm.word_embeddings.weight.t())
        return logits, presents


@contextlib.contextmanager
def _no_default_init():
    kinds = (nn.Linear, nn.Embedding, nn.LayerNorm)
    saved = [kind.reset_parameters for kind in kinds]
    for kind in kinds:
        kind.reset_parameters = lambda self: None
    try:
        yield
    finally:
        for kind, reset in zip(kinds, saved):
            kind.reset_parameters = reset


def init_weights(model: GPT3, std=0.02, seed=None):
    gen = torch.Generator().manual_seed(seed) if seed is not None else None
    for name, p in model.named_parameters():
        with torch.no_grad():
            if name.endswith('bias'):
                p.zero_()
            elif 'layernorm' in name:
                p.fill_(1.0)
            else:
                p.normal_(0.0, std, generator=gen)
