import type { ActivityEntry } from '../../api/types';

const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');
const quoted = (v: unknown): string => (str(v) ? `“${str(v)}”` : '');
const takeNo = (data: Record<string, unknown>): string => (data.number ? `take ${str(data.number)}` : 'a take');
const clip = (text: string, n = 90) => (text.length > n ? `${text.slice(0, n - 1)}…` : text);

/** One line of the activity feed, after the actor's name. */
export function describeActivity(entry: Pick<ActivityEntry, 'type' | 'data'>): string {
  const d = entry.data ?? {};
  switch (entry.type) {
    case 'project.created':
      return `created the film ${quoted(d.title)}`.trim();
    case 'project.updated':
      return 'changed the film’s settings';
    case 'segment.created':
      return `added segment ${quoted(d.title)}`;
    case 'segment.updated':
      return d.status ? `moved ${quoted(d.title)} to ${str(d.status).replace('_', ' ')}` : `updated segment ${quoted(d.title)}`;
    case 'segment.deleted':
      return 'deleted a segment';
    case 'segment.claimed':
      return `claimed ${quoted(d.title)}`;
    case 'segment.released':
      return `released ${quoted(d.title) || 'a segment'}`;
    case 'segment.assigned':
      return `assigned ${quoted(d.title)}`;
    case 'shot.created':
      return `added shot ${quoted(d.title) || str(d.position)}`;
    case 'shot.deleted':
      return 'deleted a shot';
    case 'take.created':
      return `added ${takeNo(d)}`;
    case 'take.ready':
      return `${takeNo(d)} is ready`;
    case 'take.failed':
      return `${takeNo(d)} failed${d.error ? `: ${clip(str(d.error))}` : ''}`;
    case 'take.submitted':
      return `submitted ${takeNo(d)} for review`;
    case 'take.approved':
      return `approved ${takeNo(d)}`;
    case 'take.changes_requested':
      return `asked for changes on ${takeNo(d)}${d.body ? `: “${clip(str(d.body))}”` : ''}`;
    case 'comment.created':
      return `commented${d.body ? `: “${clip(str(d.body))}”` : ''}`;
    case 'member.added':
      return `welcomed a new ${str(d.role) || 'member'}`;
    case 'member.updated':
      return `changed a member’s role to ${str(d.role)}`;
    case 'member.removed':
      return 'removed a member';
    case 'reference.created':
      return `added @${str(d.tag)} to the style bible`;
    case 'reference.updated':
      return `updated @${str(d.tag)}`;
    case 'reference.deleted':
      return `removed @${str(d.tag)} from the style bible`;
    case 'invite.created':
      return `made an invite link for ${str(d.role) || 'new'}s`;
    case 'job.created':
      return `started generating with ${str(d.backend) || 'a backend'}${d.model ? ` (${str(d.model)})` : ''}`;
    case 'job.updated':
      return `generation ${str(d.state) || 'updated'}`;
    case 'credential.updated':
      return `updated the ${str(d.backend) || 'provider'} key`;
    case 'export.created':
      return 'started an export';
    case 'export.finished':
      return 'an export is ready';
    case 'export.failed':
      return `an export failed${d.error ? `: ${clip(str(d.error))}` : ''}`;
    default:
      return entry.type.replace('.', ' ');
  }
}
