import { cookieValue } from './cookie-header.js';

describe('a cookie from the Cookie header', () => {
  it('finds the named cookie among others', () => {
    expect(cookieValue('a=1; access_token=abc.def; b=2', 'access_token')).toBe('abc.def');
    expect(cookieValue('access_token=x', 'access_token')).toBe('x');
  });

  it('decodes percent-encoding and quotes as cookie-parser does', () => {
    expect(cookieValue('access_token=%7Bx%7D', 'access_token')).toBe('{x}');
    expect(cookieValue('access_token="quoted"', 'access_token')).toBe('quoted');
    expect(cookieValue('access_token=%E0%A4%A', 'access_token')).toBe('%E0%A4%A');
  });

  it('answers nothing when the cookie is absent or empty', () => {
    expect(cookieValue(undefined, 'access_token')).toBeUndefined();
    expect(cookieValue('', 'access_token')).toBeUndefined();
    expect(cookieValue('xaccess_token=1; access_tokenx=2', 'access_token')).toBeUndefined();
    expect(cookieValue('access_token=', 'access_token')).toBeUndefined();
    expect(cookieValue('garbage;;;=;', 'access_token')).toBeUndefined();
  });

  it('takes the first of repeated cookies', () => {
    expect(cookieValue('access_token=first; access_token=second', 'access_token')).toBe('first');
  });
});
