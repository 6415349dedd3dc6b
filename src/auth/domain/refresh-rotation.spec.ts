import { chainStep, repeatedPresentation } from './refresh-rotation.js';

const GRACE_MS = 5000;
const rotatedAt = new Date('2026-01-01T12:00:00.000Z');
const after = (ms: number) => new Date(rotatedAt.getTime() + ms);
const rotated = { rotatedAt, revokedAt: null, successor: 'next' };

describe('repeatedPresentation', () => {
  it('answers within the window with the successor', () => {
    expect(repeatedPresentation(rotated, after(0), GRACE_MS)).toEqual({
      kind: 'grace',
      successor: 'next',
      rotatedAt,
    });
    expect(repeatedPresentation(rotated, after(GRACE_MS), GRACE_MS).kind).toBe('grace');
  });

  it('takes a presentation past the window for reuse', () => {
    expect(repeatedPresentation(rotated, after(GRACE_MS + 1), GRACE_MS)).toEqual({
      kind: 'reuse',
    });
  });

  it('takes every repeat for reuse when the window is 0, even in the same millisecond', () => {
    expect(repeatedPresentation(rotated, after(1), 0).kind).toBe('reuse');
    expect(repeatedPresentation(rotated, after(0), 0).kind).toBe('grace');
  });

  it('never revives an ended session, within the window or not', () => {
    const revoked = { ...rotated, revokedAt: after(100) };
    expect(repeatedPresentation(revoked, after(200), GRACE_MS)).toEqual({ kind: 'ended' });
    expect(
      repeatedPresentation({ ...revoked, rotatedAt: null, successor: null }, after(0), GRACE_MS),
    ).toEqual({ kind: 'ended' });
  });

  it('refuses an unknown token and one never rotated (expired) without calling it reuse', () => {
    expect(repeatedPresentation(undefined, after(0), GRACE_MS)).toEqual({ kind: 'invalid' });
    expect(
      repeatedPresentation(
        { rotatedAt: null, revokedAt: null, successor: null },
        after(0),
        GRACE_MS,
      ),
    ).toEqual({ kind: 'invalid' });
  });

  it('takes a token rotated before successors were recorded for reuse', () => {
    expect(repeatedPresentation({ ...rotated, successor: null }, after(0), GRACE_MS)).toEqual({
      kind: 'reuse',
    });
  });
});

describe('chainStep', () => {
  it('hands out a successor that is unspent, or whose record is still being written', () => {
    expect(chainStep({ rotatedAt: null, revokedAt: null, successor: null })).toEqual({
      kind: 'hand-out',
    });
    expect(chainStep(undefined)).toEqual({ kind: 'hand-out' });
  });

  it('follows a successor that was rotated in turn', () => {
    expect(chainStep({ rotatedAt: after(10), revokedAt: null, successor: 'third' })).toEqual({
      kind: 'follow',
      successor: 'third',
      rotatedAt: after(10),
    });
  });

  it('stops at an ended session, and at a rotation without a recorded successor', () => {
    expect(chainStep({ rotatedAt: null, revokedAt: after(10), successor: null }).kind).toBe(
      'ended',
    );
    expect(chainStep({ rotatedAt: after(10), revokedAt: null, successor: null }).kind).toBe(
      'reuse',
    );
  });
});
