/**
 * OneBot v11 messages: a message is an array of segments, or the same as a CQ-code string such as
 * "[CQ:reply,id=12][CQ:at,qq=10001] 求夸". In a CQ string, `&`, `[` and `]` in text are escaped as `&amp;`, `&#91;`,
 * `&#93;`, and inside a CQ code's parameter values `,` is escaped as `&#44;` too.
 */
export interface Segment {
  type: string;
  data: Record<string, string>;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '[': '&#91;', ']': '&#93;', ',': '&#44;' };
const UNESCAPES: Record<string, string> = { amp: '&', '#91': '[', '#93': ']', '#44': ',' };

/** Escapes text for a CQ string; `param` also escapes the comma that separates a CQ code's parameters. */
export function escapeCq(text: string, param = false): string {
  return text.replace(param ? /[&[\],]/g : /[&[\]]/g, (c) => ESCAPES[c]!);
}

/** Undoes escapeCq in one pass, so "&amp;#91;" becomes "&#91;", not "[". */
export function unescapeCq(text: string): string {
  return text.replace(/&(amp|#91|#93|#44);/g, (_, name: string) => UNESCAPES[name]!);
}

const CQ_CODE = /\[CQ:([\w.-]+)((?:,[^\]]*)?)\]/g;

export const textSegment = (text: string): Segment => ({ type: 'text', data: { text } });

/** A CQ string as segments; text outside CQ codes (and anything that only looks like one) becomes text segments. */
export function parseCq(raw: string): Segment[] {
  const segments: Segment[] = [];
  let last = 0;
  for (const m of raw.matchAll(CQ_CODE)) {
    if (m.index > last) segments.push(textSegment(unescapeCq(raw.slice(last, m.index))));
    const data: Record<string, string> = {};
    for (const pair of m[2]!.split(',').slice(1)) {
      const eq = pair.indexOf('=');
      if (eq > 0) data[pair.slice(0, eq)] = unescapeCq(pair.slice(eq + 1));
    }
    segments.push({ type: m[1]!, data });
    last = m.index + m[0].length;
  }
  if (last < raw.length) segments.push(textSegment(unescapeCq(raw.slice(last))));
  return segments;
}

/** Segments as a CQ string. */
export function toCq(segments: Segment[]): string {
  return segments
    .map((s) =>
      s.type === 'text'
        ? escapeCq(s.data.text ?? '')
        : `[CQ:${s.type}${Object.entries(s.data)
            .map(([k, v]) => `,${k}=${escapeCq(v, true)}`)
            .join('')}]`,
    )
    .join('');
}
