/**
 * @jest-environment ./jest-env-jsdom.js
 */
import * as React from 'react';
import { act } from 'react';

import { ICatalog } from '../homemodel';
import { rolesText } from '../members';
import {
  CreateSpaceDialog,
  defaultCreateValues,
  ICreateSpaceDialogProps,
  ISettingsDialogProps,
  SettingsDialog
} from '../spaceform';
import { makeInstanceType, makeSpace } from './fakeserver';
import { APP_TYPES } from './apptypes';
import { choose, mountEachTest, type } from './dom';
import { trans } from './trans';

const BROKEN =
  "The image's Python /opt/old/bin/python cannot import jupyter_spaces.space: " +
  "ModuleNotFoundError: No module named 'jupyter_spaces'. Install jupyter-spaces into that environment.";

const CATALOG: ICatalog = {
  instanceTypes: [
    makeInstanceType('small', { max_processes: null, reason: null })
  ],
  images: [
    {
      name: 'old',
      display_name: 'Old Python',
      description: 'what we used last year',
      available: false,
      reason: BROKEN
    },
    {
      name: 'default',
      display_name: 'Python 3.11',
      description: 'JupyterLab',
      available: true,
      reason: ''
    },
    {
      name: 'data-science',
      display_name: 'Data science',
      description: 'pandas, matplotlib',
      available: true,
      reason: ''
    },
    {
      name: 'bare',
      display_name: 'Bare',
      description: '',
      available: true,
      reason: ''
    }
  ],
  appTypes: APP_TYPES.slice(0, 1)
};

const dom = mountEachTest();

function imageSelect(): HTMLSelectElement {
  return dom.container.querySelector(
    'select[name="image"]'
  ) as HTMLSelectElement;
}

/** The help text the image field shows (its aria-describedby target). */
function imageHelp(): string {
  const ids = (imageSelect().getAttribute('aria-describedby') ?? '').split(' ');
  return ids
    .map(id => (id ? document.getElementById(id)?.textContent : ''))
    .join('');
}

/** Render the create dialog; what it sends goes to `onCreate`. */
function renderCreate(
  onCreate: ICreateSpaceDialogProps['onCreate'] = async () => undefined,
  catalog: ICatalog = CATALOG
): void {
  act(() =>
    dom.root.render(
      <CreateSpaceDialog
        catalog={catalog}
        trans={trans}
        onCreate={onCreate}
        onClose={() => undefined}
      />
    )
  );
}

/** Render the settings dialog of `space`; what it sends goes to `onSave`. */
function renderSettings(
  space: ISettingsDialogProps['space'],
  onSave: ISettingsDialogProps['onSave'] = async () => undefined
): void {
  act(() =>
    dom.root.render(
      <SettingsDialog
        space={space}
        catalog={CATALOG}
        trans={trans}
        onSave={onSave}
        onClose={() => undefined}
      />
    )
  );
}

/** The input named `name`. */
function input(name: string): HTMLInputElement {
  return dom.container.querySelector(
    `input[name="${name}"]`
  ) as HTMLInputElement;
}

/** Type `value` into the input named `name` as a user would. */
function typeInto(name: string, value: string): void {
  act(() => type(input(name), value));
}

async function submit(): Promise<void> {
  const form = dom.container.querySelector('form') as HTMLFormElement;
  await act(async () => {
    form.dispatchEvent(
      new Event('submit', { bubbles: true, cancelable: true })
    );
  });
}

describe('the create dialog’s images', () => {
  it('lists every image with its description, an unavailable one disabled with why', () => {
    renderCreate();
    const options = [...imageSelect().options];
    expect(options.map(o => o.value)).toEqual([
      'old',
      'default',
      'data-science',
      'bare'
    ]);
    expect(options.map(o => o.textContent)).toEqual([
      `Old Python — unavailable: ${BROKEN}`,
      'Python 3.11 — JupyterLab',
      'Data science — pandas, matplotlib',
      'Bare'
    ]);
    expect(options.map(o => o.disabled)).toEqual([true, false, false, false]);
    expect(options[0].title).toBe(BROKEN);
    expect(options[1].title).toBe('');
    // the first image that can run is chosen, and what is in it said below
    expect(imageSelect().value).toBe('default');
    expect(imageHelp()).toBe('JupyterLab');
    act(() => choose(imageSelect(), 'data-science'));
    expect(imageSelect().value).toBe('data-science');
    expect(imageHelp()).toBe('pandas, matplotlib');
  });

  it('sends the image chosen', async () => {
    const sent: unknown[] = [];
    renderCreate(async body => sent.push(body));
    typeInto('name', 'pandas-work');
    act(() => choose(imageSelect(), 'data-science'));
    await submit();
    expect(sent).toEqual([
      expect.objectContaining({ name: 'pandas-work', image: 'data-science' })
    ]);
  });

  it('defaults to the first image when none can run, and says why', () => {
    const catalog = { ...CATALOG, images: [CATALOG.images[0]] };
    expect(defaultCreateValues(catalog).image).toBe('old');
    renderCreate(undefined, catalog);
    expect(imageHelp()).toBe(`Unavailable: ${BROKEN}`);
  });
});

describe('the settings dialog’s images', () => {
  it('shows why the space’s own image cannot run any more', () => {
    const space = { ...makeSpace('s'), status: 'stopped', image: 'old' } as any;
    renderSettings(space);
    expect(imageSelect().value).toBe('old');
    expect(imageSelect().disabled).toBe(false);
    expect(imageHelp()).toBe(`Unavailable: ${BROKEN}`);
    act(() => choose(imageSelect(), 'data-science'));
    expect(imageHelp()).toBe('pandas, matplotlib');
  });
});

/** The label, help and error text of the field holding `name`. */
function fieldText(name: string): string {
  const input = dom.container.querySelector(`[name="${name}"]`) as HTMLElement;
  return input.closest('.jp-SpacesField')?.textContent ?? '';
}

describe('the create dialog’s words', () => {
  it('explains the name rule in words and speaks GiB', () => {
    renderCreate();
    const name = fieldText('name');
    expect(name).toContain(
      'lowercase letters (a–z), digits and single hyphens'
    );
    expect(name).not.toMatch(/[\^$\\[\]{}]/);
    expect(fieldText('volume_gb')).toContain('Volume size (GiB)');
    expect(dom.container.textContent).not.toMatch(/\bGB\b/);
  });

  it('sends an idle timeout when one is typed, and shows the server’s sentence next to it', async () => {
    const sent: any[] = [];
    const { SpacesApiError } = await import('../api');
    renderCreate(async body => {
      sent.push(body);
      throw new SpacesApiError(
        'The idle timeout must be at most 10080 minutes.',
        422,
        'invalid',
        null,
        'idle_timeout_minutes'
      );
    });
    typeInto('name', 'idle-one');
    await submit();
    // left empty: the domain's default applies
    expect(sent[0]).not.toHaveProperty('idle_timeout_minutes');
    typeInto('idle_timeout_minutes', '20000');
    await submit();
    expect(sent[1]).toEqual(
      expect.objectContaining({ name: 'idle-one', idle_timeout_minutes: 20000 })
    );
    expect(fieldText('idle_timeout_minutes')).toContain(
      'The idle timeout must be at most 10080 minutes.'
    );
  });
});

describe('the settings dialog’s idle timeout', () => {
  it('shows the space’s timeout and sends a change while the space runs', async () => {
    const sent: unknown[] = [];
    const space = {
      ...makeSpace('s'),
      status: 'running',
      idle_timeout_minutes: 60
    } as any;
    renderSettings(space, async body => sent.push(body));
    const idle = input('idle_timeout_minutes');
    expect(idle.value).toBe('60');
    expect(idle.disabled).toBe(false);
    typeInto('idle_timeout_minutes', '0');
    await submit();
    expect(sent).toEqual([{ idle_timeout_minutes: 0 }]);
  });

  it('is read-only for an editor', () => {
    const space = { ...makeSpace('s'), role: 'editor' } as any;
    renderSettings(space);
    const idle = input('idle_timeout_minutes');
    expect(idle.disabled).toBe(true);
  });
});

describe('the Members dialog’s role text', () => {
  it('says what non-members may do as the domain reports it', () => {
    expect(rolesText('editor', trans)).toMatch(
      /Everyone else .* is an editor .* run code and edit files/
    );
    expect(rolesText('viewer', trans)).toMatch(
      /Everyone else .* read-only, as a viewer/
    );
    expect(rolesText(null, trans)).not.toMatch(/Everyone/);
  });
});
