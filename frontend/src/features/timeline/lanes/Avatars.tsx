import type { PresenceEntry } from '../../../realtime/protocol';

export function initials(name: string): string {
  const parts = name.split(/[\s._-]+/).filter(Boolean);
  return ((parts[0]?.[0] ?? '?') + (parts[1]?.[0] ?? '')).toUpperCase();
}

export function Avatars({ people, testId, max = 4 }: { people: PresenceEntry[]; testId: string; max?: number }) {
  return (
    <span className="tl-avatars" data-testid={testId} title={people.map((p) => p.display_name || p.username).join(', ')}>
      {people.slice(0, max).map((p) => (
        <span key={p.user_id} className="avatar tl-avatar" data-testid="presence-user" data-username={p.username} aria-label={p.display_name || p.username}>
          {initials(p.display_name || p.username)}
        </span>
      ))}
      {people.length > max && <span className="tl-avatar-more">+{people.length - max}</span>}
      <span className="visually-hidden">{people.map((p) => p.username).join(', ')}</span>
    </span>
  );
}
