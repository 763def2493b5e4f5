import { useQuery } from '@tanstack/react-query';
import { NavLink, Outlet, useParams } from 'react-router';

import { api } from '../../api/endpoints';
import { AppHeader } from '../../components/AppHeader';
import { ErrorBanner } from '../../components/ErrorBanner';
import { ErrorMessage } from '../../components/ErrorMessage';
import { Loading } from '../../components/States';
import { label, ROLE_LABEL } from '../../lib/format';
import { RealtimeProvider, useSocketStatus } from '../../realtime/RealtimeProvider';
import type { SocketStatus } from '../../realtime/socket';
import { qk } from '../../state/keys';
import { ProjectProvider } from './ProjectContext';

const STATUS_TEXT: Record<SocketStatus, string> = {
  connecting: 'Connecting…',
  open: 'Live',
  reconnecting: 'Reconnecting…',
  unauthenticated: 'Signed out',
  not_found: 'No access',
  closed: 'Offline',
};

function LiveStatus() {
  const status = useSocketStatus();
  return (
    <span className={`live-status live-${status}`} role="status" title="Live updates from the studio">
      <span className="live-dot" aria-hidden="true" />
      {STATUS_TEXT[status]}
    </span>
  );
}

const NAV = [
  { to: '', end: true, label: 'Home', testId: 'nav-home' },
  { to: 'segments', end: false, label: 'Segments', testId: 'nav-board' },
  { to: 'review', end: false, label: 'Review', testId: 'nav-review' },
  { to: 'timeline', end: false, label: 'Timeline', testId: 'nav-timeline' },
  { to: 'exports', end: false, label: 'Exports', testId: 'nav-exports' },
  { to: 'settings', end: false, label: 'Settings', testId: 'nav-settings' },
];

export function ProjectLayout() {
  const { projectId = '' } = useParams();
  const project = useQuery({ queryKey: qk.project(projectId), queryFn: () => api.projects.get(projectId) });

  if (project.isPending) {
    return (
      <div className="app">
        <AppHeader />
        <Loading label="Opening the film…" />
      </div>
    );
  }
  if (project.isError) {
    return (
      <div className="app">
        <AppHeader />
        <main className="page">
          <ErrorMessage error={project.error} />
        </main>
      </div>
    );
  }

  const base = `/projects/${projectId}`;
  return (
    <RealtimeProvider projectId={projectId}>
      <ProjectProvider project={project.data}>
        <div className="app">
          <AppHeader
            status={<LiveStatus />}
            nav={
            <nav className="project-nav" aria-label="Project">
              {NAV.map((item) => (
                <NavLink
                  key={item.testId}
                  to={item.to ? `${base}/${item.to}` : base}
                  end={item.end}
                  data-testid={item.testId}
                  className={({ isActive }) => `nav-link${isActive ? ' active' : ''}`}
                >
                  {item.label}
                </NavLink>
              ))}
            </nav>
            }
          >
            <div className="project-title-block">
              <span className="project-title" title={project.data.title}>
                {project.data.title}
              </span>
              <span className="role-chip">{label(ROLE_LABEL, project.data.role)}</span>
            </div>
          </AppHeader>
          <main className="page page-wide">
            <ErrorBanner />
            <Outlet />
          </main>
        </div>
      </ProjectProvider>
    </RealtimeProvider>
  );
}
