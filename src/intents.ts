/**
 * What a post calls for, as the post reader labels it, in the order of its model's outputs. The data checker
 * (tools/reader), the trainer (through the prepared data's `labels`) and the runtime take them from here.
 */
export const INTENTS = [
  'achievement',
  'effort',
  'daily_win',
  'made_shown',
  'kindness',
  'courage',
  'celebration',
  'setback',
  'sad',
  'tired_wronged',
  'anxious',
  'joke',
] as const;

export type Intent = (typeof INTENTS)[number];

/** The intents a reply must meet with comfort or calm, never laughter or celebration. */
export const GENTLE_INTENTS: readonly Intent[] = ['setback', 'sad', 'tired_wronged', 'anxious'];
