import { Long } from 'bson';
import { CursorRegistry } from './cursors.js';
import { Document } from './values.js';

interface Reply {
  cursor: { id: Long; firstBatch?: Document[]; nextBatch?: Document[] };
}

const docs = Array.from({ length: 250 }, (_, i) => ({ _id: i }));

describe('CursorRegistry', () => {
  it('returns 101 documents first by default and the rest through getMore', () => {
    const cursors = new CursorRegistry();
    const first = cursors.firstBatch('db.c', docs, undefined) as unknown as Reply;
    expect(first.cursor.firstBatch).toHaveLength(101);
    expect(first.cursor.id.isZero()).toBe(false);
    const rest = cursors.getMore(first.cursor.id, 'c', 'db', undefined) as unknown as Reply;
    expect(rest.cursor.nextBatch).toHaveLength(149);
    expect(rest.cursor.id.isZero()).toBe(true);
  });

  it('opens a cursor with an empty first batch for batchSize 0', () => {
    const cursors = new CursorRegistry();
    const first = cursors.firstBatch('db.c', docs, 0) as unknown as Reply;
    expect(first.cursor.firstBatch).toEqual([]);
    expect(first.cursor.id.isZero()).toBe(false);
    const next = cursors.getMore(first.cursor.id, 'c', 'db', 20) as unknown as Reply;
    expect(next.cursor.nextBatch?.map((d) => d._id)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
    // Nothing to return: no cursor stays open.
    expect((cursors.firstBatch('db.c', [], 0) as unknown as Reply).cursor.id.isZero()).toBe(true);
  });

  it('closes a cursor on kill and on exhaustion', () => {
    const cursors = new CursorRegistry();
    const first = cursors.firstBatch('db.c', docs, 10) as unknown as Reply;
    expect(cursors.kill([first.cursor.id])).toMatchObject({ cursorsKilled: [first.cursor.id] });
    expect(() => cursors.getMore(first.cursor.id, 'c', 'db', 10)).toThrow(
      expect.objectContaining({ code: 43 }),
    );
    const single = cursors.firstBatch('db.c', docs, 10, true) as unknown as Reply;
    expect(single.cursor.id.isZero()).toBe(true);
  });

  it('refuses a getMore for another namespace', () => {
    const cursors = new CursorRegistry();
    const first = cursors.firstBatch('db.c', docs, 10) as unknown as Reply;
    expect(() => cursors.getMore(first.cursor.id, 'other', 'db', 10)).toThrow(
      expect.objectContaining({ code: 43 }),
    );
  });
});
