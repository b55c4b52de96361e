"""BERT WordPiece tokenization as ModelScope's GPT-3 uses it (vocab.txt), plus writing the
equivalent Hugging Face tokenizer.json.

This is the Python reference the TypeScript engine's tokenizer (@huggingface/tokenizers reading
tokenizer.json) is checked against, and what training tokenizes with.
"""
import json
import string
import unicodedata
from collections import Counter

SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]']
MAX_WORD_CHARS = 100


def is_cjk(cp):
    return (0x4E00 <= cp <= 0x9FFF or 0x3400 <= cp <= 0x4DBF or 0x20000 <= cp <= 0x2A6DF
            or 0x2A700 <= cp <= 0x2B73F or 0x2B740 <= cp <= 0x2B81F or 0x2B820 <= cp <= 0x2CEAF
            or 0xF900 <= cp <= 0xFAFF or 0x2F800 <= cp <= 0x2FA1F)


def is_punct(ch):
    return (ch.isascii() and ch in string.punctuation) or unicodedata.category(ch).startswith('P')


def normalize(text):
    out = []
    for ch in text:
        cp = ord(ch)
        if ch.isspace():
            out.append(' ')
        elif cp == 0 or cp == 0xFFFD or unicodedata.category(ch).startswith('C'):
            continue
        elif is_cjk(cp):
            out.append(f' {ch} ')
        else:
            out.append(ch)
    text = unicodedata.normalize('NFD', ''.join(out).lower())
    return ''.join(c for c in text if unicodedata.category(c) != 'Mn')


def pre_tokenize(text):
    words = []
    for chunk in text.split():
        cur = ''
        for ch in chunk:
            if is_punct(ch):
                if cur:
                    words.append(cur)
                    cur = ''
                words.append(ch)
            else:
                cur += ch
        if cur:
            words.append(cur)
    return words


class WordPiece:
    def __init__(self, vocab):
        self.vocab = list(vocab)
        self.ids = {tok: i for i, tok in enumerate(self.vocab)}
        self.unk = self.ids['[UNK]']

    @classmethod
    def from_file(cls, path):
        with open(path, encoding='utf-8') as f:
            return cls([line.rstrip('\n') for line in f if line.rstrip('\n')])

    def special_id(self, tok):
        return self.ids[tok]

    def _word(self, word):
        if len(word) > MAX_WORD_CHARS:
            return [self.unk]
        ids, start = [], 0
        while start < len(word):
            end = len(word)
            found = None
            while start < end:
                piece = word[start:end] if start == 0 else '##' + word[start:end]
                if piece in self.ids:
                    found = self.ids[piece]
                    break
                end -= 1
            if found is None:
                return [self.unk]
            ids.append(found)
            start = end
        return ids

    def encode(self, text):
        ids = []
        for word in pre_tokenize(normalize(text)):
            ids.extend(self._word(word))
        return ids

    def decode(self, ids):
        toks = [self.vocab[i] for i in ids if self.vocab[i] not in SPECIALS]
        out = ''
        for t in toks:
            out += t[2:] if t.startswith('##') else (' ' + t if out else t)
        return out

    def save(self, path):
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(self.vocab) + '\n')

    def tokenizer_json(self):
        """The same tokenizer in Hugging Face tokenizers' JSON format."""
        return {
            'version': '1.0',
            'truncation': None,
            'padding': None,
            'added_tokens': [
                {'id': self.ids[t], 'content': t, 'single_word': False, 'lstrip': False, 'rstrip': False,
                 'normalized': False, 'special': True} for t in SPECIALS if t in self.ids
            ],
            'normalizer': {'type': 'BertNormalizer', 'clean_text': True, 'handle_chinese_chars': True,
                           'strip_accents': None, 'lowercase': True},
            'pre_tokenizer': {'type': 'BertPreTokenizer'},
            'post_processor': None,
            'decoder': {'type': 'WordPiece', 'prefix': '##', 'cleanup': True},
            'model': {'type': 'WordPiece', 'unk_token': '[UNK]', 'continuing_subword_prefix': '##',
                      'max_input_chars_per_word': MAX_WORD_CHARS, 'vocab': self.ids},
        }

    def tokenizer_config(self):
        return {'tokenizer_class': 'BertTokenizer', 'do_lower_case': True, 'model_max_length': 2048,
                'unk_token': '[UNK]', 'sep_token': '[SEP]', 'pad_token': '[PAD]', 'cls_token': '[CLS]',
                'mask_token': '[MASK]', 'clean_up_tokenization_spaces': True}


def build_vocab(texts, size):
    """A character-level BERT vocab: specials, ASCII letters/digits/punctuation (with ## forms so any
    ASCII word tokenizes), then the most frequent other characters of the corpus."""
    base = list(SPECIALS)
    ascii_chars = string.ascii_lowercase + string.digits
    base += list(string.punctuation) + list(ascii_chars) + ['##' + c for c in ascii_chars]
    counts = Counter()
    for t in texts:
        for word in pre_tokenize(normalize(t)):
            if len(word) == 1 and not word.isascii():
                counts[word] += 1
            elif not word.isascii():
                for i, ch in enumerate(word):
                    counts[ch if i == 0 else '##' + ch] += 1
    seen = set(base)
    for tok, _ in counts.most_common():
        if len(base) >= size:
            break
        if tok not in seen:
            base.append(tok)
            seen.add(tok)
    return WordPiece(base)


def pad_vocab(wp, size):
    """Grow a vocab to `size` with [unusedN] tokens (ModelScope checkpoints have a fixed vocab_size)."""
    vocab = list(wp.vocab)
    i = 0
    while len(vocab) < size:
        vocab.append(f'[unused{i}]')
        i += 1
    return WordPiece(vocab)


def write_tokenizer_files(wp, out_dir):
    import os
    wp.save(os.path.join(out_dir, 'vocab.txt'))
    with open(os.path.join(out_dir, 'tokenizer.json'), 'w', encoding='utf-8') as f:
        json.dump(wp.tokenizer_json(), f, ensure_ascii=False)
    with open(os.path.join(out_dir, 'tokenizer_config.json'), 'w', encoding='utf-8') as f:
        json.dump(wp.tokenizer_config(), f, ensure_ascii=False, indent=2)
