import { QueryClientProvider, type QueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { BrowserRouter, Navigate, Route, Routes } from 'react-router';

import { InvitePage } from './features/auth/InvitePage';
import { LoginPage } from './features/auth/LoginPage';
import { RequireAuth } from './features/auth/RequireAuth';
import { SignupPage } from './features/auth/SignupPage';
import { BoardPage } from './features/board/BoardPage';
import { HomePage } from './features/home/HomePage';
import { ExportsPage } from './features/exports/ExportsPage';
import { NotFoundPage } from './features/placeholders/Placeholders';
import { ProjectLayout } from './features/projects/ProjectLayout';
import { ProjectListPage } from './features/projects/ProjectListPage';
import { ReviewPage } from './features/review/ReviewPage';
import { SettingsPage } from './features/settings/SettingsPage';
import { TimelinePage } from './features/timeline/TimelinePage';
import { WorkspacePage } from './features/workspace/WorkspacePage';
import { createQueryClient } from './state/queryClient';

export function AppRoutes() {
  return (
    <Routes>
      <Route path="/" element={<Navigate to="/projects" replace />} />
      <Route path="/login" element={<LoginPage />} />
      <Route path="/signup" element={<SignupPage />} />
      <Route path="/invite/:token" element={<InvitePage />} />
      <Route
        path="/projects"
        element={
          <RequireAuth>
            <ProjectListPage />
          </RequireAuth>
        }
      />
      <Route
        path="/projects/:projectId"
        element={
          <RequireAuth>
            <ProjectLayout />
          </RequireAuth>
        }
      >
        <Route index element={<HomePage />} />
        <Route path="segments" element={<BoardPage />} />
        <Route path="segments/:segmentId" element={<WorkspacePage />} />
        <Route path="review" element={<ReviewPage />} />
        <Route path="timeline" element={<TimelinePage />} />
        <Route path="exports" element={<ExportsPage />} />
        <Route path="settings" element={<SettingsPage />} />
      </Route>
      <Route path="*" element={<NotFoundPage />} />
    </Routes>
  );
}

export default function App({ queryClient }: { queryClient?: QueryClient }) {
  const [client] = useState(() => queryClient ?? createQueryClient());
  return (
    <QueryClientProvider client={client}>
      <BrowserRouter>
        <AppRoutes />
      </BrowserRouter>
    </QueryClientProvider>
  );
}
