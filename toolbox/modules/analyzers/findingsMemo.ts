// What the pattern rules found in a file, remembered by the file's content: a run after a one-file
// edit analyses that one file again, and the others' findings come from memory. The rules are a
// pure function of (text, language, enabled rules), so the key is a hash of all three; a toolbox
// reload loads this module afresh, so changed rules never meet findings of the old ones.
import * as crypto from 'node:crypto';

export class FindingsMemo<T> {
  private readonly entries = new Map<string, readonly T[]>();

  /** `maxEntries` bounds the memory: the least recently used files are forgotten first. */
  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  /** What `analyse` finds in `text`, from memory when the same text was analysed the same way. */
  findings(text: string, language: string, rules: readonly string[], analyse: () => T[]): readonly T[] {
    const key = crypto
      .createHash('sha256')
      .update(`${language}\0${rules.join(',')}\0`)
      .update(text)
      .digest('base64');
    const known = this.entries.get(key);
    if (known) {
      // Most recently used last: the Map's order is the eviction order.
      this.entries.delete(key);
      this.entries.set(key, known);
      return known;
    }
    const found = analyse();
    this.entries.set(key, found);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) {
        this.entries.delete(oldest);
      }
    }
    return found;
  }
}
