import { Empty } from '../../components/States';

/** Exports of the final cut and of single segments (issue #6). */
export function ExportsPage() {
  return (
    <div>
      <div className="page-head">
        <h1>Exports</h1>
      </div>
      <Empty title="Exports are being built">Renders of the final cut and of single segments will be listed here.</Empty>
    </div>
  );
}
