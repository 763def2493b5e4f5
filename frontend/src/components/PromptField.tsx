import { useId, useRef, useState, type KeyboardEvent } from 'react';

import {
  applyMention,
  findMention,
  isCompleteMention,
  suggestReferences,
  unknownTags,
  type Mention,
  type Referenceable,
} from '../lib/mentions';

/**
 * A prompt textarea that completes `@reference` tags from the style bible: type "@" and
 * a few letters, pick with ↑/↓ and Enter or Tab (Esc closes), or click a suggestion. The list
 * closes once the tag is complete (chosen, typed out in full, or followed by a space), and it
 * sits in the page's flow under the field, so it never covers the buttons below.
 */
export function PromptField({
  value,
  onChange,
  references,
  testId,
  label,
  rows = 3,
  placeholder,
}: {
  value: string;
  onChange: (value: string) => void;
  references: readonly (Referenceable & { id?: string })[];
  testId?: string;
  label: string;
  rows?: number;
  placeholder?: string;
}) {
  const id = useId();
  const listId = `${id}-refs`;
  const ref = useRef<HTMLTextAreaElement>(null);
  const [mention, setMention] = useState<Mention | null>(null);
  const [active, setActive] = useState(0);
  const [dismissed, setDismissed] = useState(false);

  const suggestions =
    mention && !dismissed && !isCompleteMention(references, mention) ? suggestReferences(references, mention.query) : [];
  const open = suggestions.length > 0;
  const unknown = unknownTags(value, references);

  const track = (text: string, caret: number | null) => {
    const next = caret === null ? null : findMention(text, caret);
    if (next?.start !== mention?.start) setDismissed(false);
    setMention(next);
    setActive(0);
  };

  const accept = (tag: string) => {
    if (!mention) return;
    const result = applyMention(value, mention, tag);
    onChange(result.text);
    setMention(null);
    requestAnimationFrame(() => {
      const el = ref.current;
      if (!el) return;
      el.focus();
      el.setSelectionRange(result.caret, result.caret);
    });
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (!open) return;
    if (event.key === 'ArrowDown') {
      event.preventDefault();
      setActive((a) => (a + 1) % suggestions.length);
    } else if (event.key === 'ArrowUp') {
      event.preventDefault();
      setActive((a) => (a - 1 + suggestions.length) % suggestions.length);
    } else if (event.key === 'Enter' || event.key === 'Tab') {
      event.preventDefault();
      accept(suggestions[Math.min(active, suggestions.length - 1)].tag);
    } else if (event.key === 'Escape') {
      event.preventDefault();
      event.stopPropagation();
      setDismissed(true);
    }
  };

  return (
    <div className="field prompt-field">
      <label htmlFor={id}>{label}</label>
      <div className="prompt-wrap">
        <textarea
          id={id}
          ref={ref}
          data-testid={testId}
          rows={rows}
          value={value}
          placeholder={placeholder ?? 'Describe the shot. Type @ to use a character, place or style from the style bible.'}
          aria-autocomplete="list"
          aria-controls={open ? listId : undefined}
          aria-expanded={open}
          aria-activedescendant={open ? `${listId}-${active}` : undefined}
          onChange={(e) => {
            onChange(e.target.value);
            track(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onKeyUp={(e) => {
            if (['ArrowLeft', 'ArrowRight', 'Home', 'End'].includes(e.key)) track(value, e.currentTarget.selectionStart);
          }}
          onClick={(e) => track(value, e.currentTarget.selectionStart)}
          onBlur={() => setMention(null)}
        />
        {open && (
          <ul className="suggestions" role="listbox" id={listId} aria-label="References">
            {suggestions.map((s, i) => (
              <li
                key={s.id ?? s.tag}
                id={`${listId}-${i}`}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'active' : ''}
                data-testid="reference-suggestion"
                onMouseDown={(e) => {
                  e.preventDefault(); // keep the focus (and the caret) in the textarea
                  accept(s.tag);
                }}
                onMouseEnter={() => setActive(i)}
              >
                <strong>@{s.tag}</strong>
                {s.name && <span className="muted"> {s.name}</span>}
                {s.kind && <span className="suggestion-kind">{s.kind}</span>}
              </li>
            ))}
          </ul>
        )}
      </div>
      {unknown.length > 0 && (
        <small className="warn-text">
          Not in the style bible: {unknown.map((t) => `@${t}`).join(', ')}
        </small>
      )}
    </div>
  );
}
