import type { ModelConfig } from './config.ts';
import type { TextTokenizer } from './tokenizer.ts';

export interface Prompt {
  ids: number[];
  maxNewTokens: number;
}

/** What the post reader said of the post, for a model whose template conditions on it. */
export interface PromptReading {
  intent?: string;
  subject?: string;
}

/** The template with `{intent}` and `{subject}` written as the model's config says (a plain template has neither). */
function fillFields(template: string, cfg: ModelConfig, reading: PromptReading): string {
  const fields = cfg.promptFields;
  if (!fields) return template;
  const intent = (reading.intent && fields.intent[reading.intent]) || fields.missing;
  return template.replaceAll('{intent}', intent).replaceAll('{subject}', reading.subject?.trim() || fields.missing);
}

/**
 * Token ids for `prompt_template` with the post (and, where the template has them, the reader's intent and subject)
 * filled in. The post is cut from the left (its start is dropped) so the template's fixed parts, the kept post and
 * maxNewTokens fit n_positions.
 */
export function buildPrompt(post: string, cfg: ModelConfig, tok: TextTokenizer, maxNewTokens?: number, reading: PromptReading = {}): Prompt {
  const template = fillFields(cfg.promptTemplate, cfg, reading);
  const at = template.indexOf('{post}');
  const head = at >= 0 ? tok.encode(template.slice(0, at)) : [];
  const tail = tok.encode(at >= 0 ? template.slice(at + '{post}'.length) : template);
  const fixed = head.length + tail.length;
  const room = cfg.nPositions - fixed - 1;
  if (room < 1) throw new Error(`prompt template needs ${fixed} tokens but n_positions is ${cfg.nPositions}`);
  const maxNew = Math.max(1, Math.min(maxNewTokens ?? cfg.generation.max_new_tokens, room));
  // Bounds tokenizer work on huge inputs: a token rarely covers more than 16 characters, so the kept end is unaffected.
  const budget = cfg.nPositions - fixed - maxNew;
  const body = tok.encode(post.length > budget * 16 ? post.slice(-budget * 16) : post);
  const kept = body.length > budget ? body.slice(body.length - budget) : body;
  return { ids: [...head, ...kept, ...tail], maxNewTokens: maxNew };
}
