/** Longest subject (the post reader's span) a praise job carries and a prompt names: the core and the engine both cut to it. */
export const MAX_SUBJECT_CHARS = 24;

/** Most replies one ask may get (a chorus): the config, the chat command, the web API and the queue contract all cap at it. */
export const MAX_CHORUS = 4;
