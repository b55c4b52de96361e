"""Builds kuakua-mini's training rows (JSONL, one `src_txt` per row, the seed's format) from the
public praise data: douban 相互表扬小组 scrapes, plus general Chinese text for fluency.

Praise rows are `<post> | <reply>`; general rows carry no separator and are trained on in full.
Whole topics are held out for validation (by a stable hash of the title).
"""
import hashlib
import json
import os
import re

SEP = ' | '
GENERIC_POST = '求夸'
URL = re.compile(r'https?://|www\.')
SPACES = re.compile(r'\s+')


def clean(text, max_chars):
    text = SPACES.sub(' ', (text or '').replace('|', '｜')).strip()
    if not text or URL.search(text) or len(text) > max_chars:
        return None
    return text


def is_heldout(title, fraction):
    digest = hashlib.sha1(title.encode('utf-8')).digest()
    return digest[0] / 256.0 < fraction


def _douban(path):
    with open(path, encoding='utf-8') as f:
        for topic in json.load(f):
            yield topic['info']['title'], topic['info'].get('href'), topic.get('comment_list', [])


def _bluemomo(path):
    with open(path, encoding='utf-8') as f:
        for line in f:
            if not line.strip():
                continue
            t = json.loads(line)
            replies = [r['content'] for r in t.get('replies', []) if r.get('user_id') != t.get('author')]
            yield t['title'], t.get('url'), replies


def _cgh233(path):
    with open(path, encoding='utf-8') as f:
        for item in json.load(f):
            for title, replies in item.items():
                yield title, None, replies


def _forg77(folder, paired_lines=1500):
    with open(os.path.join(folder, 'titles.txt'), encoding='utf-8') as f:
        titles = f.read().split('\n')
    with open(os.path.join(folder, 'replies.txt'), encoding='utf-8') as f:
        replies = f.read().split('\n')
    paired, unpaired = [], []
    for i, line in enumerate(replies):
        parts = [p for p in line.split('##') if p.strip()]
        if i < paired_lines and i < len(titles):
            paired.append((titles[i], None, parts))
        else:
            unpaired.extend(parts)
    return paired, unpaired


def praise_topics(data_dir):
    """Every (title, replies) topic, de-duplicated across sources by url or title; and unpaired replies."""
    seen, topics = set(), []

    def add(source):
        for title, url, replies in source:
            title = clean(title, 120)
            if not title or title in seen or (url and url in seen):
                continue
            seen.add(title)
            if url:
                seen.add(url)
            topics.append((title, replies))

    add(_douban(os.path.join(data_dir, 'douban_kuakua', 'content_list.json')))
    add(_bluemomo(os.path.join(data_dir, 'douban_kuakua_bluemomo', 'kuakua.jsonl')))
    add(_cgh233(os.path.join(data_dir, 'douban_kuakua_cgh233', 'kuakua.json')))
    paired, unpaired = _forg77(os.path.join(data_dir, 'douban_kuakua_forg77'))
    add(paired)
    return topics, unpaired


def general_texts(data_dir, max_chars):
    gen = os.path.join(data_dir, 'general_zh')
    with open(os.path.join(gen, 'clue_small_sampled.txt'), encoding='utf-8') as f:
        for line in f:
            for i in range(0, len(line.strip()), max_chars):
                piece = clean(line.strip()[i:i + max_chars], max_chars)
                if piece:
                    yield piece
    with open(os.path.join(gen, 'book_review_cls.txt'), encoding='utf-8') as f:
        for line in f:
            text = clean(line.split('\t', 1)[-1], max_chars)
            if text and not text.startswith('text'):
                yield text
    with open(os.path.join(data_dir, 'lccc_toy', 'toy_train.txt'), encoding='utf-8') as f:
        for line in f:
            turns = [clean(t.replace(' ', ''), max_chars) for t in line.rstrip('\n').split('\t')]
            if len(turns) >= 2 and all(turns[:2]):
                yield turns[0] + SEP + turns[1]


def build(data_dir, out_dir, heldout=0.1, max_reply=80):
    """Writes train.jsonl, valid.jsonl (praise, held-out topics), general.jsonl and valid_posts.json."""
    os.makedirs(out_dir, exist_ok=True)
    topics, unpaired = praise_topics(data_dir)
    train, valid, valid_posts = [], [], []
    for title, replies in topics:
        rows = [{'src_txt': title + SEP + r} for r in (clean(x, max_reply) for x in replies) if r]
        if not rows:
            continue
        if is_heldout(title, heldout):
            valid.extend(rows)
            valid_posts.append(title)
        else:
            train.extend(rows)
    train.extend({'src_txt': GENERIC_POST + SEP + r} for r in (clean(x, max_reply) for x in unpaired) if r)
    general = [{'src_txt': t} for t in general_texts(data_dir, 120)]
    for name, rows in (('train', train), ('valid', valid), ('general', general)):
        with open(os.path.join(out_dir, f'{name}.jsonl'), 'w', encoding='utf-8') as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + '\n')
    with open(os.path.join(out_dir, 'valid_posts.json'), 'w', encoding='utf-8') as f:
        json.dump(valid_posts, f, ensure_ascii=False, indent=0)
    return {'topics': len(topics), 'train': len(train), 'valid': len(valid), 'valid_topics': len(valid_posts),
            'general': len(general)}
