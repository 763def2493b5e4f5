import { useState } from 'react';
import { afterEach, describe, expect, it } from 'vitest';

import { byTestId, press, render, typeInto, type Rendered } from '../test/utils';
import { PromptField } from './PromptField';

const refs = [
  { id: '1', tag: 'mara', name: 'Mara', kind: 'character' },
  { id: '2', tag: 'lighthouse', name: 'The lighthouse', kind: 'location' },
  { id: '3', tag: 'marabou', name: 'A stork', kind: 'prop' },
];

function Harness({ initial = '' }: { initial?: string }) {
  const [value, setValue] = useState(initial);
  return (
    <>
      <PromptField label="Prompt" testId="prompt" value={value} onChange={setValue} references={refs} />
      <output data-testid="value">{value}</output>
    </>
  );
}

let view: Rendered | null = null;
afterEach(async () => {
  await view?.unmount();
  view = null;
});

describe('PromptField @reference autocomplete', () => {
  it('suggests references while a tag is typed and completes it with Enter', async () => {
    view = await render(<Harness />);
    const textarea = byTestId(view.container, 'prompt')[0] as HTMLTextAreaElement;
    await typeInto(textarea, 'Close on @ma');
    const options = byTestId(view.container, 'reference-suggestion');
    expect(options.map((o) => o.textContent)).toEqual(['@mara Maracharacter', '@marabou A storkprop']);
    expect(textarea.getAttribute('aria-expanded')).toBe('true');
    expect(options[0].getAttribute('aria-selected')).toBe('true');

    await press(textarea, 'ArrowDown');
    expect(byTestId(view.container, 'reference-suggestion')[1].getAttribute('aria-selected')).toBe('true');
    await press(textarea, 'ArrowUp');
    await press(textarea, 'Enter');
    expect(byTestId(view.container, 'value')[0].textContent).toBe('Close on @mara ');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);
  });

  it('completes on click and closes on Escape', async () => {
    view = await render(<Harness />);
    const textarea = byTestId(view.container, 'prompt')[0] as HTMLTextAreaElement;
    await typeInto(textarea, '@light');
    await press(textarea, 'Escape');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);

    // Escape closes this mention only; the next "@" opens the list again.
    await typeInto(textarea, '@light ');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);
    await typeInto(textarea, '@light @ligh');
    const option = byTestId(view.container, 'reference-suggestion')[0];
    const { act } = await import('react');
    await act(async () => {
      option.dispatchEvent(new MouseEvent('mousedown', { bubbles: true, cancelable: true }));
    });
    expect(byTestId(view.container, 'value')[0].textContent).toBe('@light @lighthouse ');
  });

  it('closes once a tag is complete: typed out in full, followed by a space, or chosen', async () => {
    view = await render(<Harness />);
    const textarea = byTestId(view.container, 'prompt')[0] as HTMLTextAreaElement;
    await typeInto(textarea, '@lighthouse');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);
    expect(textarea.getAttribute('aria-expanded')).toBe('false');
    // "@mara" is a whole tag, but "@marabou" continues it: still a choice to make.
    await typeInto(textarea, '@lighthouse @mara');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(2);
    await typeInto(textarea, '@lighthouse @mara ');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);
    await typeInto(textarea, '@lighthouse @mara @marab');
    await press(textarea, 'Enter');
    expect(byTestId(view.container, 'value')[0].textContent).toBe('@lighthouse @mara @marabou ');
    expect(byTestId(view.container, 'reference-suggestion')).toHaveLength(0);
  });

  it('warns about tags the style bible does not have', async () => {
    view = await render(<Harness initial="@ghost walks with @mara" />);
    expect(view.container.textContent).toContain('Not in the style bible: @ghost');
  });
});
