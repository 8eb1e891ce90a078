/**
 * What the frontend does with a space's app (`GET app-types`, from
 * jupyter_spaces/apps.py): its icon, and where opening it goes. JupyterLab
 * opens in place (its `lab` page, with the switcher); every other app is a
 * page of its own at the space's URL, opened in a new browser tab.
 *
 * Where the catalogue is not at hand (the switcher inside a space) the
 * app's name decides, as the R addin does: JupyterLab in place, others in a tab.
 */
import { jupyterIcon, LabIcon } from '@jupyterlab/ui-components';

import { AppType, IAppTypeInfo, ISpace } from './api';
import { labUrl } from './context';
import { codeEditorIcon, mlflowIcon, rstudioIcon, spacesIcon } from './icons';

/** The icons by the catalogue's `icon` names. */
const ICONS: Record<string, LabIcon> = {
  jupyter: jupyterIcon,
  code: codeEditorIcon,
  mlflow: mlflowIcon,
  rstudio: rstudioIcon
};

/** The icon name of each app when the catalogue is not at hand. */
const ICON_OF: Record<AppType, string> = {
  jupyterlab: 'jupyter',
  'code-editor': 'code',
  mlflow: 'mlflow',
  rstudio: 'rstudio'
};

/** The catalogue's entry of an app, if listed. */
export function appInfo(
  appType: string,
  appTypes: ReadonlyArray<IAppTypeInfo> = []
): IAppTypeInfo | undefined {
  return appTypes.find(a => a.name === appType);
}

/** An app's icon (the spaces icon for an app this frontend does not know). */
export function appIcon(
  appType: string,
  appTypes: ReadonlyArray<IAppTypeInfo> = []
): LabIcon {
  const name =
    appInfo(appType, appTypes)?.icon ?? ICON_OF[appType as AppType] ?? '';
  return ICONS[name] ?? spacesIcon;
}

/** Whether an app opens in a browser tab of its own (not in place). */
export function opensInTab(
  appType: string,
  appTypes: ReadonlyArray<IAppTypeInfo> = []
): boolean {
  const opensIn =
    appInfo(appType, appTypes)?.opens_in ??
    (appType === 'jupyterlab' ? 'jupyterlab' : 'tab');
  return opensIn !== 'jupyterlab';
}

/**
 * Where opening a space goes: JupyterLab's `lab` page, or the app itself at
 * the space's URL (code-server's workbench, MLflow's UI under its prefix).
 */
export function appUrl(
  space: Pick<ISpace, 'app_type' | 'url'>,
  appTypes: ReadonlyArray<IAppTypeInfo> = []
): string {
  return opensInTab(space.app_type, appTypes) ? space.url! : labUrl(space.url!);
}

/** Where and how to open a space: an app of its own always gets a new tab. */
export function openTarget(
  space: Pick<ISpace, 'app_type' | 'url'>,
  appTypes: ReadonlyArray<IAppTypeInfo> = [],
  newTab = false
): { url: string; newTab: boolean } {
  return {
    url: appUrl(space, appTypes),
    newTab: newTab || opensInTab(space.app_type, appTypes)
  };
}

/**
 * Why the caller cannot open this space's app, when they are a viewer of an
 * app with no read-only mode (the space's gate refuses them too); else ''.
 */
export function viewerRefusal(
  space: Pick<ISpace, 'app_type' | 'role'>,
  appTypes: ReadonlyArray<IAppTypeInfo> = []
): string {
  const app = appInfo(space.app_type, appTypes);
  return space.role === 'viewer' && app?.viewers === 'refused'
    ? app.viewer_reason
    : '';
}
