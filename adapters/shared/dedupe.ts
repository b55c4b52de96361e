/**
 * Remembers the last `capacity` keys; `seen(key)` is true when the key was already offered, `has(key)` asks without
 * remembering it.
 */
export function recentKeys(capacity = 2000): { seen(key: string): boolean; has(key: string): boolean } {
  const keys = new Set<string>();
  return {
    seen(key) {
      if (keys.has(key)) return true;
      keys.add(key);
      if (keys.size > capacity) keys.delete(keys.values().next().value as string);
      return false;
    },
    has: (key) => keys.has(key),
  };
}
