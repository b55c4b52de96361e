/**
 * Removes secrets from text before it is logged. Telegram puts the bot token in every API URL,
 * so library error messages can carry it; Discord tokens can appear in request dumps.
 */
export function redactor(...secrets: (string | undefined)[]): (text: string) => string {
  const list = secrets.filter((s): s is string => typeof s === 'string' && s.length >= 6);
  return (text) => list.reduce((acc, s) => acc.split(s).join('[REDACTED]'), text);
}

/** A loggable summary of an error: name, message and code, with secrets removed (no stack, no request dump). */
export function describeError(err: unknown, redact: (text: string) => string): { name: string; message: string; code?: string | number } {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: redact(err.message),
      ...(typeof code === 'string' || typeof code === 'number' ? { code } : {}),
    };
  }
  return { name: 'Error', message: redact(String(err)) };
}

/** The same error with secrets removed from its message (name and code kept, stack dropped), for reporting on. */
export function redactedError(err: unknown, redact: (text: string) => string): Error {
  const { name, message, code } = describeError(err, redact);
  const copy = Object.assign(new Error(message), code === undefined ? {} : { code });
  copy.name = name;
  copy.stack = `${name}: ${message}`;
  return copy;
}
