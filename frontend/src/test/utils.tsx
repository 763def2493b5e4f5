/** Rendering helpers for component tests (happy-dom, React 19 act). */

import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { act, type ReactNode } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { MemoryRouter, Route, Routes } from 'react-router';

import type { Me, Project, Segment } from '../api/types';
import { ProjectProvider } from '../features/projects/ProjectContext';
import { ProjectSocket } from '../realtime/socket';
import { createQueryClient } from '../state/queryClient';
import { qk } from '../state/keys';

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

export const ME: Me = { id: 3, username: 'ana', display_name: 'Ana' };

export const PROJECT: Project = {
  id: 'p1',
  title: 'The Lighthouse',
  slug: 'the-lighthouse',
  fps: 24,
  fps_rational: '24/1',
  width: 1280,
  height: 720,
  aspect: '16:9',
  target_runtime_seconds: 120,
  loudness_target: -16,
  budget_amount: '250.00',
  budget_currency: 'USD',
  artist_budget_cap: null,
  style_prompt: '',
  description: '',
  role: 'artist',
  member_count: 3,
  segment_count: 2,
  created_at: '2026-01-01T00:00:00Z',
};

export interface Rendered {
  container: HTMLDivElement;
  root: Root;
  qc: QueryClient;
  unmount: () => Promise<void>;
}

export async function render(
  ui: ReactNode,
  { me = ME, project, qc = createQueryClient(), route = '/', path = '*' }: { me?: Me | null; project?: Project; qc?: QueryClient; route?: string; path?: string } = {},
): Promise<Rendered> {
  qc.setQueryData(qk.session, me);
  if (project) qc.setQueryData(qk.project(project.id), project);
  const container = document.createElement('div');
  document.body.appendChild(container);
  const root = createRoot(container);
  const content = project ? <ProjectProvider project={project}>{ui}</ProjectProvider> : ui;
  await act(async () => {
    root.render(
      <QueryClientProvider client={qc}>
        <MemoryRouter initialEntries={[route]}>
          <Routes>
            <Route path={path} element={content} />
          </Routes>
        </MemoryRouter>
      </QueryClientProvider>,
    );
  });
  return {
    container,
    root,
    qc,
    unmount: async () => {
      await act(async () => root.unmount());
      container.remove();
      qc.clear();
    },
  };
}

/** Let promises, timers of 0 ms and React updates settle. */
export async function flush(times = 3): Promise<void> {
  for (let i = 0; i < times; i += 1) {
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 0));
    });
  }
}

export async function waitFor<T>(check: () => T, timeoutMs = 2000): Promise<T> {
  const started = Date.now();
  let lastError: unknown;
  while (Date.now() - started < timeoutMs) {
    try {
      return check();
    } catch (error) {
      lastError = error;
      await flush(1);
    }
  }
  throw lastError;
}

export const byTestId = (root: ParentNode, id: string) => Array.from(root.querySelectorAll<HTMLElement>(`[data-testid="${id}"]`));

export async function click(el: Element | null | undefined): Promise<void> {
  if (!el) throw new Error('nothing to click');
  await act(async () => {
    (el as HTMLElement).click();
  });
}

/** Type into a React-controlled field (sets the DOM value, fires input). */
export async function typeInto(el: HTMLInputElement | HTMLTextAreaElement, value: string, caret = value.length): Promise<void> {
  await act(async () => {
    const proto = el instanceof HTMLTextAreaElement ? HTMLTextAreaElement.prototype : HTMLInputElement.prototype;
    Object.getOwnPropertyDescriptor(proto, 'value')!.set!.call(el, value);
    el.setSelectionRange(caret, caret);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
}

export async function press(el: Element, key: string): Promise<void> {
  await act(async () => {
    el.dispatchEvent(new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true }));
  });
}

export function jsonResponse(status: number, body: unknown): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

/** A WebSocket stand-in: `FakeWS.last.push(message)` delivers a server frame to the app. */
export class FakeWS {
  static last: FakeWS | null = null;
  readyState = 1;
  onmessage: ((e: { data: string }) => void) | null = null;
  onclose: ((e: { code: number }) => void) | null = null;
  onopen = null;
  onerror = null;
  constructor(public url: string) {
    FakeWS.last = this;
  }
  send() {}
  close() {}
  push(message: unknown) {
    this.onmessage?.({ data: JSON.stringify(message) });
  }
}

/** A project socket factory for `RealtimeProvider` that talks to a `FakeWS`. */
export const socketFactory = (projectId: string) =>
  new ProjectSocket(projectId, { url: 'ws://test/', WebSocketImpl: FakeWS as unknown as new (url: string) => WebSocket });

/** A segment as the API lists it: claimed when it has an owner, open otherwise. */
export const segmentFixture = (id: string, position: number, owner: string | null, fields: Partial<Segment> = {}): Segment => ({
  id,
  project: 'p1',
  position,
  title: `Segment ${id}`,
  synopsis: '',
  target_frames: 480,
  owner: owner ? { id: owner.length, username: owner } : null,
  claimed_at: null,
  status: owner ? 'claimed' : 'open',
  revision: 1,
  shot_count: 2,
  approved_count: 0,
  submitted_count: 0,
  created_at: '',
  ...fields,
});
