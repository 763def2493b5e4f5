import type { ActivityEntry } from '../../api/types';
import { formatDuration } from '../../lib/timecode';

type Data = Record<string, unknown>;

/** Titles the feed can look up when an entry carries only an id (older entries, jobs). */
export interface ActivityContext {
  shotTitle?: (shotId: string) => string | undefined;
}

/** One line of the feed: who did it (null when Montage did), and what, to whom. */
export interface ActivityLine {
  id: string;
  type: string;
  who: string | null;
  text: string;
  at: string;
}

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const quoted = (v: unknown): string => (str(v) ? `“${str(v)}”` : '');
const clip = (text: string, n = 90) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);
const capitalise = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
const article = (word: string) => (/^[aeiou]/i.test(word) ? `an ${word}` : `a ${word}`);

function obj(v: unknown): Data | null {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Data) : null;
}

/** A person as the feed names them: display name, else username. */
export function personOf(v: unknown): string {
  const p = obj(v);
  if (!p) return '';
  return str(p.display_name).trim() || str(p.username);
}

const samePerson = (a: unknown, b: unknown) => {
  const x = obj(a);
  const y = obj(b);
  return Boolean(x && y && ((x.id !== undefined && x.id === y.id) || (x.username && x.username === y.username)));
};

/** "250.00" and "USD" → "250 USD"; "12.50" → "12.50 USD". */
export function money(amount: unknown, currency: unknown): string {
  const n = Number(str(amount));
  const shown = Number.isFinite(n) ? (Number.isInteger(n) ? String(n) : n.toFixed(2)) : str(amount);
  return `${shown} ${str(currency) || 'USD'}`.trim();
}

function shotTitleOf(d: Data, ctx: ActivityContext): string {
  return str(d.shot_title) || (str(d.shot) && ctx.shotTitle?.(str(d.shot))) || '';
}

/** "take 2 of “Waves”", plus " by ana" when someone other than the actor made it. */
function takeRef(d: Data, actor: unknown, ctx: ActivityContext, { by = true } = {}): string {
  const n = str(d.number);
  const shot = shotTitleOf(d, ctx);
  let out = n ? `take ${n}` : 'a take';
  if (shot) out += ` of ${quoted(shot)}`;
  const author = personOf(d.author);
  if (by && author && !samePerson(d.author, actor)) out += ` by ${author}`;
  return out;
}

function settingsChange(d: Data): string {
  const changes = obj(d.changes) ?? {};
  const currency = changes.budget_currency ?? d.currency;
  const parts: string[] = [];
  if ('budget_amount' in changes) parts.push(`set the budget to ${money(changes.budget_amount, currency)}`);
  else if ('budget_currency' in changes) parts.push(`set the currency to ${str(changes.budget_currency)}`);
  if ('artist_budget_cap' in changes)
    parts.push(changes.artist_budget_cap === null ? 'removed the cap per artist' : `set the cap per artist to ${money(changes.artist_budget_cap, currency)}`);
  if ('target_runtime_seconds' in changes)
    parts.push(
      changes.target_runtime_seconds ? `set the target runtime to ${formatDuration(Number(changes.target_runtime_seconds))}` : 'cleared the target runtime',
    );
  if ('title' in changes) parts.push(`renamed the film ${quoted(changes.title)}`);
  if ('fps' in changes || 'width' in changes || 'height' in changes) parts.push('changed the frame rate or size');
  if ('loudness_target' in changes) parts.push(`set the loudness target to ${str(changes.loudness_target)} LUFS`);
  const fields = Array.isArray(d.fields) ? d.fields.map(str) : [];
  if (fields.includes('style_prompt')) parts.push('changed the style prompt');
  if (fields.includes('description')) parts.push('changed the description');
  if (parts.length === 0) return 'changed the film’s settings';
  return parts.length === 1 ? parts[0] : `${parts.slice(0, -1).join(', ')} and ${parts[parts.length - 1]}`;
}

/** What happened, after the actor's name ("approved take 2 of “Waves” by ana"); for events
 * without an actor, a whole sentence ("Take 3 of “Waves” by bo is ready"). */
export function describeActivity(entry: Pick<ActivityEntry, 'type' | 'data' | 'actor'>, ctx: ActivityContext = {}): string {
  const d: Data = entry.data ?? {};
  const actor = entry.actor;
  const system = !actor;
  const take = (opts?: { by?: boolean }) => takeRef(d, actor, ctx, opts);
  switch (entry.type) {
    case 'project.created':
      return `created the film ${quoted(d.title)}`.trim();
    case 'project.updated':
      return settingsChange(d);
    case 'segment.created':
      return `added segment ${quoted(d.title)}`;
    case 'segment.updated': {
      const status = str(d.status).replace('_', ' ');
      if (system) return `${capitalise(quoted(d.title) || 'A segment')} is now ${status}`;
      if (d.status === 'locked') return `locked ${quoted(d.title)}`;
      return `updated ${quoted(d.title)}${status ? ` (${status})` : ''}`;
    }
    case 'segment.deleted':
      return `deleted segment ${quoted(d.title) || ''}`.trim();
    case 'segment.claimed':
      return `claimed ${quoted(d.title)}`;
    case 'segment.released':
      return `released ${quoted(d.title) || 'a segment'}`;
    case 'segment.assigned':
      return `assigned ${quoted(d.title)}${personOf(d.owner) ? ` to ${personOf(d.owner)}` : ''}`;
    case 'shot.created':
      return `added shot ${quoted(d.title) || str(d.position)}`;
    case 'shot.deleted':
      return `deleted shot ${quoted(d.title) || ''}`.trim();
    case 'take.created':
      return system ? `${capitalise(take())} arrived` : `added ${take()}`;
    case 'take.ready':
      return system ? `${capitalise(take())} is ready` : `made ${take()} ready`;
    case 'take.failed':
      return `${system ? capitalise(take()) : take()} failed${d.error ? `: ${clip(str(d.error))}` : ''}`;
    case 'take.deleted':
      return `deleted ${take()}`;
    case 'take.submitted':
      return `submitted ${take()} for review`;
    case 'take.approved':
      return `approved ${take()}`;
    case 'take.changes_requested': {
      const author = personOf(d.author);
      const whom = author && !samePerson(d.author, actor) ? `${author} ` : '';
      return `asked ${whom}for changes on ${take({ by: false })}${d.body ? `: “${clip(str(d.body))}”` : ''}`;
    }
    case 'comment.created':
      return `commented${d.body ? `: “${clip(str(d.body))}”` : ''}`;
    case 'member.added': {
      const role = str(d.role) || 'member';
      if (samePerson(d.user, actor)) return `joined as ${article(role)}`;
      return `added ${personOf(d.user) || 'someone'} as ${article(role)}`;
    }
    case 'member.updated':
      return `made ${personOf(d.user) || 'a member'} ${article(str(d.role) || 'member')}`;
    case 'member.removed':
      return `removed ${personOf(d.user) || 'a member'} from the film`;
    case 'reference.created':
      return `added @${str(d.tag)} to the style bible`;
    case 'reference.updated':
      return `updated @${str(d.tag)}`;
    case 'reference.deleted':
      return `removed @${str(d.tag)} from the style bible`;
    case 'invite.created':
      return `made an invite link for ${str(d.role) || 'new'}s`;
    case 'job.created': {
      const n = Number(d.variations) > 0 ? Number(d.variations) : 1;
      const shot = shotTitleOf(d, ctx);
      const kind = str(d.kind);
      const what = kind === 'speech' || kind === 'music' || kind === 'sound_effect' ? (n === 1 ? 'sound take' : 'sound takes') : n === 1 ? 'take' : 'takes';
      return `generated ${n} ${what}${shot ? ` of ${quoted(shot)}` : ''}${d.backend ? ` with ${str(d.backend)}` : ''}`;
    }
    case 'job.updated':
      return `generation ${str(d.state) || 'updated'}`;
    case 'credential.updated':
      return `updated the ${str(d.backend) || 'provider'} settings`;
    case 'export.created':
      return 'started an export';
    case 'export.finished':
      return system ? 'An export is ready' : 'finished an export';
    case 'export.failed':
      return `${system ? 'An export' : 'an export'} failed${d.error ? `: ${clip(str(d.error))}` : ''}`;
    case 'export.cancelled':
      return 'cancelled an export';
    default:
      return entry.type.replace('.', ' ');
  }
}

/** The feed as lines. The takes a generation job opens are said by its own line
 * ("bo generated 2 takes of “Waves”"), so their "added" entries are left out; the job's
 * line borrows their shot title when it has none. */
export function activityLines(entries: ActivityEntry[], ctx: ActivityContext = {}): ActivityLine[] {
  const jobShots = new Map<string, string>();
  for (const e of entries) {
    const job = str(e.data?.job);
    if (e.type === 'take.created' && job && str(e.data?.shot_title)) jobShots.set(job, str(e.data.shot_title));
  }
  return entries
    .filter((e) => !(e.type === 'take.created' && e.actor && str(e.data?.job) && e.data?.status === 'processing'))
    .map((e) => {
      const data = e.type === 'job.created' && !e.data?.shot_title && jobShots.has(str(e.data?.id)) ? { ...e.data, shot_title: jobShots.get(str(e.data.id)) } : e.data;
      return { id: e.id, type: e.type, who: e.actor ? personOf(e.actor) : null, text: describeActivity({ ...e, data }, ctx), at: e.at };
    });
}
