/** The translation bundle the specs run with: the UI's strings as written. */
import { nullTranslator } from '@jupyterlab/translation';

export const trans = nullTranslator.load('jupyter_spaces');
