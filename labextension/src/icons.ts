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
