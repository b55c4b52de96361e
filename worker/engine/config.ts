import { existsSync, readFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { z } from 'zod';

export type Variant = 'fp32' | 'int8' | 'q4';
export const VARIANTS: readonly Variant[] = ['fp32', 'int8', 'q4'];

const ONNX_FILES: Record<Variant, string> = {
  fp32: 'onnx/model.onnx',
  int8: 'onnx/model_int8.onnx',
  q4: 'onnx/model_q4.onnx',
};

const generationSchema = z.object({
  temperature: z.number().min(0).default(0.9),
  top_p: z.number().gt(0).max(1).default(0.9),
  top_k: z.number().int().min(0).default(40),
  repetition_penalty: z.number().positive().default(1.2),
  min_new_tokens: z.number().int().min(0).default(4),
  max_new_tokens: z.number().int().positive().default(40),
});

const configSchema = z.object({
  n_layer: z.number().int().positive(),
  n_head: z.number().int().positive(),
  n_embd: z.number().int().positive(),
  vocab_size: z.number().int().positive(),
  n_positions: z.number().int().positive(),
  bos_token_id: z.number().int().nullish(),
  eos_token_id: z.number().int().nullish(),
  pad_token_id: z.number().int().nullish(),
  kuakua: z
    .object({
      name: z.string().optional(),
      variants: z.record(z.string(), z.string()).optional(),
      prompt_template: z.string().default('{post} | '),
      /**
       * How `{intent}` and `{subject}` in the template are written: the intent's name in the words the model was
       * trained with, and `missing` for what the reader did not give.
       */
      prompt_fields: z.object({ intent: z.record(z.string(), z.string()), missing: z.string() }).optional(),
      separator: z.string().default('|'),
      generation: generationSchema.default(generationSchema.parse({})),
      stop_token_ids: z.array(z.number().int()).default([]),
    })
    .default({ prompt_template: '{post} | ', separator: '|', generation: generationSchema.parse({}), stop_token_ids: [] }),
});

export type GenerationConfig = z.infer<typeof generationSchema>;

export interface ModelConfig {
  name: string;
  nLayer: number;
  nHead: number;
  headDim: number;
  vocabSize: number;
  nPositions: number;
  eosId: number | undefined;
  padId: number;
  stopIds: number[];
  promptTemplate: string;
  promptFields?: { intent: Record<string, string>; missing: string };
  separator: string;
  generation: GenerationConfig;
}

/** The variant's ONNX file: the config's `kuakua.variants` entry when present, else the standard layout. */
export function onnxPath(dir: string, variant: Variant): string {
  let file = ONNX_FILES[variant];
  try {
    file = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8'))?.kuakua?.variants?.[variant] ?? file;
  } catch {
    // an unreadable config is reported by loadModelConfig with its own message
  }
  return join(dir, file);
}

export function isVariant(v: string): v is Variant {
  return (VARIANTS as readonly string[]).includes(v);
}

/** Validates a model directory up front; throws a one-line error naming what is missing. */
export function checkModelDir(dir: string, variant: string = 'fp32'): void {
  if (!isVariant(variant)) throw new Error(`unknown variant "${variant}" (expected one of ${VARIANTS.join(', ')})`);
  if (!existsSync(dir)) throw new Error(`model directory not found: ${dir}`);
  for (const file of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(dir, file))) throw new Error(`model directory ${dir} is missing ${file}`);
  }
  const model = onnxPath(dir, variant);
  if (!existsSync(model)) throw new Error(`model directory ${dir} is missing ${relative(dir, model)}`);
}

/** A JSON file checked against a schema; throws a one-line error naming the file and the first problem. */
export function readJsonFile<T>(path: string, schema: z.ZodType<T>): T {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new Error(`cannot read ${path}: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new Error(`invalid ${path}: ${issue.path.join('.')}: ${issue.message}`);
  }
  return parsed.data;
}

/**
 * The config.json of a side model's directory (the judge's, the reader's), checked up front: the directory, its
 * config, tokenizer.json and the ONNX files the config names must exist; a one-line error names what is missing.
 */
export function loadSideModelConfig<T extends { onnx: string; onnx_int8?: string }>(kind: string, dir: string, schema: z.ZodType<T>): T {
  if (!existsSync(dir)) throw new Error(`${kind} directory not found: ${dir}`);
  const path = join(dir, 'config.json');
  if (!existsSync(path)) throw new Error(`${kind} directory ${dir} is missing config.json`);
  const cfg = readJsonFile(path, schema);
  for (const file of ['tokenizer.json', cfg.onnx, ...(cfg.onnx_int8 ? [cfg.onnx_int8] : [])]) {
    if (!existsSync(join(dir, file))) throw new Error(`${kind} directory ${dir} is missing ${file}`);
  }
  return cfg;
}

export function loadModelConfig(dir: string): ModelConfig {
  const path = join(dir, 'config.json');
  const c = readJsonFile(path, configSchema);
  if (c.n_embd % c.n_head !== 0) throw new Error(`invalid ${path}: n_embd must be divisible by n_head`);
  const eosId = c.eos_token_id ?? undefined;
  return {
    name: c.kuakua.name ?? basename(resolve(dir)),
    nLayer: c.n_layer,
    nHead: c.n_head,
    headDim: c.n_embd / c.n_head,
    vocabSize: c.vocab_size,
    nPositions: c.n_positions,
    eosId,
    padId: c.pad_token_id ?? 0,
    stopIds: [...new Set([...(eosId === undefined ? [] : [eosId]), ...c.kuakua.stop_token_ids])],
    promptTemplate: c.kuakua.prompt_template,
    promptFields: c.kuakua.prompt_fields,
    separator: c.kuakua.separator,
    generation: c.kuakua.generation,
  };
}
