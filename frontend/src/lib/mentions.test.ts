import { describe, expect, it } from 'vitest';

import { applyMention, findMention, mentionedTags, suggestReferences, unknownTags } from './mentions';

const refs = [
  { tag: 'mara', name: 'Mara', kind: 'character' },
  { tag: 'lighthouse', name: 'The lighthouse', kind: 'location' },
  { tag: 'old-harbour', name: 'Old harbour', kind: 'location' },
  { tag: 'storm', name: 'Storm light', kind: 'style' },
  { tag: 'marabou', name: 'A stork', kind: 'prop' },
];

describe('findMention', () => {
  it('finds the tag being typed at the caret', () => {
    const text = 'Wide shot of @ma';
    expect(findMention(text, text.length)).toEqual({ start: 13, end: 16, query: 'ma' });
    expect(findMention('@', 1)).toEqual({ start: 0, end: 1, query: '' });
    expect(findMention('@Old-Har by night', 8)).toEqual({ start: 0, end: 8, query: 'old-har' });
  });

  it('ignores e-mail addresses, finished words and text without @', () => {
    expect(findMention('mail me at ana@studio', 21)).toBeNull();
    expect(findMention('@mara walks', 11)).toBeNull();
    expect(findMention('no tags here', 5)).toBeNull();
  });
});

describe('suggestReferences', () => {
  it('ranks an exact tag, then tag prefixes, then names', () => {
    expect(suggestReferences(refs, 'mara').map((r) => r.tag)).toEqual(['mara', 'marabou']);
    expect(suggestReferences(refs, 'ma').map((r) => r.tag)).toEqual(['mara', 'marabou']);
    expect(suggestReferences(refs, 'har').map((r) => r.tag)).toEqual(['old-harbour']);
    expect(suggestReferences(refs, 'light').map((r) => r.tag)).toEqual(['lighthouse', 'storm']);
    expect(suggestReferences(refs, '').length).toBe(5);
    expect(suggestReferences(refs, '', 2).length).toBe(2);
    expect(suggestReferences(refs, 'zzz')).toEqual([]);
  });
});

describe('applyMention', () => {
  it('replaces the partial tag and puts the caret after a space', () => {
    const text = 'Mara and @li at dusk';
    const mention = findMention(text, 12)!;
    expect(applyMention(text, mention, 'lighthouse')).toEqual({ text: 'Mara and @lighthouse at dusk', caret: 21 });
  });

  it('adds a space at the end and swallows the rest of a half-typed tag', () => {
    expect(applyMention('@m', findMention('@m', 2)!, 'mara')).toEqual({ text: '@mara ', caret: 6 });
    expect(applyMention('@mxyz rest', findMention('@mxyz rest', 2)!, 'mara')).toEqual({ text: '@mara rest', caret: 6 });
  });
});

describe('mentionedTags and unknownTags', () => {
  it('lists each tag once, in order, and flags the unknown ones', () => {
    const text = '@Mara climbs @lighthouse; @mara again, mail ana@x.org, @ghost';
    expect(mentionedTags(text)).toEqual(['mara', 'lighthouse', 'ghost']);
    expect(unknownTags(text, refs)).toEqual(['ghost']);
  });
});
