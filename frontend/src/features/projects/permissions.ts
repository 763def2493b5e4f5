import type { Project, Role, Segment } from '../../api/types';

/** The role matrix of the API (docs: API.md "Roles"), for showing only what will work. */
export function permissions(role: Role | null | undefined, username: string) {
  const director = role === 'director';
  const producer = role === 'producer';
  const artist = role === 'artist';
  const owns = (segment: Pick<Segment, 'owner'> | null | undefined) => Boolean(segment?.owner && segment.owner.username === username);
  return {
    role,
    isDirector: director,
    isManager: director || producer,
    isArtist: artist,
    manageSegments: director,
    /** title, description, style prompt, runtime: the director's */
    editFilm: director,
    /** budget, currency, cap per artist: director and producers */
    editBudget: director || producer,
    /** lock a segment against edits, and unlock it */
    lockSegments: director,
    review: director,
    claim: artist,
    owns,
    /** edit shots, generate, upload takes, submit */
    editSegment: (segment: Pick<Segment, 'owner' | 'status'> | null | undefined) =>
      Boolean(segment && segment.status !== 'locked' && (director || (artist && owns(segment)))),
    release: (segment: Pick<Segment, 'owner'>) => Boolean(segment.owner && (director || (artist && owns(segment)))),
  };
}

export type Permissions = ReturnType<typeof permissions>;

export function projectRate(project: Pick<Project, 'fps_rational' | 'fps'>): string {
  return project.fps_rational || String(project.fps);
}
