/** The signed-in user as far as the browser app needs it. */
export interface Me {
  username: string;
}

export type SessionState =
  | { kind: 'loading' }
  | { kind: 'signed-in'; me: Me }
  | { kind: 'signed-out' }
  | { kind: 'error'; message: string };

function usernameOf(body: unknown): string | null {
  if (body && typeof body === 'object') {
    const record = body as Record<string, unknown>;
    if (typeof record.username === 'string') return record.username;
    if (record.user && typeof record.user === 'object') return usernameOf(record.user);
  }
  return null;
}

/** Ask the API who is signed in (session cookie). 401/403 mean nobody is. */
export async function fetchSession(fetcher: typeof fetch = fetch): Promise<SessionState> {
  try {
    const response = await fetcher('/api/v1/me/', {
      credentials: 'same-origin',
      headers: { Accept: 'application/json' },
    });
    if (response.status === 401 || response.status === 403) return { kind: 'signed-out' };
    if (!response.ok) return { kind: 'error', message: `The studio answered ${response.status}.` };
    const username = usernameOf(await response.json());
    return username ? { kind: 'signed-in', me: { username } } : { kind: 'signed-out' };
  } catch {
    return { kind: 'error', message: 'The studio cannot be reached.' };
  }
}
