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
URL = re.compile(r'https?://|www\.|传送门')
SPACES = re.compile(r'\s+')
# The poster answering the group: thank-yous to everyone, or a reply that opens with thanks.
POSTER_VOICE = re.compile(r'^(谢谢|感谢|多谢)|(谢谢|感谢|多谢)(大家|你们|各位|小组|组里|组员|姐妹们|大伙|夸奖|表扬|鼓励|你的(夸|表扬|鼓励))|我是楼主|楼主本人')
# A question to the poster or to others (recipes, prices, where): not praise.
QUESTION = re.compile(r'[？?]')
QUESTION_WORD = re.compile(r'吗|嘛|什么|怎么|哪|多少|几|是不是|有没有|能不能|可不可以|请问|求(教程|链接|方法|配方|资源)')
# A reply to another reply rather than to the post.
QUOTE = re.compile(r'^@|@\S|楼上|^\+1|^同上|^同意|^顶')
# Self-harm words never belong in a praise reply.
HARM = re.compile(r'不想活|想死|自杀|轻生|去死|割腕|自残')
BIRTHDAY = re.compile(r'生日|岁|birthday', re.I)
# A long reply posted under this many topics or more is spam or copy-pasted.
SPAM_TOPICS = 3
SPAM_MIN_CHARS = 8


def clean(text, max_chars):
    text = SPACES.sub(' ', (text or '').replace('|', '｜')).strip()
    if not text or URL.search(text) or len(text) > max_chars:
        return None
    return text


def unfit_reply(reply, title=None):
    """Why a reply should not be trained on as praise for `title` (None: keep it)."""
    if POSTER_VOICE.search(reply):
        return 'poster-voice'
    if QUESTION.search(reply) and QUESTION_WORD.search(reply):
        return 'question'
    if QUOTE.search(reply):
        return 'quote'
    if HARM.search(reply):
        return 'harm'
    if title is not None and '生日' in reply and not BIRTHDAY.search(title):
        return 'unrelated-birthday'
    return None


def spam_replies(topics):
    """Replies of SPAM_MIN_CHARS or more that appear under SPAM_TOPICS topics or more."""
    seen = {}
    for title, replies in topics:
        for r in {SPACES.sub('', x or '') for x in replies}:
            if len(r) >= SPAM_MIN_CHARS:
                seen.setdefault(r, set()).add(title)
    return {r for r, titles in seen.items() if len(titles) >= SPAM_TOPICS}


def praise_replies(title, replies, max_reply, excluded):
    """The replies of a topic worth training on: cleaned, unfit ones dropped, and none of `excluded` (spam, the
    posters' own replies), compared without spaces."""
    out = []
    for x in replies:
        r = clean(x, max_reply)
        if r and SPACES.sub('', r) not in excluded and not unfit_reply(r, title):
            out.append(r)
    return out


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


def _bluemomo_poster_replies(path):
    """What posters wrote under their own topics: the same texts, when another scrape holds the topic, are theirs too."""
    out = set()
    with open(path, encoding='utf-8') as f:
        for line in f:
            if line.strip():
                t = json.loads(line)
                out.update(SPACES.sub('', r['content']) for r in t.get('replies', []) if r.get('user_id') == t.get('author'))
    return out


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
    excluded = spam_replies(topics + [(GENERIC_POST, unpaired)])
    excluded |= _bluemomo_poster_replies(os.path.join(data_dir, 'douban_kuakua_bluemomo', 'kuakua.jsonl'))
    train, valid, valid_posts = [], [], []
    for title, replies in topics:
        rows = [{'src_txt': title + SEP + r} for r in praise_replies(title, replies, max_reply, excluded)]
        if not rows:
            continue
        if is_heldout(title, heldout):
            valid.extend(rows)
            valid_posts.append(title)
        else:
            train.extend(rows)
    train.extend({'src_txt': GENERIC_POST + SEP + r} for r in praise_replies(None, unpaired, max_reply, excluded))
    general = [{'src_txt': t} for t in general_texts(data_dir, 120)]
    for name, rows in (('train', train), ('valid', valid), ('general', general)):
        with open(os.path.join(out_dir, f'{name}.jsonl'), 'w', encoding='utf-8') as f:
            for row in rows:
                f.write(json.dumps(row, ensure_ascii=False) + '\n')
    with open(os.path.join(out_dir, 'valid_posts.json'), 'w', encoding='utf-8') as f:
        json.dump(valid_posts, f, ensure_ascii=False, indent=0)
    return {'topics': len(topics), 'train': len(train), 'valid': len(valid), 'valid_topics': len(valid_posts),
            'general': len(general)}


def dev_set(data_dir, out, count, seed=5, heldout=0.1, max_reply=80):
    """`count` held-out topics (the same hash split as build) as JSONL {post, category: 'douban', human}: the human
    reply is one of the group's replies to the topic, drawn at random (not the poster's own)."""
    import random
    rng = random.Random(seed)
    topics, _ = praise_topics(data_dir)
    rows = []
    for title, replies in topics:
        if not is_heldout(title, heldout):
            continue
        group = [r for r in (clean(x, max_reply) for x in replies) if r and unfit_reply(r) != 'poster-voice']
        if group:
            rows.append({'post': title, 'category': 'douban', 'human': rng.choice(group)})
    rng.shuffle(rows)
    with open(out, 'w', encoding='utf-8') as f:
        for row in rows[:count]:
            f.write(json.dumps(row, ensure_ascii=False) + '\n')
    return {'heldout_topics': len(rows), 'written': min(count, len(rows))}
