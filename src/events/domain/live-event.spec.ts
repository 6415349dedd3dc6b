import {
  END_OF_ENTRY,
  compareEntryIds,
  decodeEntry,
  encodeEntry,
  eventId,
  isAfter,
  parseEntryId,
  parseEventId,
  resumption,
  stockChanged,
} from './live-event.js';
import type { LiveEvent } from './live-event.js';

describe('live event ids', () => {
  it('names an event by its stream entry and its index in the entry', () => {
    expect(eventId('1764500000000-3', 7)).toBe('1764500000000-3:7');
    expect(parseEventId('1764500000000-3:7')).toEqual({
      entry: { ms: 1764500000000, n: 3 },
      index: 7,
    });
  });

  it.each([
    undefined,
    null,
    42,
    {},
    ['1-0:0'],
    '',
    '1-0',
    '1:0',
    '-1-0:0',
    '1-0:-1',
    '1-0:0:0',
    '1-0:1234567',
    '1e3-0:0',
    `${'9'.repeat(16)}-0:0`,
    ' 1-0:0',
  ])('reads %p, sent by a client, as no position', (id) => {
    expect(parseEventId(id)).toBeUndefined();
  });

  it('orders entries by time, then by sequence within the millisecond', () => {
    const ids = ['5-1', '4-9', '5-0', '10-0'].map((id) => parseEntryId(id) ?? { ms: -1, n: -1 });
    expect(ids.sort(compareEntryIds).map((id) => `${id.ms}-${id.n}`)).toEqual([
      '4-9',
      '5-0',
      '5-1',
      '10-0',
    ]);
  });

  it('says which events come after a position: later entries, and later indexes in its entry', () => {
    const position = { entry: { ms: 5, n: 1 }, index: 2 };
    expect(isAfter({ ms: 5, n: 1 }, 3, position)).toBe(true);
    expect(isAfter({ ms: 5, n: 1 }, 2, position)).toBe(false);
    expect(isAfter({ ms: 5, n: 0 }, 9, position)).toBe(false);
    expect(isAfter({ ms: 5, n: 2 }, 0, position)).toBe(true);
    expect(isAfter({ ms: 6, n: 0 }, 0, position)).toBe(true);
    // The position after a whole entry: nothing of that entry comes after it.
    expect(isAfter({ ms: 5, n: 1 }, 500, { entry: { ms: 5, n: 1 }, index: END_OF_ENTRY })).toBe(
      false,
    );
  });
});

describe('resuming', () => {
  const now = 1_000_000;
  const window = 120_000;
  const at = (ms: number) => ({ entry: { ms, n: 0 }, index: 0 });

  it('resumes within the window, and asks for a re-sync beyond it or without a position', () => {
    expect(resumption(at(now - 1000), now, window)).toBe('resume');
    expect(resumption(at(now - window), now, window)).toBe('resume');
    expect(resumption(at(now - window - 1), now, window)).toBe('resync');
    expect(resumption(undefined, now, window)).toBe('resync');
  });

  it('resumes from a position in the future (nothing after it is sent)', () => {
    expect(resumption(at(now + 10_000), now, window)).toBe('resume');
  });
});

describe('stream entries', () => {
  const events: LiveEvent[] = [
    { name: 'new_order', payload: { orderId: 'a', seq: 1 } },
    { name: 'order_status_update', ownerId: 'u1', payload: { orderId: 'a', seq: 3 } },
    stockChanged('p1', 4, new Date(Date.UTC(2026, 10, 30)), 7),
  ];

  it('carry the events of one write, in order', () => {
    expect(decodeEntry(encodeEntry(events))).toEqual(events);
  });

  it('skip what is not an event of ours', () => {
    expect(decodeEntry(undefined)).toEqual([]);
    expect(decodeEntry('not json')).toEqual([]);
    expect(decodeEntry('{"name":"new_order","payload":{}}')).toEqual([]);
    expect(
      decodeEntry(
        JSON.stringify([
          { name: 'drop_tables', payload: {} },
          null,
          3,
          events[0],
          { name: 'new_order' },
        ]),
      ),
    ).toEqual([events[0]]);
  });

  it('describe a stock change with its version when the write knew it', () => {
    expect(stockChanged('p1', 0, new Date(Date.UTC(2026, 10, 30)))).toEqual({
      name: 'stock_changed',
      payload: { productId: 'p1', available: 0, at: '2026-11-30T00:00:00.000Z' },
    });
    expect(events[2]?.payload).toMatchObject({ version: 7 });
  });
});
