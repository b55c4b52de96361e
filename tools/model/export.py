"""Export to ONNX (opset 17, Optimum / transformers.js I/O names) and write a model directory:

  config.json, generation_config.json          GPT-2 compatible, plus our `kuakua` section
  tokenizer.json, tokenizer_config.json, vocab.txt
  onnx/model.onnx, onnx/model_int8.onnx, onnx/model_q4.onnx
"""
import json
import os
import tempfile
import warnings

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

import quantize
from arch import GPT3, GPT3Config

OPSET = 17
TOTAL = 'past_sequence_length + sequence_length'
VARIANT_FILES = {'fp32': 'onnx/model.onnx', 'int8': 'onnx/model_int8.onnx', 'q4': 'onnx/model_q4.onnx'}
GENERATION = {'do_sample': True, 'temperature': 1.0, 'top_p': 0.9, 'top_k': 0, 'repetition_penalty': 1.1,
              'min_new_tokens': 4, 'max_new_tokens': 48}


class OnnxGraph(torch.nn.Module):
    """Flat tensors in and out, as ONNX wants: one graph for prefill (past length 0) and decode."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, input_ids, attention_mask, position_ids, *past_flat):
        past = [(past_flat[2 * i], past_flat[2 * i + 1]) for i in range(len(past_flat) // 2)]
        logits, presents = self.model(input_ids, attention_mask, position_ids, past)
        return (logits,) + tuple(t for kv in presents for t in kv)


def io_names(n_layer):
    past = [f'past_key_values.{i}.{kv}' for i in range(n_layer) for kv in ('key', 'value')]
    present = [f'present.{i}.{kv}' for i in range(n_layer) for kv in ('key', 'value')]
    return ['input_ids', 'attention_mask', 'position_ids'] + past, ['logits'] + present


def export_onnx(model, path):
    cfg = model.config
    inputs, outputs = io_names(cfg.num_layers)
    b, s, past = 2, 3, 2
    dummy = [torch.ones(b, s, dtype=torch.long), torch.ones(b, past + s, dtype=torch.long),
             torch.arange(past, past + s).repeat(b, 1)]
    dummy += [torch.zeros(b, cfg.num_attention_heads, past, cfg.head_dim) for _ in range(2 * cfg.num_layers)]
    # Optimum's dimension names: transformers.js sizes its empty first-step cache from them ('batch_size' -> the
    # batch; an unknown name -> 0, which MultiHeadAttention rejects as a batch size).
    axes = {'input_ids': {0: 'batch_size', 1: 'sequence_length'}, 'attention_mask': {0: 'batch_size', 1: TOTAL},
            'position_ids': {0: 'batch_size', 1: 'sequence_length'}, 'logits': {0: 'batch_size', 1: 'sequence_length'}}
    axes.update({n: {0: 'batch_size', 2: 'past_sequence_length'} for n in inputs[3:]})
    axes.update({n: {0: 'batch_size', 2: TOTAL} for n in outputs[1:]})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'model.onnx')
        with torch.no_grad(), warnings.catch_warnings():
            # The placeholder's forward is traced only for its outputs' shapes, and fuse_attention declares those.
            warnings.filterwarnings('ignore', message='.*kuakua::Attention')
            warnings.filterwarnings('ignore', category=torch.jit.TracerWarning)
            warnings.filterwarnings('ignore', message='.*_graph_op')
            torch.onnx.export(OnnxGraph(model).eval(), tuple(dummy), raw, input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True,
                              custom_opsets={'kuakua': 1})
        graph = onnx.load(raw)
    fuse_attention(graph, cfg)
    tie_lm_head(graph, cfg.vocab_size)
    onnx.save(graph, path)
    return graph


def fuse_attention(graph, cfg):
    """Turns the `kuakua::Attention` placeholders arch.FusedAttention exports into attention nodes, and adds the step
    outputs `new_key_values.{i}.key|value`: the keys and values this run appends, [batch, sequence, hidden], i.e.
    before the split into heads. At sequence length 1 those are the same bytes as the last column of `present.*`.

    Each layer is an If on `spare_room` (the last past column of attention_mask is 0 in every row): a runtime that
    keeps its own cache with free columns at the end, masked, and fills them from `new_key_values` gets attention in
    plain ops that read the cache where it lies, and an empty `present` ([batch, heads, 0, head_dim]). Everyone else (transformers.js, any Optimum runtime)
    gets onnxruntime's MultiHeadAttention (com.microsoft; CPU and CUDA) and the full `present`. MultiHeadAttention
    always writes `present`, a copy of the whole cache per token, and onnxruntime computes every graph output
    whether it is fetched or not; skipping that copy took a 16-row GPT-3-large q4 decode step at 40 cached
    positions from 84 to 48 ms (raw onnxruntime, alternating runs). A left-padded cache always ends in a real
    token, so runtimes that do not know the rule never meet it."""
    heads, head_dim, hidden = cfg.num_attention_heads, cfg.head_dim, cfg.hidden_size
    fused = [n for n in graph.graph.node if n.domain == 'kuakua' and n.op_type == 'Attention']
    if len(fused) != cfg.num_layers:
        raise RuntimeError(f'expected {cfg.num_layers} attention nodes in the export, found {len(fused)}')
    nodes = list(graph.graph.node)
    at = nodes.index(fused[0])
    nodes[at:at] = _spare_room_nodes(graph, heads, head_dim)
    step_outputs = []
    for node in fused:
        q, k, v, bias, past_k, past_v = node.input
        layer = int(past_k.split('.')[1])
        k_out, v_out = f'new_key_values.{layer}.key', f'new_key_values.{layer}.value'
        _rename(nodes, {k: k_out, v: v_out})
        inputs = [q, k_out, v_out, bias, past_k, past_v]
        nodes[nodes.index(node)] = helper.make_node(
            'If', ['spare_room'], list(node.output), name=f'attention_{layer}',
            then_branch=_appending_attention(layer, inputs, heads, head_dim),
            else_branch=_present_attention(layer, inputs, heads, head_dim))
        step_outputs += [helper.make_tensor_value_info(n, TensorProto.FLOAT, ['batch_size', 'sequence_length', hidden])
                         for n in (k_out, v_out)]
    del graph.graph.node[:]
    graph.graph.node.extend(nodes)
    # The placeholder has no shape inference in the exporter: declare the outputs' shapes here.
    declared = {'logits': ['batch_size', 'sequence_length', cfg.vocab_size]}
    for out in graph.graph.output:
        dims = declared.get(out.name, ['batch_size', heads, TOTAL, head_dim])
        out.CopyFrom(helper.make_tensor_value_info(out.name, TensorProto.FLOAT, dims))
    graph.graph.output.extend(step_outputs)
    for opset in [o for o in graph.opset_import if o.domain == 'kuakua']:
        graph.opset_import.remove(opset)
    graph.opset_import.append(helper.make_opsetid('com.microsoft', 1))


def _spare_room_nodes(graph, heads, head_dim):
    """`spare_room` (bool, see fuse_attention), the constants the appending attention shares, and `attn.no_present`,
    the empty cache an appending run returns as `present`. With no past, index -1 reads the current token: False."""
    consts = {'attn.one': 1, 'attn.zero': [0], 'attn.axis2': [2], 'attn.axis3': [3], 'attn.end': [np.iinfo(np.int64).max],
              'attn.heads': [0, 0, heads, head_dim], 'attn.hidden': [0, 0, heads * head_dim]}
    graph.graph.initializer.extend(numpy_helper.from_array(np.array(v, dtype=np.int64), k) for k, v in consts.items())
    graph.graph.initializer.append(numpy_helper.from_array(np.array(head_dim ** -0.5, dtype=np.float32), 'attn.scale'))
    graph.graph.initializer.append(numpy_helper.from_array(np.array(0, dtype=np.int64), 'attn.masked'))
    past = 'past_key_values.0.key'
    return [
        helper.make_node('Shape', [past], ['attn.past'], start=2, end=3, name='attn_past'),
        helper.make_node('Sub', ['attn.past', 'attn.one'], ['attn.last'], name='attn_last'),
        helper.make_node('Gather', ['attention_mask', 'attn.last'], ['attn.last_mask'], axis=1, name='attn_last_mask'),
        helper.make_node('ReduceMax', ['attn.last_mask'], ['attn.last_mask_max'], keepdims=0, name='attn_last_mask_max'),
        helper.make_node('Equal', ['attn.last_mask_max', 'attn.masked'], ['spare_room'], name='spare_room'),
        helper.make_node('Slice', [past, 'attn.zero', 'attn.zero', 'attn.axis2'], ['attn.no_present'], name='attn_no_present'),
    ]


def _branch_outputs(heads, head_dim, names):
    shapes = (['batch_size', 'sequence_length', heads * head_dim], ['batch_size', heads, 'present_length', head_dim],
              ['batch_size', heads, 'present_length', head_dim])
    return [helper.make_tensor_value_info(n, TensorProto.FLOAT, s) for n, s in zip(names, shapes)]


def _present_attention(layer, inputs, heads, head_dim):
    q, k, v, bias, past_k, past_v = inputs
    outs = [f'attn{layer}.mha.{x}' for x in ('context', 'key', 'value')]
    mha = helper.make_node('MultiHeadAttention', [q, k, v, '', '', bias, past_k, past_v], outs, domain='com.microsoft',
                           num_heads=heads, name=f'attention_{layer}_mha')
    return helper.make_graph([mha], f'attention_{layer}_present', [],
                             _branch_outputs(heads, head_dim, outs))


def _appending_attention(layer, inputs, heads, head_dim):
    """softmax([past_k; k] · qᵀ / √d + bias) · [past_v; v], without joining the cache and this run's columns: the
    scores are joined instead ([batch, heads, past + seq, seq]) and the probabilities split again. The cache is the
    left operand of both products, read row by row where it lies (q · past_kᵀ made MLAS copy past_k first)."""
    q, k, v, bias, past_k, past_v = inputs
    p = f'attn{layer}.'
    nodes = []

    def op(kind, ins, out, **attrs):
        nodes.append(helper.make_node(kind, ins, [p + out], name=p + out, **attrs))
        return p + out

    def split_heads(x, name, perm):
        return op('Transpose', [op('Reshape', [x, 'attn.heads'], name + '_bsnh')], name, perm=perm)

    qt = split_heads(q, 'q_t', [0, 2, 3, 1])
    kh = split_heads(k, 'k', [0, 2, 1, 3])
    vh = split_heads(v, 'v', [0, 2, 1, 3])
    kq = op('Concat', [op('MatMul', [past_k, qt], 'kq_past'), op('MatMul', [kh, qt], 'kq_new')], 'kq', axis=2)
    qk = op('Mul', [op('Transpose', [kq], 'qk', perm=[0, 1, 3, 2]), 'attn.scale'], 'qk_scaled')
    probs = op('Softmax', [op('Add', [qk, bias], 'scores')], 'probs', axis=3)
    from_past = op('MatMul', [op('Slice', [probs, 'attn.zero', 'attn.past', 'attn.axis3'], 'probs_past'), past_v], 'ctx_past')
    from_new = op('MatMul', [op('Slice', [probs, 'attn.past', 'attn.end', 'attn.axis3'], 'probs_new'), vh], 'ctx_new')
    ctx = op('Add', [from_past, from_new], 'ctx_bnsh')
    out = op('Reshape', [op('Transpose', [ctx], 'ctx_bsnh', perm=[0, 2, 1, 3]), 'attn.hidden'], 'context')
    empty = [op('Identity', ['attn.no_present'], 'no_present_key'), op('Identity', ['attn.no_present'], 'no_present_value')]
    return helper.make_graph(nodes, f'attention_{layer}_appending', [],
                             _branch_outputs(heads, head_dim, [out] + empty))


def _rename(nodes, names):
    for n in nodes:
        n.input[:] = [names.get(i, i) for i in n.input]
        n.output[:] = [names.get(o, o) for o in n.output]


def state_dict_from_onnx(graph, cfg):
    """The GPT3 parameters of one of our fp32 exports, read back by position: the exporter may share one initializer
    between equal parameters through Identity nodes (as in random models, where every bias is 0). In graph
    order, the LayerNormalizations are each layer's input and post-attention norms, then the final norm; the MatMuls
    with a constant weight are each layer's query_key_value, dense, dense_h_to_4h and dense_4h_to_h, each followed by
    the Add of its bias; the two table lookups are the word and position embeddings."""
    inits = {t.name: numpy_helper.to_array(t) for t in graph.graph.initializer}
    aliases = {n.output[0]: n.input[0] for n in graph.graph.node if n.op_type == 'Identity' and n.input[0] in inits}
    inits.update({alias: inits[name] for alias, name in aliases.items()})
    consumers = {}
    for n in graph.graph.node:
        for i in n.input:
            consumers.setdefault(i, []).append(n)
    layers = [f'language_model.transformer.layers.{i}.' for i in range(cfg.num_layers)]
    norms = [p + m for p in layers for m in ('input_layernorm', 'post_attention_layernorm')]
    norms.append('language_model.transformer.final_layernorm')
    linears = [p + m for p in layers
               for m in ('attention.query_key_value', 'attention.dense', 'mlp.dense_h_to_4h', 'mlp.dense_4h_to_h')]
    sd = {}

    def put(name, array):
        sd[name] = torch.from_numpy(np.array(array, dtype=np.float32))

    ln_nodes = [n for n in graph.graph.node if n.op_type == 'LayerNormalization']
    mm_nodes = [n for n in graph.graph.node if n.op_type == 'MatMul' and n.input[1] in inits]
    lookups = [n for n in graph.graph.node if n.op_type == 'Gather' and n.input[0] in inits]
    not_ours = SystemExit('error: this ONNX file does not have the layout of a tools/model fp32 export')
    if (len(ln_nodes), len(mm_nodes), len(lookups)) != (len(norms), len(linears), 2):
        raise not_ours
    for name, node in zip(norms, ln_nodes):
        put(name + '.weight', inits[node.input[1]])
        put(name + '.bias', inits[node.input[2]])
    for name, node in zip(linears, mm_nodes):
        put(name + '.weight', inits[node.input[1]].T)
        add = next((n for n in consumers.get(node.output[0], []) if n.op_type == 'Add'), None)
        bias = next((i for i in add.input if i in inits), None) if add is not None else None
        if bias is None:
            raise not_ours
        put(name + '.bias', inits[bias])
    for node in lookups:
        table = inits[node.input[0]]
        which = 'word_embeddings' if table.shape[0] == cfg.vocab_size else 'position_embeddings'
        put(f'language_model.{which}.weight', table)
    return sd


def load_model_dir(path):
    """The GPT3 of a model directory, its weights read back from the fp32 file, and the directory's variants."""
    with open(os.path.join(path, 'config.json'), encoding='utf-8') as f:
        config = json.load(f)
    variants = config.get('kuakua', {}).get('variants', {'fp32': VARIANT_FILES['fp32']})
    fp32 = os.path.join(path, variants['fp32'])
    if not os.path.exists(fp32):
        raise SystemExit(f'error: {fp32} is listed in config.json but missing')
    cfg = GPT3Config(vocab_size=config['vocab_size'], hidden_size=config['n_embd'], num_layers=config['n_layer'],
                     num_attention_heads=config['n_head'], max_position_embeddings=config['n_positions'],
                     layernorm_epsilon=config['layer_norm_epsilon'], eod_id=config['eos_token_id'])
    model = GPT3.blank(cfg)
    model.load_state_dict(state_dict_from_onnx(onnx.load(fp32), cfg), strict=True)
    return model.eval(), variants


def upgrade_model_dir(out):
    """Re-exports a model directory in place with the current exporter (fused attention, step outputs). The weights
    are read back from its fp32 file; every variant config.json lists is rewritten, the quantized ones from the new
    fp32 graph. Tokenizer and config files are left as they are."""
    model, variants = load_model_dir(out)
    graph = export_onnx(model, os.path.join(out, variants['fp32']))
    write_quantized(graph, out, variants)
    print(f'{out}: re-exported {", ".join(sorted(variants))}')


def write_quantized(graph, out, variants):
    """The int8 / q4 files of `variants` ({variant: path}) from the fp32 graph."""
    for variant, make in (('int8', quantize.int8), ('q4', quantize.q4)):
        if variant in variants:
            onnx.save(make(graph), os.path.join(out, variants[variant]))


def tie_lm_head(graph, vocab):
    """Constant folding stores W^T for the LM head beside W for the embedding lookup; keep W once and
    transpose it in the graph (onnxruntime folds that Transpose at load time)."""
    inits = {t.name: t for t in graph.graph.initializer}
    lookup = next(n for n in graph.graph.node if n.op_type == 'Gather' and n.input[0] in inits
                  and inits[n.input[0]].dims[0] == vocab)
    emb_name = lookup.input[0]
    emb = numpy_helper.to_array(inits[emb_name])
    head = next(n for n in graph.graph.node if n.op_type == 'MatMul' and n.output[0] == 'logits')
    folded = inits.get(head.input[1])
    if folded is None:
        return
    if not np.array_equal(numpy_helper.to_array(folded), emb.T):
        raise RuntimeError('LM head weight is not the transposed word embedding')
    graph.graph.initializer.remove(folded)
    graph.graph.node.insert(0, helper.make_node('Transpose', [emb_name], ['lm_head.weight_t'], perm=[1, 0],
                                                name='lm_head_transpose'))
    head.input[1] = 'lm_head.weight_t'


def hf_config(model, tok, name, generation):
    cfg = model.config
    sep, cls, pad = tok.special_id('[SEP]'), tok.special_id('[CLS]'), tok.special_id('[PAD]')
    eod = cfg.eod_id if 0 <= cfg.eod_id < cfg.vocab_size else sep
    return {
        'model_type': 'gpt2',
        'architectures': ['GPT2LMHeadModel'],
        'n_layer': cfg.num_layers,
        'n_head': cfg.num_attention_heads,
        'n_embd': cfg.hidden_size,
        'n_inner': 4 * cfg.hidden_size,
        'n_positions': cfg.max_position_embeddings,
        'n_ctx': cfg.max_position_embeddings,
        'vocab_size': cfg.vocab_size,
        'activation_function': 'gelu',
        'layer_norm_epsilon': cfg.layernorm_epsilon,
        'bos_token_id': cls,
        'eos_token_id': eod,
        'pad_token_id': pad,
        'tie_word_embeddings': True,
        'use_cache': True,
        'kuakua': {
            'name': name,
            'architecture': 'ModelScope GPT3Model (pre-LN, fused QKV, erf GELU, learned positions, tied LM head)',
            'prompt_template': '{post} | ',
            'separator': '|',
            'stop_token_ids': sorted({eod, sep}),
            'generation': generation,
            'variants': dict(VARIANT_FILES),
        },
    }


def write_model_dir(model, tok, out, name, variants=('fp32', 'int8', 'q4'), temperature=GENERATION['temperature'], prompt=None):
    """`prompt`: config.json's prompt_template and prompt_fields for a conditioned model (praise_rows); by default the
    plain `<post> | ` prompt."""
    from wordpiece import write_tokenizer_files
    unknown = set(variants) - set(VARIANT_FILES)
    if unknown:
        raise SystemExit(f'error: unknown variant {sorted(unknown)[0]} (known: {", ".join(VARIANT_FILES)})')
    os.makedirs(out, exist_ok=True)
    graph = export_onnx(model, os.path.join(out, VARIANT_FILES['fp32']))
    write_quantized(graph, out, {v: VARIANT_FILES[v] for v in variants})
    write_tokenizer_files(tok, out)
    generation = dict(GENERATION, temperature=temperature)
    config = hf_config(model, tok, name, generation)
    config['kuakua']['variants'] = {v: VARIANT_FILES[v] for v in VARIANT_FILES if v == 'fp32' or v in variants}
    config['kuakua'].update(prompt or {})
    with open(os.path.join(out, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    gen = {k: config[k] for k in ('bos_token_id', 'eos_token_id', 'pad_token_id')}
    gen.update({k: v for k, v in generation.items() if k != 'min_new_tokens'})
    with open(os.path.join(out, 'generation_config.json'), 'w', encoding='utf-8') as f:
        json.dump(gen, f, indent=2)
