import { errorSentence } from '../api/client';

/**
 * An API error as its human sentence (`detail`). The element with the test id holds the
 * sentence only (the dismiss button sits beside it), so its text is exactly the detail.
 */
export function ErrorMessage({ error, onDismiss }: { error: unknown; onDismiss?: () => void }) {
  if (!error) return null;
  return (
    <div className="error-box">
      <div className="error-text" role="alert" data-testid="error-message">
        {typeof error === 'string' ? error : errorSentence(error)}
      </div>
      {onDismiss && (
        <button type="button" className="error-dismiss" onClick={onDismiss} aria-label="Dismiss the message">
          ×
        </button>
      )}
    </div>
  );
}
