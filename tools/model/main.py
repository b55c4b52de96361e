#!/usr/bin/env python3
"""kuakua model tools: build-data, dev-set, train, convert, upgrade, unpack, random, judge-data, judge-train, judge-random,
judge-reference, fit-score, reader-train, reader-random, reader-reference, tokenize, reference, unittest.

Run with Debian's python3 (python3-torch, python3-onnx, python3-numpy, libopenblas0-pthread).
"""
import argparse
import json
import os
import sys

os.environ.setdefault('OMP_WAIT_POLICY', 'PASSIVE')

# Weights and activations are malloc'd in blocks of megabytes. With transparent huge pages in `madvise` mode (a common
# default), glibc backs them with 4 KiB pages unless told otherwise, and page faults then took most of a GPT-3-large
# conversion: BENCHMARKS.md#model-tools. The tunable is read at process start, hence the re-exec; a glibc that does not
# know it ignores it, and a hugetlb setting already in GLIBC_TUNABLES (=0 turns it off) is kept.
HUGE_PAGES = 'glibc.malloc.hugetlb'
if not any(t.startswith(HUGE_PAGES + '=') for t in os.environ.get('GLIBC_TUNABLES', '').split(':')):
    os.environ['GLIBC_TUNABLES'] = ':'.join(filter(None, [os.environ.get('GLIBC_TUNABLES'), HUGE_PAGES + '=1']))
    os.execv(sys.executable, [sys.executable] + sys.argv)

try:
    import torch  # noqa: E402
except ImportError:
    # Debian's python3-torch lives under the system interpreter; another python3 may come first on PATH.
    if os.path.realpath(sys.executable) != os.path.realpath('/usr/bin/python3') and os.path.exists('/usr/bin/python3'):
        os.execv('/usr/bin/python3', ['/usr/bin/python3'] + sys.argv)
    raise SystemExit('error: PyTorch is missing: apt-get install python3-torch python3-onnx python3-numpy libopenblas0-pthread')

torch.set_num_threads(int(os.environ.get('KUAKUA_TORCH_THREADS', '2')))


def cmd_build_data(a):
    import corpus
    print(json.dumps(corpus.build(a.data_dir, a.out, a.heldout)))


def cmd_dev_set(a):
    import corpus
    print(json.dumps(corpus.dev_set(a.data_dir, a.out, a.count, a.seed)))


def cmd_train(a):
    import train
    train.run(a)


def cmd_convert(a):
    import checkpoint
    import export
    import praise_rows
    model, tok, raw = checkpoint.load(a.checkpoint)
    conditioned = {'prompt_template': praise_rows.TEMPLATE, 'prompt_fields': praise_rows.prompt_fields()}
    export.write_model_dir(model, tok, a.out, name=a.name or os.path.basename(os.path.normpath(a.checkpoint)),
                           variants=a.variants.split(','), temperature=a.temperature,
                           prompt=conditioned if a.conditioned else None)
    print(f'wrote {a.out}')


def cmd_praise_rows(a):
    import praise_rows
    print(json.dumps(praise_rows.build(a.corpus, a.douban, a.out, corpus_repeat=a.corpus_repeat)))


def cmd_upgrade(a):
    import export
    export.upgrade_model_dir(a.dir)


def cmd_unpack(a):
    import checkpoint
    import export
    from wordpiece import WordPiece
    model, _ = export.load_model_dir(a.dir)
    checkpoint.save(model, WordPiece.from_file(os.path.join(a.dir, 'vocab.txt')), a.out)
    print(f'wrote {a.out}')


def cmd_random(a):
    import export
    from arch import GPT3, GPT3Config, init_weights
    from wordpiece import WordPiece, pad_vocab
    import checkpoint
    if a.large:
        a.layers, a.heads, a.hidden, a.positions, a.vocab_size = 24, 16, 1024, 2048, 25600
    tok = WordPiece.from_file(a.vocab)
    if a.vocab_size:
        tok = pad_vocab(tok, a.vocab_size)
    cfg = GPT3Config(vocab_size=len(tok.vocab), hidden_size=a.hidden, num_layers=a.layers,
                     num_attention_heads=a.heads, max_position_embeddings=a.positions, eod_id=tok.special_id('[SEP]'))
    model = GPT3.blank(cfg)
    init_weights(model, std=a.std, seed=a.seed)
    model.eval()
    if a.checkpoint:
        checkpoint.save(model, tok, a.checkpoint, wrap=a.wrap)
    if a.out:
        export.write_model_dir(model, tok, a.out, name=a.name or 'random', variants=a.variants.split(','))
    print(json.dumps({'out': a.out, 'checkpoint': a.checkpoint, 'config': cfg.to_dict()}))


def cmd_judge_data(a):
    import judge_data
    print(json.dumps(judge_data.build(a.data_dir, a.generator, a.out, samples_per_post=a.samples, corpus_dir=a.corpus)))


def cmd_judge_train(a):
    import judge
    judge.train(a)


def cmd_judge_random(a):
    import judge
    judge.random_judge_dir(a.out, a.vocab, a.layers, a.heads, a.hidden, a.seed)
    print(json.dumps({'out': a.out}))


def cmd_judge_reference(a):
    """PyTorch judge scores for [[post, reply], ...] on stdin, with the token ids the judge read."""
    import judge
    model, tok = judge.load_judge(a.dir, a.state or os.path.join(a.dir, 'judge_state.pt'))
    scores, ids, mask = judge.reference_scores(model, tok, json.load(sys.stdin))
    json.dump({'scores': scores, 'input_ids': ids, 'attention_mask': mask}, sys.stdout)


def cmd_fit_score(a):
    import fit_score
    print(json.dumps(fit_score.fit(a.labeled), indent=1))


def cmd_reader_train(a):
    import reader
    reader.train(a)


def cmd_reader_ngram(a):
    import ngram_reader
    ngram_reader.train(a)


def cmd_reader_ngram_reference(a):
    import ngram_reader
    ngram_reader.reference(a.dir)


def cmd_reader_random(a):
    import reader
    with open(a.labels, encoding='utf-8') as f:
        labels = json.load(f)
    reader.random_reader_dir(a.out, a.vocab, labels, a.layers, a.heads, a.hidden, a.seed)
    if a.ngram:
        import ngram_reader
        ngram_reader.random_bag(a.out, a.seed)
    print(json.dumps({'out': a.out}))


def cmd_reader_reference(a):
    """PyTorch reader outputs for ["post", ...] on stdin, with the token ids it read, for parity tests of the export."""
    import reader
    model, tok, config = reader.load_reader(a.dir, a.state or os.path.join(a.dir, 'reader_state.pt'))
    posts = json.load(sys.stdin)
    pad = tok.special_id('[PAD]')
    ids, mask = reader.batch_tensors([reader.encode_post(tok, t) for t in posts], pad)
    with torch.no_grad():
        intent, distress = model(ids, mask)
    json.dump({'intent_logits': intent.tolist(), 'distress_logit': distress.tolist(), 'input_ids': ids.tolist()}, sys.stdout)


def cmd_tokenize(a):
    from wordpiece import WordPiece
    tok = WordPiece.from_file(os.path.join(a.model, 'vocab.txt'))
    for line in sys.stdin:
        if line.strip():
            print(json.dumps(tok.encode(json.loads(line))))


def cmd_reference(a):
    """PyTorch logits for a checkpoint on JSON input, for parity tests of the ONNX export."""
    import checkpoint
    model, _, _ = checkpoint.load(a.checkpoint)
    req = json.load(sys.stdin)
    ids = torch.tensor(req['input_ids'], dtype=torch.long)
    mask = torch.tensor(req['attention_mask'], dtype=torch.long) if 'attention_mask' in req else None
    with torch.no_grad():
        logits, _ = model(ids, attention_mask=mask)
    json.dump({'logits': logits.tolist()}, sys.stdout)


def cmd_unittest(a):
    import unittest
    suite = unittest.defaultTestLoader.discover(os.path.join(os.path.dirname(os.path.abspath(__file__)), 'tests'))
    result = unittest.TextTestRunner(verbosity=1).run(suite)
    if result.testsRun == 0:
        sys.exit('error: no tests found in tools/model/tests')
    sys.exit(0 if result.wasSuccessful() else 1)


def main(argv=None):
    p = argparse.ArgumentParser(prog='tools/model/main.py', description=__doc__)
    sub = p.add_subparsers(dest='cmd', required=True)
    here = os.path.dirname(os.path.abspath(__file__))
    default_vocab = os.path.join(here, '..', '..', 'models', 'kuakua-mini', 'vocab.txt')

    s = sub.add_parser('build-data', help='write kuakua-mini JSONL rows from the shared praise data')
    s.add_argument('--data-dir', required=True)
    s.add_argument('--out', required=True)
    s.add_argument('--heldout', type=float, default=0.1, help='fraction of topics held out for validation')
    s.set_defaults(fn=cmd_build_data)

    s = sub.add_parser('dev-set', help='held-out douban topics with one human reply each, for npm run eval and blind judging')
    s.add_argument('--data-dir', required=True)
    s.add_argument('--out', required=True)
    s.add_argument('--count', type=int, default=60)
    s.add_argument('--seed', type=int, default=5)
    s.set_defaults(fn=cmd_dev_set)

    s = sub.add_parser('train', help='train from scratch or fine-tune (--init) on src_txt JSONL')
    s.add_argument('--data', required=True, help='JSONL rows with a src_txt field ("<post> | <praise>")')
    s.add_argument('--general', help='JSONL of general text (trained on in full) for the warm-up phase')
    s.add_argument('--general-frac', type=float, default=0.25, help='share of steps spent on --general first')
    s.add_argument('--mix', type=float, default=0.1, help='share of later batches still drawn from --general')
    s.add_argument('--valid', help='held-out JSONL; validation perplexity is reported at the end')
    s.add_argument('--out', required=True, help='checkpoint directory (ModelScope layout) to write')
    s.add_argument('--init', help='ModelScope checkpoint directory to fine-tune instead of training from scratch')
    s.add_argument('--resume', action='store_true', help='continue from OUT/trainer_state.pt')
    s.add_argument('--layers', type=int, default=4)
    s.add_argument('--heads', type=int, default=4)
    s.add_argument('--hidden', type=int, default=256)
    s.add_argument('--positions', type=int, default=128)
    s.add_argument('--vocab-size', type=int, default=3500)
    s.add_argument('--seq-len', type=int, default=96)
    s.add_argument('--batch', type=int, default=32)
    s.add_argument('--steps', type=int, default=6000)
    s.add_argument('--lr', type=float, default=3e-4)
    s.add_argument('--warmup', type=int, default=300)
    s.add_argument('--save-every', type=int, default=250)
    s.add_argument('--max-minutes', type=float, default=0, help='stop (and save) after this long')
    s.add_argument('--seed', type=int, default=1234)
    s.set_defaults(fn=cmd_train)

    s = sub.add_parser('convert', aliases=['export'], help='ModelScope checkpoint dir -> model directory (ONNX + tokenizer + config)')
    s.add_argument('checkpoint', help='directory with pytorch_model.bin, config.json, vocab.txt')
    s.add_argument('--out', required=True)
    s.add_argument('--name')
    s.add_argument('--variants', default='fp32,int8,q4')
    s.add_argument('--temperature', type=float, default=1.0, help='default sampling temperature recorded in config.json')
    s.add_argument('--conditioned', action='store_true',
                   help="the prompt names the post reader's intent and subject (a model trained on praise-rows)")
    s.set_defaults(fn=cmd_convert)

    s = sub.add_parser('praise-rows', help='training rows conditioned on the post reader: the praise corpus + douban rows')
    s.add_argument('--corpus', required=True, help='tools/praise/export.ts output directory')
    s.add_argument('--douban', required=True, help='build-data output directory (train.jsonl, valid.jsonl)')
    s.add_argument('--out', required=True)
    s.add_argument('--corpus-repeat', type=int, default=3, help='times each corpus praise appears in train.jsonl')
    s.set_defaults(fn=cmd_praise_rows)

    s = sub.add_parser('upgrade', help='re-export a model directory in place with the current exporter (weights read from its fp32 file)')
    s.add_argument('dir', help='model directory (config.json + onnx/)')
    s.set_defaults(fn=cmd_upgrade)

    s = sub.add_parser('unpack', help='model directory -> ModelScope checkpoint (weights from its fp32 file), e.g. to fine-tune it with train --init')
    s.add_argument('dir', help='model directory (config.json + onnx/ + vocab.txt)')
    s.add_argument('--out', required=True)
    s.set_defaults(fn=cmd_unpack)

    s = sub.add_parser('random', help='a model directory of any shape with random weights')
    s.add_argument('--out')
    s.add_argument('--checkpoint', help='also write the weights as a ModelScope checkpoint directory')
    s.add_argument('--wrap', action='store_true', help="wrap the checkpoint as {'state_dict': ...}")
    s.add_argument('--large', action='store_true', help='the GPT-3 large shape: 24 layers, 16 heads, 1024, vocab 25600')
    s.add_argument('--layers', type=int, default=2)
    s.add_argument('--heads', type=int, default=2)
    s.add_argument('--hidden', type=int, default=64)
    s.add_argument('--positions', type=int, default=128)
    s.add_argument('--vocab', default=default_vocab)
    s.add_argument('--vocab-size', type=int, default=0, help='pad the vocab with [unusedN] tokens to this size')
    s.add_argument('--std', type=float, default=0.2)
    s.add_argument('--seed', type=int, default=0)
    s.add_argument('--name')
    s.add_argument('--variants', default='fp32,int8,q4')
    s.set_defaults(fn=cmd_random)

    s = sub.add_parser('judge-data', help="the reply judge's training groups: true replies beside negatives of each kind")
    s.add_argument('--data-dir', required=True)
    s.add_argument('--generator', required=True, help='checkpoint whose samples serve as the "generated" negatives')
    s.add_argument('--out', required=True)
    s.add_argument('--samples', type=int, default=3, help='generator samples per post')
    s.add_argument('--corpus', help='tools/praise/export.ts output: the praise corpus as more groups')
    s.set_defaults(fn=cmd_judge_data)

    s = sub.add_parser('judge-train', help='train the reply judge (initialised from a generator checkpoint) and write its directory')
    s.add_argument('--data', required=True, help='judge-data output directory')
    s.add_argument('--init', required=True, help='generator checkpoint: its tokenizer and starting weights')
    s.add_argument('--init-judge', help='judge directory to start from instead (fine-tuning; weights from its fp32 ONNX)')
    s.add_argument('--out', required=True, help='training state directory (judge_state.pt, resumable)')
    s.add_argument('--out-dir', required=True, help='judge directory to write (ONNX, tokenizer, config)')
    s.add_argument('--resume', action='store_true')
    s.add_argument('--steps', type=int, default=1500)
    s.add_argument('--batch', type=int, default=16, help='groups per step')
    s.add_argument('--lr', type=float, default=2e-4)
    s.add_argument('--warmup', type=int, default=100)
    s.add_argument('--save-every', type=int, default=100)
    s.add_argument('--max-minutes', type=float, default=0)
    s.add_argument('--seed', type=int, default=1234)
    s.set_defaults(fn=cmd_judge_train)

    def small_random_shape(s):
        """The options of a random test directory: where it goes and the backbone's shape."""
        s.add_argument('--out', required=True)
        s.add_argument('--vocab', default=default_vocab)
        s.add_argument('--layers', type=int, default=2)
        s.add_argument('--heads', type=int, default=2)
        s.add_argument('--hidden', type=int, default=64)
        s.add_argument('--seed', type=int, default=0)

    s = sub.add_parser('judge-random', help='a judge directory with random weights (tests), with judge_state.pt')
    small_random_shape(s)
    s.set_defaults(fn=cmd_judge_random)

    s = sub.add_parser('reader-train', help='train the post reader (intent + distress) on tools/reader/prepare.ts output')
    s.add_argument('--data', required=True, help='prepared directory: train.jsonl, test.jsonl, labels.json')
    s.add_argument('--init-dir', help='model directory (ONNX) whose weights and tokenizer it starts from')
    s.add_argument('--init', help='or a generator checkpoint directory')
    s.add_argument('--out', required=True, help='training state directory (reader_state.pt, resumable)')
    s.add_argument('--out-dir', required=True, help='reader directory to write (ONNX, tokenizer, config, metrics)')
    s.add_argument('--resume', action='store_true')
    s.add_argument('--steps', type=int, default=1000)
    s.add_argument('--batch', type=int, default=32)
    s.add_argument('--lr', type=float, default=3e-4)
    s.add_argument('--warmup', type=int, default=60)
    s.add_argument('--distress-weight', type=float, default=3.0, help='weight of a distress row in the distress loss')
    s.add_argument('--written-repeat', type=int, default=1,
                   help='times each written row is in the pool batches are drawn from (every other row once)')
    s.add_argument('--teacher', help='soft targets to distil from (tools/reader/teach.ts): every training row and unlabelled posts')
    s.add_argument('--teacher-weight', type=float, default=1.0, help='weight of the loss against the teachers')
    s.add_argument('--distress-from-teacher', action='store_true',
                   help="learn distress from the teachers' readings alone, to keep their distress output and threshold")
    s.add_argument('--min-recall', type=float, default=0.95, help='distress recall on the dev rows that sets the threshold')
    s.add_argument('--min-precision', type=float, help='instead: the threshold of highest dev recall at this dev precision')
    s.add_argument('--save-every', type=int, default=100)
    s.add_argument('--seed', type=int, default=1234)
    s.set_defaults(fn=cmd_reader_train)

    s = sub.add_parser('reader-ngram', help="train the reader's character n-gram bag into a reader directory, and re-pick the threshold")
    s.add_argument('--data', required=True, help='prepared directory: train.jsonl, test.jsonl, labels.json')
    s.add_argument('--reader-dir', required=True, help='reader directory (reader-train --out-dir): ngram.bin and config.json go there')
    s.add_argument('--reader-state', required=True, help="that reader's reader_state.pt, to read the dev share with")
    s.add_argument('--weight', type=float, default=0.5, help="the bag's share of the mixed probabilities")
    s.add_argument('--epochs', type=int, default=5)
    s.add_argument('--written-repeat', type=int, default=2)
    s.add_argument('--min-recall', type=float, help='the highest threshold that keeps this dev recall')
    s.add_argument('--min-precision', type=float, default=0.8, help='else: the threshold of highest dev recall at this dev precision')
    s.add_argument('--seed', type=int, default=7)
    s.set_defaults(fn=cmd_reader_ngram)

    s = sub.add_parser('reader-ngram-reference', help="the n-gram bag's outputs for [\"post\", ...] on stdin (ngram.bin)")
    s.add_argument('--dir', required=True, help='reader directory')
    s.set_defaults(fn=cmd_reader_ngram_reference)

    s = sub.add_parser('reader-random', help='a reader directory with random weights (tests), with reader_state.pt')
    small_random_shape(s)
    s.add_argument('--labels', required=True, help='JSON array of intent labels')
    s.add_argument('--ngram', action='store_true', help='with a character n-gram bag of random weights')
    s.set_defaults(fn=cmd_reader_random)

    s = sub.add_parser('reader-reference', help='PyTorch reader outputs for ["post", ...] on stdin')
    s.add_argument('--dir', required=True, help='reader directory')
    s.add_argument('--state', help='reader_state.pt (default: DIR/reader_state.pt)')
    s.set_defaults(fn=cmd_reader_reference)

    s = sub.add_parser('judge-reference', help='PyTorch judge scores for [[post, reply], ...] on stdin')
    s.add_argument('--dir', required=True, help='judge directory')
    s.add_argument('--state', help='judge_state.pt (default: DIR/judge_state.pt)')
    s.set_defaults(fn=cmd_judge_reference)

    s = sub.add_parser('fit-score', help="fit policy.score to blind-judged candidates (QUALITY.md)")
    s.add_argument('labeled', help='JSONL of {post, system, reply, score, logprob, judge}')
    s.set_defaults(fn=cmd_fit_score)

    s = sub.add_parser('tokenize', help='JSON strings on stdin -> JSON id lists (reference tokenizer)')
    s.add_argument('--model', required=True)
    s.set_defaults(fn=cmd_tokenize)

    s = sub.add_parser('reference', help='PyTorch logits for {"input_ids", "attention_mask"?} on stdin')
    s.add_argument('--checkpoint', required=True)
    s.set_defaults(fn=cmd_reference)

    s = sub.add_parser('unittest', help="run the toolchain's Python unit tests")
    s.set_defaults(fn=cmd_unittest)

    a = p.parse_args(argv)
    a.fn(a)


if __name__ == '__main__':
    main()
