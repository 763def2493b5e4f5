import { usePresenceLocation } from '../../realtime/RealtimeProvider';
import { useProject } from '../projects/ProjectContext';
import { Credentials } from './Credentials';
import { BudgetSettings, FilmSettings } from './FilmSettings';
import { Invites } from './Invites';
import { Members } from './Members';
import { StyleBible } from './StyleBible';

export function SettingsPage() {
  const { can } = useProject();
  usePresenceLocation(null, null);
  const intro = can.isDirector
    ? 'The film, people, invite links, the style bible, budget and provider keys.'
    : can.isManager
      ? 'People, invite links, the budget and provider keys; the director sets the film’s runtime and style.'
      : 'Who is in the film, its style and its style bible.';
  return (
    <div className="settings">
      <div className="page-head">
        <div>
          <h1>Settings</h1>
          <p className="muted">{intro}</p>
        </div>
      </div>
      <div className="settings-grid">
        <div className="settings-col">
          <FilmSettings />
          {can.editBudget && <BudgetSettings />}
          <Members manage={can.isManager} />
          {can.isManager && <Invites />}
        </div>
        <div className="settings-col">
          <StyleBible manage={can.isManager} />
          {can.isManager && <Credentials />}
        </div>
      </div>
    </div>
  );
}
