import { createContext, useContext, useMemo, type ReactNode } from 'react';

import type { Project } from '../../api/types';
import { parseRate, type Rate } from '../../lib/timecode';
import { useMe } from '../auth/session';
import { permissions, type Permissions } from './permissions';

interface ProjectContextValue {
  project: Project;
  rate: Rate;
  can: Permissions;
}

const ProjectContext = createContext<ProjectContextValue | null>(null);

export function ProjectProvider({ project, children }: { project: Project; children: ReactNode }) {
  const me = useMe();
  const value = useMemo(
    () => ({ project, rate: parseRate(project.fps_rational || project.fps), can: permissions(project.role, me.username) }),
    [project, me.username],
  );
  return <ProjectContext.Provider value={value}>{children}</ProjectContext.Provider>;
}

export function useProject(): ProjectContextValue {
  const value = useContext(ProjectContext);
  if (!value) throw new Error('useProject outside a project page');
  return value;
}
