import {
  detectContext,
  homeLabUrl,
  labUrl,
  spaceFromBaseUrl,
  onOwnOrigin
} from '../context';

const none = () => '';
const options =
  (values: Record<string, string>) =>
  (key: string): string =>
    values[key] ?? '';

describe('detectContext', () => {
  it('reads a space from the base URL <domain>spaces/<name>/', () => {
    expect(detectContext('http://h/spaces/team-a/', none)).toEqual({
      kind: 'space',
      spaceName: 'team-a',
      domainBaseUrl: 'http://h/'
    });
    expect(detectContext('/jupyter/spaces/x1/', none)).toEqual({
      kind: 'space',
      spaceName: 'x1',
      domainBaseUrl: '/jupyter/'
    });
  });

  it('does not take the domain’s own pages or bad names for spaces', () => {
    expect(spaceFromBaseUrl('http://h/spaces/api/')).toBeNull();
    expect(spaceFromBaseUrl('http://h/spaces/home/')).toBeNull();
    expect(spaceFromBaseUrl('http://h/spaces/Bad_Name/')).toBeNull();
    expect(spaceFromBaseUrl('http://h/')).toBeNull();
    expect(spaceFromBaseUrl('http://h/spaces/a/b/')).toBeNull();
  });

  it('is unknown (to be asked of the API) for any other base URL', () => {
    expect(detectContext('http://h/', none)).toEqual({
      kind: 'unknown',
      spaceName: null,
      domainBaseUrl: 'http://h/'
    });
  });

  it('prefers what the server declares in page config', () => {
    expect(
      detectContext('http://h/', options({ spacesContext: 'domain' }))
    ).toEqual({ kind: 'domain', spaceName: null, domainBaseUrl: 'http://h/' });
    expect(
      detectContext(
        'http://h/x/',
        options({
          spacesContext: 'space',
          spacesName: 'n',
          spacesDomainBaseUrl: '/jupyter/'
        })
      )
    ).toEqual({
      kind: 'space',
      spaceName: 'n',
      domainBaseUrl: 'http://h/jupyter/'
    });
  });

  it('builds the lab URLs', () => {
    expect(labUrl('/spaces/a/')).toBe('/spaces/a/lab');
    expect(homeLabUrl('http://h/')).toBe('http://h/lab');
  });
});

describe('onOwnOrigin', () => {
  it('is the space’s own host: its name as the first label', () => {
    expect(onOwnOrigin('team', 'team.localhost')).toBe(true);
    expect(onOwnOrigin('team', 'team.spaces.example.org')).toBe(true);
    expect(onOwnOrigin('team', 'localhost')).toBe(false);
    expect(onOwnOrigin('team', 'teamwork.localhost')).toBe(false);
    expect(onOwnOrigin('team', '127.0.0.1')).toBe(false);
  });
});
