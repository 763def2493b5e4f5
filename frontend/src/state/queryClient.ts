import { MutationCache, QueryCache, QueryClient } from '@tanstack/react-query';

import { isApiError } from '../api/client';
import { errorStore } from './errors';
import { qk } from './keys';

declare module '@tanstack/react-query' {
  interface Register {
    mutationMeta: {
      /** The caller shows this mutation's error itself (forms on the sign-in pages). */
      inlineError?: boolean;
    };
  }
}

export function createQueryClient(): QueryClient {
  // A 401 anywhere means the session ended (signed out in another tab, expired):
  // asking again who is signed in sends the person to the sign-in page.
  const onUnauthenticated = (error: unknown, key?: readonly unknown[]) => {
    if (isApiError(error) && error.status === 401 && key?.[0] !== qk.session[0]) {
      void client.invalidateQueries({ queryKey: qk.session });
    }
  };
  const client: QueryClient = new QueryClient({
    queryCache: new QueryCache({ onError: (error, query) => onUnauthenticated(error, query.queryKey) }),
    mutationCache: new MutationCache({
      onError: (error, _vars, _ctx, mutation) => {
        onUnauthenticated(error);
        if (!mutation.options.meta?.inlineError) errorStore.report(error);
      },
      onSuccess: (_data, _vars, _ctx, mutation) => {
        if (!mutation.options.meta?.inlineError) errorStore.clear();
      },
    }),
    defaultOptions: {
      queries: {
        staleTime: 15_000,
        refetchOnWindowFocus: true,
        retry: (count, error) => {
          // 4xx answers will not change by asking again.
          if (isApiError(error) && error.status >= 400 && error.status < 500) return false;
          return count < 2;
        },
      },
      mutations: { retry: false },
    },
  });
  return client;
}
