import os
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..'))

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

import checkpoint  # noqa: E402
import ngram_reader  # noqa: E402
import reader  # noqa: E402
import train  # noqa: E402
from wordpiece import build_vocab  # noqa: E402

TOK = build_vocab(['今天终于拿到驾照了！求夸', '太棒了加油'], 200)


class WordPieceTest(unittest.TestCase):
    def test_chinese_is_one_token_per_character(self):
        ids = TOK.encode('太棒了')
        self.assertEqual([TOK.vocab[i] for i in ids], ['太', '棒', '了'])

    def test_ascii_words_lowercase_and_split_into_pieces(self):
        self.assertEqual([TOK.vocab[i] for i in TOK.encode('Hi, OK')], ['h', '##i', ',', 'o', '##k'])

    def test_unknown_and_overlong_words_become_unk(self):
        unk = TOK.special_id('[UNK]')
        self.assertEqual(TOK.encode('龘'), [unk])
        self.assertEqual(TOK.encode('a' * 101), [unk])

    def test_control_and_zero_width_characters_are_dropped(self):
        self.assertEqual([TOK.vocab[i] for i in TOK.encode('太\u200b棒\x07')], ['太', '棒'])

    def test_decode_joins_pieces(self):
        self.assertEqual(TOK.decode(TOK.encode('太棒 hi')), '太 棒 hi')


class TrainTest(unittest.TestCase):
    def test_loss_is_only_on_the_praise_part(self):
        sep = TOK.special_id('[SEP]')
        ids, labels = train.encode_row(TOK, '今天 | 太棒了', 32, sep)
        self.assertEqual([TOK.vocab[i] for i in ids], ['今', '天', '|', '太', '棒', '了', '[SEP]'])
        self.assertEqual(labels, [train.IGNORE] * 3 + ids[3:])

    def test_rows_without_separator_train_in_full(self):
        ids, labels = train.encode_row(TOK, '今天太棒了', 32, 3)
        self.assertEqual([TOK.vocab[i] for i in ids], ['今', '天', '太', '棒', '了'])
        self.assertEqual(labels, ids)

    def test_rows_without_separator_are_cut_to_the_window(self):
        ids, labels = train.encode_row(TOK, '今天太棒了' * 10, 8, 3)
        self.assertEqual([TOK.vocab[i] for i in ids], list('今天太棒了今天太'))
        self.assertEqual(labels, ids)

    def test_long_posts_are_cut_from_the_left(self):
        # The post's start and its end differ, so only a cut from the left keeps what comes right before the reply.
        post = '今天终于拿到驾照了' * 5 + '求夸'
        ids, labels = train.encode_row(TOK, post + ' | 太棒了', 16, 3)
        self.assertEqual(len(ids), 16)
        self.assertEqual([TOK.vocab[i] for i in ids[:12]], list('今天终于拿到驾照了求夸') + ['|'])
        self.assertEqual(labels, [train.IGNORE] * 12 + TOK.encode('太棒了') + [3])

    def test_noam_warmup_then_decay(self):
        self.assertLess(train.noam_lr(10, 3e-4, 100), train.noam_lr(100, 3e-4, 100))
        self.assertAlmostEqual(train.noam_lr(100, 3e-4, 100), 3e-4)
        self.assertLess(train.noam_lr(400, 3e-4, 100), 3e-4)


class CheckpointTest(unittest.TestCase):
    def test_wrapped_and_prefixed_state_dicts_are_normalized(self):
        sd = {'state_dict': {'model.language_model.word_embeddings.weight': torch.zeros(1)}}
        self.assertEqual(list(checkpoint.normalize_state_dict(sd)), ['language_model.word_embeddings.weight'])


class ReaderPoolTest(unittest.TestCase):
    def test_written_rows_are_repeated_and_the_rest_kept_once(self):
        rows = [{'id': 'wp-1', 'source': 'written'}, {'id': 'db-1', 'source': 'douban'}, {'id': 'c-1', 'source': 'corpus'}]
        self.assertEqual([reader.times_drawn(r, 3) for r in rows], [3, 1, 1])
        self.assertEqual([reader.times_drawn(r, 1) for r in rows], [1, 1, 1])


class ReaderDistillLossTest(unittest.TestCase):
    def setUp(self):
        self.intent = torch.tensor([[2.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
        self.distress = torch.tensor([-2.0, 1.0])
        self.pw = torch.tensor(3.0)

    def test_without_teachers_it_is_the_labelled_loss(self):
        batch = [(None, 0, 0, None), (None, 1, 1, None)]
        want = F.cross_entropy(self.intent, torch.tensor([0, 1]), label_smoothing=0.05) + \
            F.binary_cross_entropy_with_logits(self.distress, torch.tensor([0.0, 1.0]), pos_weight=self.pw)
        self.assertAlmostEqual(float(reader.batch_loss(self.intent, self.distress, batch, self.pw, 1.0)), float(want), places=5)

    def test_an_unlabelled_row_is_taught_only_by_its_teachers(self):
        target = ([0.1, 0.8, 0.1], 0.2)
        batch = [(None, -1, -1, target)]
        got = reader.batch_loss(self.intent[1:], self.distress[1:], batch, self.pw, 0.5)
        want = 0.5 * (F.cross_entropy(self.intent[1:], torch.tensor([target[0]])) +
                      F.binary_cross_entropy_with_logits(self.distress[1:], torch.tensor([0.2]), pos_weight=self.pw))
        self.assertAlmostEqual(float(got), float(want), places=5)

    def test_distress_from_the_teachers_alone_ignores_the_distress_labels(self):
        target = ([0.1, 0.8, 0.1], 0.3)
        one = reader.batch_loss(self.intent[1:], self.distress[1:], [(None, 1, 0, target)], self.pw, 1.0, True)
        other = reader.batch_loss(self.intent[1:], self.distress[1:], [(None, 1, 1, target)], self.pw, 1.0, True)
        want = F.cross_entropy(self.intent[1:], torch.tensor([1]), label_smoothing=0.05) + \
            F.cross_entropy(self.intent[1:], torch.tensor([target[0]])) + \
            F.binary_cross_entropy_with_logits(self.distress[1:], torch.tensor([0.3]))
        self.assertAlmostEqual(float(one), float(other), places=6)
        self.assertAlmostEqual(float(one), float(want), places=5)

    def test_agreeing_with_the_teachers_costs_less(self):
        near = reader.batch_loss(self.intent[:1], self.distress[:1], [(None, -1, -1, ([0.8, 0.15, 0.05], 0.1))], self.pw, 1.0)
        far = reader.batch_loss(self.intent[:1], self.distress[:1], [(None, -1, -1, ([0.05, 0.15, 0.8], 0.9))], self.pw, 1.0)
        self.assertLess(float(near), float(far))


class NgramReaderTest(unittest.TestCase):
    ROWS = [{'id': f'w-{i}', 'input': text, 'intent': intent, 'distress': distress, 'source': 'written'}
            for i, (text, intent, distress) in enumerate([('今天终于拿到驾照了', 0, 0), ('好难过，考砸了', 7, 0),
                                                          ('不想再醒过来了', 8, 1), ('拿到offer了', 0, 0)])]

    def test_grams_cover_each_order_of_the_post_with_its_ends(self):
        ids = ngram_reader.grams('夸我')
        self.assertEqual(len(ids), 4 + 3 + 2)  # ^夸我$: four characters, three bigrams, two trigrams
        self.assertTrue(all(0 <= i < ngram_reader.BUCKETS for i in ids))
        self.assertEqual(ids, ngram_reader.grams('夸我'))
        self.assertNotEqual(ids, ngram_reader.grams('我夸'))

    def test_training_is_reproducible_and_the_file_reads_back_as_written(self):
        import tempfile
        labels = [str(i) for i in range(12)]
        a = ngram_reader.quantize(ngram_reader.train_bag(self.ROWS, labels, seed=3, epochs=2))
        b = ngram_reader.quantize(ngram_reader.train_bag(self.ROWS, labels, seed=3, epochs=2))
        self.assertTrue((a['table'] == b['table']).all())
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, 'ngram.bin')
            ngram_reader.write_bin(a, path)
            back = ngram_reader.load_bin(path, len(labels))
        for key in ('table', 'scale', 'weight', 'bias'):
            self.assertTrue((back[key] == a[key]).all(), key)
        probs, risk = ngram_reader.read_q(back, [r['input'] for r in self.ROWS])
        self.assertEqual(probs.shape, (4, 12))
        self.assertTrue(abs(probs.sum(axis=1) - 1).max() < 1e-5)
        self.assertTrue(((risk > 0) & (risk < 1)).all())

    def test_the_int8_table_keeps_each_row_to_within_half_a_step(self):
        model = ngram_reader.Bag(12)
        q = ngram_reader.quantize(model)
        rows = [5, 77, 1000]
        w = model.table.weight.detach().numpy()[rows]
        back = q['table'][rows].astype('float32') * q['scale'][rows, None]
        self.assertTrue((abs(back - w) <= q['scale'][rows, None] / 2 + 1e-7).all())


if __name__ == '__main__':
    unittest.main()
