import { Converter as fromTraditional } from 'opencc-js/t2cn';

/**
 * Simplified and Traditional Chinese. The models read Simplified (their vocabulary is Simplified), and a person who
 * wrote in Traditional is answered in Traditional. The Simplified-to-Traditional tables are large (about 0.3 s to
 * load), so they load the first time a Traditional post is answered.
 */
export const SCRIPTS = ['simplified', 'traditional'] as const;
export type Script = (typeof SCRIPTS)[number];

const toCn = fromTraditional({ from: 't', to: 'cn' });
let toTw: Promise<(text: string) => string> | undefined;

export function toSimplified(text: string): string {
  return toCn(text);
}

/** The text as the models read it: in Simplified, converted when it was written in Traditional. */
export function asRead(text: string, script: Script): string {
  return script === 'traditional' ? toCn(text) : text;
}

function traditionalConverter(): Promise<(text: string) => string> {
  toTw ??= import('opencc-js/cn2t').then(({ Converter }) => Converter({ from: 'cn', to: 'tw' }));
  return toTw;
}

/** Written in Traditional: more of its characters change on the way to Simplified than on the way back. */
export async function scriptOf(text: string): Promise<Script> {
  const simplified = toCn(text);
  if (simplified === text) return 'simplified';
  const chars = [...text];
  const changed = (other: string) => {
    const o = [...other];
    return chars.filter((ch, i) => ch !== o[i]).length;
  };
  return changed(simplified) > changed((await traditionalConverter())(text)) ? 'traditional' : 'simplified';
}

/** The text in the given script: a reply written in Simplified, turned into Traditional for a Traditional post. */
export async function inScript(text: string, script: Script): Promise<string> {
  return script === 'traditional' ? (await traditionalConverter())(text) : text;
}
