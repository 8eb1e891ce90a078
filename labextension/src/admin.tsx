/**
 * The admin console of the spaces home: the All spaces view (adminspaces.tsx),
 * the users (adminusers.tsx, their dialogs in userdialogs.tsx) and the audit
 * log (auditview.tsx). Their logic apart from the views is adminmodel.ts.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { HomeModel } from './homemodel';

export { AllSpacesView } from './adminspaces';
export { AuditView } from './auditview';
export { UsersView } from './adminusers';

/** What every admin view is given. */
export interface IAdminProps {
  model: HomeModel;
  trans: TranslationBundle;
  /** Run an action; its error goes to the home's banner. */
  run: (fn: () => Promise<unknown>) => Promise<void>;
}
