// Numeric settings from the environment (the worker's and the supervisor's), read one way.

/**
 * A non-negative number from `env[name]`: `fallback` when unset or empty; an error naming the
 * setting and what it measures (`unit`, e.g. "seconds (0 = never)") when it is anything else.
 */
export function amountFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number, unit: string): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(`${name}=${raw} is not a number of ${unit}`);
  }
  return value;
}
