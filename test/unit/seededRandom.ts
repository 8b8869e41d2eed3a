// A seeded generator (mulberry32) for tests: secrets are generated, never written out, so test
// files hold no credential-shaped literal for other scanners to trip over, yet stay stable.

/** Returns `(n, alphabet)` → a string of n characters drawn from `alphabet`, the same for the same seed. */
export function generator(seed: number): (n: number, alphabet: string) => string {
  let state = seed;
  const next = () => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return (n, alphabet) =>
    Array.from({ length: n }, () => alphabet.charAt(Math.floor(next() * alphabet.length))).join('');
}
