import { useEffect } from 'react';
import { useLocation } from 'react-router';

import { errorStore, useReportedError } from '../state/errors';
import { ErrorMessage } from './ErrorMessage';

/** The page-wide error slot: the latest failed action, cleared when the page changes. */
export function ErrorBanner() {
  const error = useReportedError();
  const { pathname } = useLocation();
  useEffect(() => {
    errorStore.clear();
  }, [pathname]);
  if (!error) return null;
  return (
    <div className="error-banner" key={error.id}>
      <ErrorMessage error={error.message} onDismiss={() => errorStore.clear()} />
    </div>
  );
}
