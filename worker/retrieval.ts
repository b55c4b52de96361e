import { GENTLE_INTENTS, type Intent } from '../src/intents.ts';
import { type CorpusRow, loadCorpus } from '../src/praiseCorpus.ts';
import { toSimplified } from '../src/script.ts';

/** A praise from the corpus, offered as a candidate for a new post. */
export interface Retrieved {
  text: string;
  /** Cosine similarity of the new post to the corpus post the praise was written for (0–1). */
  similarity: number;
  /** The corpus row it comes from (for logs and evals). */
  from: string;
}

export interface RetrievalOptions {
  /** Corpus posts whose praises are offered. */
  posts: number;
  /** Posts less similar than this offer nothing. */
  minSimilarity: number;
}

type Vector = Map<string, number>;

/** Characters and character pairs of the post in Simplified, the request words (求夸, 夸我) left in: IDF weighs them down. */
function terms(text: string): string[] {
  const chars = [...toSimplified(text).replace(/[\s\p{P}\p{S}]+/gu, '')];
  return [...chars, ...chars.slice(1).map((c, i) => chars[i] + c)];
}

function norm(v: Vector): number {
  let s = 0;
  for (const x of v.values()) s += x * x;
  return Math.sqrt(s);
}

/**
 * Nearest corpus posts by TF-IDF over characters and character pairs, and their praises as candidates. A gentle post
 * (setback, sad, tired, anxious) is offered only praises written for gentle posts, and any other post only praises
 * written for posts that were not: a cheer never reaches a sad post this way. The subject of the corpus post is
 * swapped for the new post's subject where a praise names it (unless the new post names it too), and the praise is
 * also offered as written; the judge
 * and the policy decide which, if any, fits.
 */
export class PraiseIndex {
  private readonly idf = new Map<string, number>();
  private readonly docs: { row: CorpusRow; norm: number }[];
  /** Per term, the posts that have it and its weight there: a query touches only the posts it shares a term with. */
  private readonly postings = new Map<string, { doc: number; weight: number }[]>();

  constructor(rows: CorpusRow[]) {
    const docs = rows.map((row) => ({ row, terms: terms(row.post) }));
    const df = new Map<string, number>();
    for (const d of docs) for (const t of new Set(d.terms)) df.set(t, (df.get(t) ?? 0) + 1);
    for (const [t, n] of df) this.idf.set(t, Math.log((1 + docs.length) / (1 + n)) + 1);
    this.docs = docs.map((d, doc) => {
      const v = this.vector(d.terms);
      for (const [t, weight] of v) {
        const list = this.postings.get(t);
        if (list) list.push({ doc, weight });
        else this.postings.set(t, [{ doc, weight }]);
      }
      return { row: d.row, norm: norm(v) };
    });
  }

  static load(dir: string): PraiseIndex {
    return new PraiseIndex(loadCorpus(dir));
  }

  get size(): number {
    return this.docs.length;
  }

  private vector(ts: string[]): Vector {
    const v: Vector = new Map();
    for (const t of ts) v.set(t, (v.get(t) ?? 0) + (this.idf.get(t) ?? 0));
    return v;
  }

  /** The corpus posts nearest to `post`, most similar first, of the same gentleness as `intent` when it is known. */
  nearest(post: string, intent: Intent | undefined, k: number): { row: CorpusRow; similarity: number }[] {
    const q = this.vector(terms(post));
    const qn = norm(q);
    if (qn === 0) return [];
    const gentle = intent && GENTLE_INTENTS.includes(intent);
    const dots = new Float64Array(this.docs.length);
    for (const [t, w] of q) for (const { doc, weight } of this.postings.get(t) ?? []) dots[doc]! += w * weight;
    const scored: { row: CorpusRow; similarity: number }[] = [];
    this.docs.forEach((d, i) => {
      if (dots[i]! <= 0 || (intent && GENTLE_INTENTS.includes(d.row.intent) !== gentle)) return;
      scored.push({ row: d.row, similarity: dots[i]! / (qn * d.norm) });
    });
    return scored.sort((a, b) => b.similarity - a.similarity).slice(0, k);
  }

  /** Praises of the nearest posts, with the subject put in where a praise names its own. */
  candidates(post: string, reading: { intent?: Intent; subject?: string }, opts: RetrievalOptions): Retrieved[] {
    const out: Retrieved[] = [];
    const seen = new Set<string>();
    const add = (text: string, similarity: number, from: string) => {
      if (seen.has(text)) return;
      seen.add(text);
      out.push({ text, similarity, from });
    };
    const subject = reading.subject && toSimplified(reading.subject);
    const read = toSimplified(post);
    for (const { row, similarity } of this.nearest(post, reading.intent, opts.posts)) {
      if (similarity < opts.minSimilarity) continue;
      // A corpus subject the new post names too (上岸 in 考研上岸了) is right as it is: swapping it would break the praise.
      const swap = subject && subject !== row.subject && !read.includes(row.subject);
      for (const { text } of row.praises) {
        const own = toSimplified(text);
        if (swap && own.includes(row.subject)) add(own.replaceAll(row.subject, subject), similarity, row.id);
        add(own, similarity, row.id);
      }
    }
    return out;
  }
}
