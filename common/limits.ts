/** Longest subject (the post reader's span) a praise job carries and a prompt names: the core and the engine both cut to it. */
export const MAX_SUBJECT_CHARS = 24;
