import { Empty } from '../../components/States';

/** The shared timeline of the whole film (issue #6). */
export function TimelinePage() {
  return (
    <div>
      <div className="page-head">
        <h1>Timeline</h1>
      </div>
      <Empty title="The shared timeline is being built">Order, trims, transitions and audio will be edited here.</Empty>
    </div>
  );
}
