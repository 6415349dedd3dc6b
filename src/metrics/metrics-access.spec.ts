import type { AppConfig } from '../config/config.js';
import { bearerCredentials, sameSecret, scrapeVerdict } from './metrics-access.js';

const TOKEN = 'Zq3vN8xK2mB7rT5wY1cF6hJ9pL4sD0gA-eUiOkW';

function config(
  role: AppConfig['role'],
  metrics: AppConfig['metrics'] = {},
): Pick<AppConfig, 'role' | 'metrics'> {
  return { role, metrics };
}

describe('scrapeVerdict', () => {
  it('hides metrics on the API port unless METRICS_TOKEN is set', () => {
    expect(scrapeVerdict(config('api'), 'http', undefined)).toBe('hidden');
    expect(scrapeVerdict(config('all'), 'http', `Bearer ${TOKEN}`)).toBe('hidden');
    expect(scrapeVerdict(config('api', { token: TOKEN }), 'http', `Bearer ${TOKEN}`)).toBe('serve');
  });

  it("serves them on a worker's health port, which serves no API route", () => {
    expect(scrapeVerdict(config('worker'), 'http', undefined)).toBe('serve');
  });

  it('serves them on METRICS_PORT only, once it is set', () => {
    for (const role of ['api', 'worker', 'all'] as const) {
      const moved = config(role, { port: 9464 });
      expect(scrapeVerdict(moved, 'http', undefined)).toBe('hidden');
      expect(scrapeVerdict(moved, 'metrics-port', undefined)).toBe('serve');
      const withToken = config(role, { port: 9464, token: TOKEN });
      expect(scrapeVerdict(withToken, 'http', `Bearer ${TOKEN}`)).toBe('hidden');
    }
  });

  it('asks for METRICS_TOKEN wherever it is set', () => {
    for (const [role, listener] of [
      ['api', 'http'],
      ['worker', 'http'],
      ['api', 'metrics-port'],
    ] as const) {
      const withToken = config(role, {
        port: listener === 'http' ? undefined : 9464,
        token: TOKEN,
      });
      expect(scrapeVerdict(withToken, listener, undefined)).toBe('token-missing');
      expect(scrapeVerdict(withToken, listener, `Basic ${TOKEN}`)).toBe('token-missing');
      expect(scrapeVerdict(withToken, listener, `Bearer ${TOKEN}x`)).toBe('token-invalid');
      expect(scrapeVerdict(withToken, listener, `bearer ${TOKEN}`)).toBe('serve');
    }
  });
});

describe('bearerCredentials', () => {
  it.each([
    [`Bearer ${TOKEN}`, TOKEN],
    [`BEARER  ${TOKEN} `, TOKEN],
    ['Bearer abc+/=', 'abc+/='],
    ['Bearer', undefined],
    ['Bearer ', undefined],
    [`Bearer ${TOKEN} extra`, undefined],
    ['Bearer a=b', undefined],
    [`Token ${TOKEN}`, undefined],
    [TOKEN, undefined],
    [undefined, undefined],
  ])('reads %j as %j', (header, token) => expect(bearerCredentials(header)).toBe(token));
});

describe('sameSecret', () => {
  it('is true for the same string only, whatever the lengths', () => {
    expect(sameSecret(TOKEN, TOKEN)).toBe(true);
    expect(sameSecret(TOKEN, `${TOKEN}x`)).toBe(false);
    expect(sameSecret('', TOKEN)).toBe(false);
    expect(sameSecret(TOKEN.toLowerCase(), TOKEN)).toBe(false);
  });
});
