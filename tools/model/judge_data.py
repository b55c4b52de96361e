"""Training groups for the reply judge: each real reply of a topic beside negatives of several kinds.

A group is `{post, reply, popular, negatives: [{text, kind}]}`, and `liked`/`plain` pairs of the same topic carry
the like signal (a top-liked reply over another reply). Negative kinds:

  other-post   a reply to another topic (relevance and tone)
  generated    the generator's own sample for this post (fluency; nonsense tails are its signature)
  cut          the true reply cut mid-phrase
  shuffled     the true reply with a span shuffled
  repeated     the true reply with a run repeated
  spliced      the true reply's start with another reply's end (a fluent start that turns into nonsense)
  poster       a reply in the poster's voice (thanks to the group)

With the praise corpus written for kuakua (tools/praise/export.ts), each of its praises is a true reply too, beside
negatives that fit the tone but not the post, which the douban kinds above never ask the judge to tell apart:

  same-tone    a praise written for another corpus post of the same intent
  template     one of the bot's tone replies (src/fallback.ts): fitting, and could go under any post
  swapped      a praise of another situation with this post's subject put in for its own (retrieval's worst case)
"""
import json
import os
import random

import torch

import corpus

NEGATIVE_KINDS = ('other-post', 'generated', 'cut', 'shuffled', 'repeated', 'spliced', 'poster', 'same-tone', 'template',
                  'swapped')
POSTER_TEMPLATES = ['谢谢大家', '谢谢大家的夸奖！', '谢谢你们，好开心', '谢谢谢谢！我会继续加油的', '哈哈哈谢谢大家的鼓励',
                    '好的！谢谢！', '谢谢你的表扬', '感谢各位姐妹', '收到大家的夸奖好感动', '谢谢小组的大家']


def douban_topics(data_dir):
    """(title, replies, liked) of the douban_kuakua scrape, which keeps the top-liked replies apart."""
    with open(os.path.join(data_dir, 'douban_kuakua', 'content_list.json'), encoding='utf-8') as f:
        for t in json.load(f):
            yield t['info']['title'], t.get('comment_list', []), t.get('popular_list', [])


def corrupt(text, kind, rng, other):
    chars = list(text)
    n = len(chars)
    if kind == 'cut':
        return ''.join(chars[: max(1, int(n * rng.uniform(0.3, 0.7)))])
    if kind == 'shuffled':
        i = rng.randrange(0, max(1, n - 3))
        span = chars[i:i + rng.randint(4, 8)]
        rng.shuffle(span)
        return ''.join(chars[:i] + span + chars[i + len(span):])
    if kind == 'repeated':
        i = rng.randrange(0, max(1, n - 1))
        run = ''.join(chars[i:i + rng.randint(1, 3)])
        return ''.join(chars[:i]) + run * rng.randint(3, 6) + ''.join(chars[i:])
    if kind == 'spliced':
        o = list(other)
        return ''.join(chars[: max(2, n // 2)] + o[len(o) // 2:])
    raise ValueError(kind)


@torch.no_grad()
def sample_replies(model, tok, posts, n, seed, temperature=0.8, top_p=0.9, max_new=40, batch=64):
    """`n` sampled replies per post, as the engine samples them (temperature, top-p, stop at [SEP])."""
    gen = torch.Generator().manual_seed(seed)
    eod = tok.special_id('[SEP]')
    pad = tok.special_id('[PAD]')
    prompts = [tok.encode(p + corpus.SEP)[-60:] for p in posts for _ in range(n)]
    out = []
    for start in range(0, len(prompts), batch):
        rows = prompts[start:start + batch]
        width = max(len(r) for r in rows)
        ids = torch.full((len(rows), width), pad, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            ids[i, width - len(r):] = torch.tensor(r)
            mask[i, width - len(r):] = 1
        logits, past = model(ids, attention_mask=mask)
        done = torch.zeros(len(rows), dtype=torch.bool)
        tokens = [[] for _ in rows]
        for step in range(max_new):
            probs = torch.softmax(logits[:, -1] / temperature, dim=-1)
            sorted_p, order = probs.sort(dim=-1, descending=True)
            keep = sorted_p.cumsum(-1) - sorted_p < top_p
            sorted_p = sorted_p * keep
            choice = order.gather(1, torch.multinomial(sorted_p / sorted_p.sum(-1, keepdim=True), 1, generator=gen))
            for i in range(len(rows)):
                if not done[i]:
                    t = int(choice[i])
                    if t == eod and step >= 2:
                        done[i] = True
                    elif t != eod:
                        tokens[i].append(t)
            if bool(done.all()):
                break
            mask = torch.cat([mask, torch.ones(len(rows), 1, dtype=torch.long)], dim=1)
            logits, past = model(choice, attention_mask=mask, past=past)
        out.extend(tok.decode(t).replace(' ', '') for t in tokens)
    return [out[i * n:(i + 1) * n] for i in range(len(posts))]


def reply_to_another_topic(rng, all_replies, topic):
    """A random reply from `all_replies` ((topic index, reply) pairs) whose topic is not `topic`."""
    while True:
        j, r = rng.choice(all_replies)
        if j != topic:
            return r


def read_corpus(export_dir):
    """Rows and tone replies written by tools/praise/export.ts."""
    with open(os.path.join(export_dir, 'corpus.jsonl'), encoding='utf-8') as f:
        rows = [json.loads(line) for line in f if line.strip()]
    with open(os.path.join(export_dir, 'templates.json'), encoding='utf-8') as f:
        return rows, json.load(f)


def corpus_groups(rows, templates, rng):
    """{'train': [...], 'valid': [...]}: one group per corpus praise (valid: the held-out situations), its negatives
    drawn from the same side of the split."""
    splits = {'train': [], 'valid': []}
    for split in splits:
        side = [r for r in rows if r['heldout'] == (split == 'valid')]
        by_intent = {}
        for r in side:
            by_intent.setdefault(r['intent'], []).append(r)
        naming = [(r, p['text']) for r in side for p in r['praises'] if r['subject'] in p['text']]

        def elsewhere(pool, situation):
            for _ in range(20):
                pick = rng.choice(pool)
                if (pick[0] if isinstance(pick, tuple) else pick)['situation'] != situation:
                    return pick
            return None

        for r in side:
            for p in r['praises']:
                negs = [{'text': rng.choice(templates), 'kind': 'template'}]
                same = elsewhere(by_intent[r['intent']], r['situation'])
                if same:
                    negs.append({'text': rng.choice(same['praises'])['text'], 'kind': 'same-tone'})
                named = elsewhere(naming, r['situation']) if naming else None
                if named:
                    negs.append({'text': named[1].replace(named[0]['subject'], r['subject']), 'kind': 'swapped'})
                splits[split].append({'post': r['post'], 'reply': p['text'],
                                      'negatives': [n for n in negs if n['text'] != p['text']]})
    return splits


def build(data_dir, generator, out_dir, samples_per_post=3, seed=7, heldout=0.1, max_reply=80, corpus_dir=None):
    """Writes train.jsonl / valid.jsonl groups (valid: the corpus builder's held-out topics) and returns counts."""
    import checkpoint
    rng = random.Random(seed)
    topics, unpaired = corpus.praise_topics(data_dir)
    excluded = corpus.spam_replies(topics)
    liked = {title: [corpus.clean(r, max_reply) for r in pop] for title, _, pop in douban_topics(data_dir)}
    poster_pool = list(POSTER_TEMPLATES)
    kept = []
    for title, replies in topics:
        real = corpus.praise_replies(title, replies, max_reply, excluded)
        poster_pool.extend(r for r in (corpus.clean(x, max_reply) for x in replies)
                           if r and corpus.unfit_reply(r, title) == 'poster-voice')
        if real:
            kept.append((title, real))
    model, tok, _ = checkpoint.load(generator)
    torch.manual_seed(seed)
    generated = sample_replies(model, tok, [t for t, _ in kept], samples_per_post, seed)
    all_replies = [(i, r) for i, (_, real) in enumerate(kept) for r in real]
    splits = {'train': [], 'valid': []}
    for i, ((title, real), samples) in enumerate(zip(kept, generated)):
        split = 'valid' if corpus.is_heldout(title, heldout) else 'train'
        top = {r for r in liked.get(title, []) if r}
        plain = [r for r in real if r not in top]

        def other():
            return reply_to_another_topic(rng, all_replies, i)

        for reply in real[:12]:
            negs = [{'text': other(), 'kind': 'other-post'}]
            negs += [{'text': s, 'kind': 'generated'} for s in samples if s and s not in real][:2]
            for kind in ('cut', 'shuffled', 'repeated', 'spliced'):
                if kind in ('cut', 'shuffled') and len(reply) < 6:
                    continue
                negs.append({'text': corrupt(reply, kind, rng, other()), 'kind': kind})
            negs.append({'text': rng.choice(poster_pool), 'kind': 'poster'})
            group = {'post': title, 'reply': reply, 'negatives': [n for n in negs if n['text'] and n['text'] != reply]}
            if reply in top and plain:
                group['over'] = rng.choice(plain)
            splits[split].append(group)
    if corpus_dir:
        for name, groups in corpus_groups(*read_corpus(corpus_dir), random.Random(seed + 1)).items():
            splits[name].extend(groups)
    os.makedirs(out_dir, exist_ok=True)
    for name, groups in splits.items():
        with open(os.path.join(out_dir, f'{name}.jsonl'), 'w', encoding='utf-8') as f:
            for g in groups:
                f.write(json.dumps(g, ensure_ascii=False) + '\n')
    return {name: len(g) for name, g in splits.items()}
