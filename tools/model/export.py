"""Export to ONNX (opset 17, Optimum / transformers.js I/O names) and write a model directory:

  config.json, generation_config.json          GPT-2 compatible, plus our `kuakua` section
  tokenizer.json, tokenizer_config.json, vocab.txt
  onnx/model.onnx, onnx/model_int8.onnx, onnx/model_q4.onnx
"""
import json
import os
import tempfile

import numpy as np
import onnx
import torch
from onnx import TensorProto, helper, numpy_helper

import quantize

OPSET = 17
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
    axes = {'input_ids': {0: 'batch', 1: 'sequence'}, 'attention_mask': {0: 'batch', 1: 'total_sequence'},
            'position_ids': {0: 'batch', 1: 'sequence'}, 'logits': {0: 'batch', 1: 'sequence'}}
    axes.update({n: {0: 'batch', 2: 'past_sequence'} for n in inputs[3:]})
    axes.update({n: {0: 'batch', 2: 'total_sequence'} for n in outputs[1:]})
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, 'model.onnx')
        with torch.no_grad():
            torch.onnx.export(OnnxGraph(model).eval(), tuple(dummy), raw, input_names=inputs, output_names=outputs,
                              dynamic_axes=axes, opset_version=OPSET, do_constant_folding=True)
        graph = onnx.load(raw)
    tie_lm_head(graph)
    add_step_outputs(graph)
    onnx.save(graph, path)
    return graph


STEP_OUTPUT = 'new_key_values.{layer}.{kv}'


def add_step_outputs(graph):
    """Adds `new_key_values.{i}.key|value`: the keys and values this run appended, [batch, heads, sequence, head_dim],
    i.e. the last `sequence` columns of `present.*`. A runtime that keeps its own cache can fetch these instead of
    the whole `present` (onnxruntime-node copies every fetched output into fresh memory, so fetching `present`
    costs a copy of the entire cache per token). Standard `present` outputs are unchanged; other runtimes ignore
    the extra outputs. Idempotent."""
    names = {o.name for o in graph.graph.output}
    for out in list(graph.graph.output):
        if not out.name.startswith('present.'):
            continue
        _, layer, kv = out.name.split('.')
        name = STEP_OUTPUT.format(layer=layer, kv=kv)
        if name in names:
            continue
        concat = next((n for n in graph.graph.node if out.name in n.output), None)
        if concat is None or concat.op_type != 'Concat' or len(concat.input) != 2:
            raise RuntimeError(f'{out.name} is not Concat(past, new): cannot add {name}')
        graph.graph.node.append(helper.make_node('Identity', [concat.input[1]], [name], name=f'{name}_identity'))
        dims = [d.dim_param or d.dim_value for d in out.type.tensor_type.shape.dim]
        dims[2] = 'sequence'
        graph.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))


def upgrade_model_dir(out):
    """Brings every ONNX file of an exported model directory to the current output set (see add_step_outputs)."""
    with open(os.path.join(out, 'config.json'), encoding='utf-8') as f:
        variants = json.load(f).get('kuakua', {}).get('variants', VARIANT_FILES)
    for rel in sorted(set(variants.values())):
        path = os.path.join(out, rel)
        if not os.path.exists(path):
            raise SystemExit(f'error: {path} is listed in config.json but missing')
        graph = onnx.load(path)
        before = len(graph.graph.output)
        add_step_outputs(graph)
        if len(graph.graph.output) != before:
            onnx.save(graph, path)
        print(f'{rel}: {len(graph.graph.output) - before} outputs added')


def tie_lm_head(graph):
    """Constant folding stores W^T for the LM head beside W for the embedding lookup; keep W once and
    transpose it in the graph (onnxruntime folds that Transpose at load time)."""
    inits = {t.name: t for t in graph.graph.initializer}
    vocab = graph.graph.output[0].type.tensor_type.shape.dim[2].dim_value
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


def write_model_dir(model, tok, out, name, variants=('fp32', 'int8', 'q4'), temperature=GENERATION['temperature']):
    from wordpiece import write_tokenizer_files
    unknown = set(variants) - set(VARIANT_FILES)
    if unknown:
        raise SystemExit(f'error: unknown variant {sorted(unknown)[0]} (known: {", ".join(VARIANT_FILES)})')
    os.makedirs(out, exist_ok=True)
    graph = export_onnx(model, os.path.join(out, VARIANT_FILES['fp32']))
    if 'int8' in variants:
        onnx.save(quantize.int8(graph), os.path.join(out, VARIANT_FILES['int8']))
    if 'q4' in variants:
        onnx.save(quantize.q4(graph), os.path.join(out, VARIANT_FILES['q4']))
    write_tokenizer_files(tok, out)
    generation = dict(GENERATION, temperature=temperature)
    config = hf_config(model, tok, name, generation)
    config['kuakua']['variants'] = {v: VARIANT_FILES[v] for v in VARIANT_FILES if v == 'fp32' or v in variants}
    with open(os.path.join(out, 'config.json'), 'w', encoding='utf-8') as f:
        json.dump(config, f, ensure_ascii=False, indent=2)
    gen = {k: config[k] for k in ('bos_token_id', 'eos_token_id', 'pad_token_id')}
    gen.update({k: v for k, v in generation.items() if k != 'min_new_tokens'})
    with open(os.path.join(out, 'generation_config.json'), 'w', encoding='utf-8') as f:
        json.dump(gen, f, indent=2)
