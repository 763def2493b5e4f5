import { useMutation, useQueryClient } from '@tanstack/react-query';

import { errorSentence } from '../../api/client';
import { api } from '../../api/endpoints';
import type { Job } from '../../api/types';
import { ProgressBar } from '../../components/States';
import { qk } from '../../state/keys';
import { useActiveJobs } from '../../state/queries';
import { useProject } from '../projects/ProjectContext';
import { jobStatusText, KIND_LABEL } from './takeActions';

const ACTIVE = new Set(['queued', 'running']);

/** Running generation jobs of a shot: where each is (queued, submitted, running with its
 * progress, downloading, retrying with the provider's message) and a cancel button. */
export function JobList({ shotId }: { shotId: string }) {
  const { project } = useProject();
  const qc = useQueryClient();
  const jobs = useActiveJobs(project.id, shotId);
  const active = (jobs.data ?? []).filter((j) => ACTIVE.has(j.state));
  const cancel = useMutation({
    mutationFn: (job: Job) => api.generation.cancel(job.id),
    meta: { inlineError: true }, // shown on the job's row
    onSettled: () => {
      void qc.invalidateQueries({ queryKey: qk.jobs(project.id, shotId) });
      void qc.invalidateQueries({ queryKey: qk.takes(project.id, shotId) });
    },
  });
  if (!active.length) return null;
  return (
    <ul className="job-list" aria-label="Generation jobs">
      {active.map((job) => {
        const status = jobStatusText(job);
        const retrying = Boolean(job.retry);
        return (
          <li
            key={job.id}
            className={`job-row${retrying ? ' job-retrying' : ''}`}
            data-testid="job-progress"
            data-job-id={job.id}
            data-state={job.state}
            data-phase={job.phase ?? ''}
          >
            <div className="row-between small">
              <span>
                {KIND_LABEL[job.kind] ?? job.kind} · {job.backend}
                {job.model ? ` · ${job.model}` : ''}
                {job.variations > 1 ? ` · ${job.variations} variations` : ''}
              </span>
              <span className={retrying ? 'warn-text' : 'muted'} data-testid="job-status" aria-live="polite">
                {status}
              </span>
            </div>
            <div className="row gap-s">
              <ProgressBar value={job.progress} label={`Generation: ${status}`} />
              <button
                type="button"
                className="button button-small button-ghost"
                data-testid="generate-cancel"
                onClick={() => cancel.mutate(job)}
                disabled={cancel.isPending || job.cancel_requested}
              >
                {job.cancel_requested ? 'Cancelling…' : 'Cancel'}
              </button>
            </div>
            {cancel.isError && cancel.variables?.id === job.id && (
              <p className="take-error small" role="alert">
                Could not cancel: {errorSentence(cancel.error)}
              </p>
            )}
          </li>
        );
      })}
    </ul>
  );
}
