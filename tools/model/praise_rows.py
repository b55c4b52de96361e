"""Training rows for a generator conditioned on the post reader: the praise corpus written for kuakua (exported by
tools/praise/export.ts) and the douban rows of build-data, all in one prompt template that names the post's intent
and subject before the post.

The template and the intents' names are written into the model directory's config.json (`prompt_template`,
`prompt_fields`), which is where the engine reads them; a model converted without them keeps the plain
`<post> | ` prompt. The douban rows carry no reading, so they get `missing` for both fields.
"""
import json
import os
import random

from train import SEP

TEMPLATE = '{intent}，关于{subject}：{post}' + SEP
INTENT_NAMES = {'achievement': '成就', 'effort': '坚持', 'daily_win': '小确幸', 'made_shown': '作品', 'kindness': '善意',
                'courage': '勇气', 'celebration': '庆祝', 'setback': '挫折', 'sad': '难过', 'tired_wronged': '委屈',
                'anxious': '担心', 'joke': '玩笑'}
MISSING = '无'


def prompt_fields():
    """The config.json entry the engine fills the template with (worker/engine/prompt.ts)."""
    return {'intent': dict(INTENT_NAMES), 'missing': MISSING}


def prompt(post, intent=None, subject=None):
    return TEMPLATE.format(intent=INTENT_NAMES.get(intent, MISSING), subject=subject or MISSING, post=post)


def _read_jsonl(path):
    with open(path, encoding='utf-8') as f:
        return [json.loads(line) for line in f if line.strip()]


def build(corpus_dir, douban_dir, out_dir, corpus_repeat=3, seed=11):
    """train.jsonl: each corpus praise `corpus_repeat` times (the corpus is small beside douban) and every douban row;
    valid.jsonl: the corpus's held-out situations (the model card's perplexity) and douban's held-out topics;
    valid-corpus.jsonl: the held-out situations alone. Returns the counts."""
    rng = random.Random(seed)
    corpus = _read_jsonl(os.path.join(corpus_dir, 'corpus.jsonl'))
    rows = {'train': [], 'valid': [], 'valid-corpus': []}
    for r in corpus:
        for p in r['praises']:
            row = {'src_txt': prompt(r['post'], r['intent'], r['subject']) + p['text']}
            if r['heldout']:
                rows['valid'].append(row)
                rows['valid-corpus'].append(row)
            else:
                rows['train'].extend([row] * corpus_repeat)
    for split in ('train', 'valid'):
        for d in _read_jsonl(os.path.join(douban_dir, f'{split}.jsonl')):
            if SEP in d['src_txt']:
                post, reply = d['src_txt'].split(SEP, 1)
                rows[split].append({'src_txt': prompt(post) + reply})
    rng.shuffle(rows['train'])
    os.makedirs(out_dir, exist_ok=True)
    for name, part in rows.items():
        with open(os.path.join(out_dir, f'{name}.jsonl'), 'w', encoding='utf-8') as f:
            f.writelines(json.dumps(x, ensure_ascii=False) + '\n' for x in part)
    return {name: len(part) for name, part in rows.items()}
