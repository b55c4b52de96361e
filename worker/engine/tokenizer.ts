import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';

/** The model directory's Hugging Face tokenizer (BERT WordPiece for kuakua models). */
export class TextTokenizer {
  private readonly tok: Tokenizer;
  readonly specialIds: ReadonlySet<number>;

  constructor(dir: string) {
    const json = JSON.parse(readFileSync(join(dir, 'tokenizer.json'), 'utf8'));
    const cfgPath = join(dir, 'tokenizer_config.json');
    const cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, 'utf8')) : {};
    this.tok = new Tokenizer(json, cfg);
    this.specialIds = new Set((json.added_tokens ?? []).filter((t: { special?: boolean }) => t.special).map((t: { id: number }) => t.id));
  }

  encode(text: string): number[] {
    return this.tok.encode(text, { add_special_tokens: false }).ids;
  }

  decode(ids: number[]): string {
    return this.tok.decode(ids, { skip_special_tokens: true });
  }
}
