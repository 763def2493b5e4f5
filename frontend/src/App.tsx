import { useEffect, useState } from 'react';

import { fetchSession, type SessionState } from './api';

export function StatusLine({ state }: { state: SessionState }) {
  switch (state.kind) {
    case 'loading':
      return <p role="status">Checking your session…</p>;
    case 'signed-in':
      return (
        <p role="status">
          Signed in as <strong>{state.me.username}</strong>.
        </p>
      );
    case 'signed-out':
      return (
        <p role="status">
          Not signed in. <strong>Sign in</strong> to join a film.
        </p>
      );
    case 'error':
      return <p role="status">{state.message}</p>;
  }
}

export default function App({ load = fetchSession }: { load?: () => Promise<SessionState> }) {
  const [state, setState] = useState<SessionState>({ kind: 'loading' });

  useEffect(() => {
    let active = true;
    load().then((next) => {
      if (active) setState(next);
    });
    return () => {
      active = false;
    };
  }, [load]);

  return (
    <main>
      <h1>Montage</h1>
      <p>
        A studio where many artists make one AI-generated film together: the director cuts the film into
        segments, artists write shots and generate takes, and the producer exports the final cut from the shared
        timeline.
      </p>
      <StatusLine state={state} />
    </main>
  );
}
