import { LabIcon } from '@jupyterlab/ui-components';

/** The spaces icon: four rounded tiles (themes recolour `jp-icon3`). */
export const spacesIcon = new LabIcon({
  name: 'jupyter-spaces:spaces',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<g class="jp-icon3" fill="#616161">' +
    '<rect x="3" y="3" width="8" height="8" rx="2"/>' +
    '<rect x="13" y="3" width="8" height="8" rx="2"/>' +
    '<rect x="3" y="13" width="8" height="8" rx="2"/>' +
    '<rect x="13" y="13" width="8" height="8" rx="2" opacity=".5"/>' +
    '</g></svg>'
});

/*
 * The apps' icons (the `icon` of `GET app-types`): simple glyphs of our own,
 * each on a tile of its own colour so the apps tell apart at 16 px in both
 * themes. JupyterLab keeps JupyterLab's own icon.
 */

/** Code Editor: angle brackets and a slash on a blue tile. */
export const codeEditorIcon = new LabIcon({
  name: 'jupyter-spaces:app-code',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<rect x="1" y="1" width="22" height="22" rx="5" fill="#1f6fc5"/>' +
    '<path d="M9 7.5 4.5 12 9 16.5M15 7.5l4.5 4.5-4.5 4.5M13.2 6l-2.4 12" ' +
    'fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round"/>' +
    '</svg>'
});

/** MLflow: a rising run curve with its logged points on a teal tile. */
export const mlflowIcon = new LabIcon({
  name: 'jupyter-spaces:app-mlflow',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<rect x="1" y="1" width="22" height="22" rx="5" fill="#0b8a7a"/>' +
    '<path d="M5 18h14" stroke="#fff" stroke-opacity=".6" stroke-width="1.5" stroke-linecap="round"/>' +
    '<path d="M5.5 15 10 11l3 2.5L18.5 7" fill="none" stroke="#fff" stroke-width="2" ' +
    'stroke-linecap="round" stroke-linejoin="round"/>' +
    '<g fill="#fff"><circle cx="10" cy="11" r="1.7"/><circle cx="13" cy="13.5" r="1.7"/>' +
    '<circle cx="18.5" cy="7" r="1.7"/></g>' +
    '</svg>'
});

/** RStudio: an R in a ring on a blue-grey tile. */
export const rstudioIcon = new LabIcon({
  name: 'jupyter-spaces:app-rstudio',
  svgstr:
    '<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">' +
    '<rect x="1" y="1" width="22" height="22" rx="5" fill="#5b6b82"/>' +
    '<circle cx="12" cy="12" r="7" fill="none" stroke="#fff" stroke-width="1.6"/>' +
    '<path d="M10 16V8.5h2.6a2.1 2.1 0 0 1 0 4.2H10m2.4 0 2.3 3.3" fill="none" stroke="#fff" ' +
    'stroke-width="1.7" stroke-linecap="round" stroke-linejoin="round"/>' +
    '</svg>'
});
