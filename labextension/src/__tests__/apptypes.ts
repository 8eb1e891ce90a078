/** `GET app-types` as the domain answers it (jupyter_spaces/apps.py), for the tests. */
import { IAppTypeInfo } from '../api';

export const APP_TYPES: IAppTypeInfo[] = [
  {
    name: 'jupyterlab',
    display_name: 'JupyterLab',
    description: 'Notebooks, consoles, terminals and files.',
    icon: 'jupyter',
    co_edits: true,
    viewers: 'read-only',
    viewer_reason: '',
    opens_in: 'jupyterlab',
    available: true,
    reason: ''
  },
  {
    name: 'code-editor',
    display_name: 'Code Editor',
    description: 'VS Code in the browser (code-server).',
    icon: 'code',
    co_edits: false,
    viewers: 'refused',
    viewer_reason: 'The Code Editor has no read-only mode.',
    opens_in: 'tab',
    available: true,
    reason: ''
  },
  {
    name: 'mlflow',
    display_name: 'MLflow',
    description: 'An MLflow tracking server.',
    icon: 'mlflow',
    co_edits: false,
    viewers: 'read-only',
    viewer_reason: '',
    opens_in: 'tab',
    available: true,
    reason: ''
  },
  {
    name: 'rstudio',
    display_name: 'RStudio',
    description: 'RStudio Server.',
    icon: 'rstudio',
    co_edits: false,
    viewers: 'refused',
    viewer_reason: 'RStudio has no read-only mode.',
    opens_in: 'tab',
    available: false,
    reason: 'RStudio Server is in none of the package registries.'
  }
];
