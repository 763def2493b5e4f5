import { Link } from 'react-router';

import { Empty } from '../../components/States';
import { useProject } from '../projects/ProjectContext';

export function TimelinePlaceholder() {
  const { project } = useProject();
  return (
    <div>
      <div className="page-head">
        <h1>Timeline</h1>
      </div>
      <Empty title="The shared timeline is coming next">
        Order, trims, transitions and audio will be edited here. Until then, order segments on the{' '}
        <Link to={`/projects/${project.id}/segments`}>segment board</Link>.
      </Empty>
    </div>
  );
}

export function ExportsPlaceholder() {
  return (
    <div>
      <div className="page-head">
        <h1>Exports</h1>
      </div>
      <Empty title="Exports are coming next">Renders of the final cut and of single segments will be listed here.</Empty>
    </div>
  );
}

export function NotFoundPage() {
  return (
    <main className="page">
      <Empty title="This page does not exist">
        <Link to="/projects">Go to your films</Link>
      </Empty>
    </main>
  );
}
