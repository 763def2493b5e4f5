import { Link } from 'react-router';

import { Empty } from '../../components/States';

export function NotFoundPage() {
  return (
    <main className="page">
      <Empty title="This page does not exist">
        <Link to="/projects">Go to your films</Link>
      </Empty>
    </main>
  );
}
