/**
 * `@reference` autocomplete for prompts: find the tag being typed at the caret, rank the
 * style bible's references for it, and put the chosen tag into the text.
 */

export interface Mention {
  /** index of the "@" */
  start: number;
  /** index just after the partial tag (the caret) */
  end: number;
  /** what was typed after "@", lower-cased */
  query: string;
}

export interface Referenceable {
  tag: string;
  name?: string;
  kind?: string;
}

const TAG_CHAR = /[a-z0-9_-]/i;

/** The mention being typed at `caret`, or null (an "@" inside a word, like an e-mail, is not one). */
export function findMention(text: string, caret: number): Mention | null {
  let i = Math.min(caret, text.length) - 1;
  while (i >= 0 && TAG_CHAR.test(text[i])) i -= 1;
  if (i < 0 || text[i] !== '@') return null;
  const before = i > 0 ? text[i - 1] : '';
  if (before && /[a-z0-9_.@-]/i.test(before)) return null;
  const query = text.slice(i + 1, caret);
  if (query.length > 64) return null;
  return { start: i, end: caret, query: query.toLowerCase() };
}

/** References matching the typed query: tag prefix first, then name prefix, then anywhere. */
export function suggestReferences<T extends Referenceable>(refs: readonly T[], query: string, limit = 8): T[] {
  const q = query.toLowerCase();
  const score = (ref: T): number => {
    const tag = ref.tag.toLowerCase();
    const name = (ref.name ?? '').toLowerCase();
    if (!q) return 3;
    if (tag === q) return 0;
    if (tag.startsWith(q)) return 1;
    if (name.startsWith(q) || name.split(/\s+/).some((w) => w.startsWith(q))) return 2;
    if (tag.includes(q) || name.includes(q)) return 3;
    return -1;
  };
  return refs
    .map((ref) => ({ ref, s: score(ref) }))
    .filter((x) => x.s >= 0)
    .sort((a, b) => a.s - b.s || a.ref.tag.localeCompare(b.ref.tag))
    .slice(0, limit)
    .map((x) => x.ref);
}

/**
 * Whether the mention already names a reference in full and no other tag continues it
 * ("@lighthouse" typed out): nothing is left to suggest, so the list closes.
 */
export function isCompleteMention(refs: readonly Referenceable[], mention: Mention): boolean {
  const q = mention.query;
  if (!q) return false;
  const continuing = refs.filter((r) => r.tag.toLowerCase().startsWith(q));
  return continuing.length === 1 && continuing[0].tag.toLowerCase() === q;
}

/** Replace the mention with "@tag " and say where the caret goes. */
export function applyMention(text: string, mention: Mention, tag: string): { text: string; caret: number } {
  const after = text.slice(mention.end);
  // Swallow the rest of a partially typed tag to the right of the caret too.
  const rest = after.replace(/^[a-z0-9_-]*/i, '');
  const spacer = rest.startsWith(' ') ? '' : ' ';
  const inserted = `@${tag}${spacer}`;
  // The caret goes after the space either way, ready for the next word.
  return { text: text.slice(0, mention.start) + inserted + rest, caret: mention.start + tag.length + 2 };
}

/** Every "@tag" in a text, in order of first use, without repeats. */
export function mentionedTags(text: string): string[] {
  const out: string[] = [];
  const re = /(^|[^a-z0-9_.@-])@([a-z0-9][a-z0-9_-]{0,63})/gi;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const tag = m[2].toLowerCase();
    if (!out.includes(tag)) out.push(tag);
  }
  return out;
}

/** Tags used in the text that the style bible does not have. */
export function unknownTags(text: string, refs: readonly Referenceable[]): string[] {
  const known = new Set(refs.map((r) => r.tag.toLowerCase()));
  return mentionedTags(text).filter((t) => !known.has(t));
}
