import { decodeCursor, encodeCursor } from './cursor.js';
import { RequestValidationError } from './validation.js';

describe('cursors', () => {
  it('give back the key they were made of', () => {
    const cursor = encodeCursor({ t: 1764460800000, id: '665f1c2e9b1e8a3d4c5b6a79' });
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, { t: 'number', id: 'string' })).toEqual({
      t: 1764460800000,
      id: '665f1c2e9b1e8a3d4c5b6a79',
    });
  });

  it('refuse anything this API did not give out, naming the cursor', () => {
    const wrong = [
      'not base64 at all!',
      Buffer.from('[1,2]').toString('base64url'),
      Buffer.from('{"t":"1","id":"x"}').toString('base64url'),
      Buffer.from('{"id":"x"}').toString('base64url'),
      Buffer.from('null').toString('base64url'),
    ];
    for (const cursor of wrong) {
      let thrown: unknown;
      try {
        decodeCursor(cursor, { t: 'number', id: 'string' });
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(RequestValidationError);
      expect((thrown as RequestValidationError).problems[0]?.field).toBe('cursor');
    }
  });
});
