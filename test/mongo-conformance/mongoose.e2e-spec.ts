/**
 * Conformance of the MongoDB server under test with mongoose, the way the application uses it:
 * models, index builds, unique violations, population, timestamps and optimistic concurrency.
 * Passes unchanged against a real MongoDB 7.0 standalone (MONGODB_URI).
 */
import mongoose, { Schema, Types, type Connection } from 'mongoose';
import { mongoUriFor, uniqueDbName } from '../support/test-env.js';

let conn: Connection;

beforeAll(async () => {
  conn = await mongoose.createConnection(mongoUriFor(uniqueDbName('mongoose'))).asPromise();
});

afterAll(async () => {
  await conn.dropDatabase();
  await conn.close();
});

/** The error `promise` rejects with; fails when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error & Record<string, unknown>> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof Error) return err as Error & Record<string, unknown>;
    throw err;
  }
  throw new Error('expected the operation to be rejected');
}

describe('connection', () => {
  it('is connected to the database named in the URI', async () => {
    expect(conn.readyState).toBe(mongoose.ConnectionStates.connected);
    const hello = await conn.db?.admin().command({ hello: 1 });
    expect(hello?.isWritablePrimary).toBe(true);
    expect(conn.name).toMatch(/mongoose/);
  });
});

describe('model CRUD', () => {
  interface ProductFields {
    sku: string;
    name: string;
    price: number;
    tags: string[];
    stock: number;
  }
  let model: mongoose.Model<ProductFields>;

  beforeAll(async () => {
    model = conn.model<ProductFields>(
      'Product',
      new Schema<ProductFields>({
        sku: { type: String, required: true },
        name: String,
        price: Number,
        tags: [String],
        stock: { type: Number, default: 0 },
      }),
    );
    await model.create([
      { sku: 'p1', name: 'Pen', price: 2, tags: ['office'], stock: 10 },
      { sku: 'p2', name: 'Ink', price: 8, tags: ['office', 'refill'], stock: 0 },
      { sku: 'p3', name: 'Book', price: 15, tags: ['paper'], stock: 3 },
    ]);
  });

  it('creates, reads, updates and deletes documents', async () => {
    const created = await model.create({ sku: 'p4', name: 'Pad', price: 4 });
    expect(created._id).toBeInstanceOf(Types.ObjectId);
    expect(created.stock).toBe(0);

    const found = await model.findById(created._id);
    expect(found?.name).toBe('Pad');
    expect(found?.tags).toEqual([]);

    const updated = await model.updateOne(
      { sku: 'p4' },
      { $set: { price: 5 }, $push: { tags: 'paper' } },
    );
    expect(updated).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect((await model.findOne({ sku: 'p4' }))?.toObject()).toMatchObject({
      price: 5,
      tags: ['paper'],
    });

    if (!found) throw new Error('not found');
    found.name = 'Notepad';
    await found.save();
    expect((await model.findById(created._id).lean())?.name).toBe('Notepad');

    expect(await model.deleteOne({ sku: 'p4' })).toMatchObject({ deletedCount: 1 });
    expect(await model.findById(created._id)).toBeNull();
  });

  it('queries with filters, sort, select, skip and limit', async () => {
    const names = await model
      .find({ tags: 'office' })
      .sort({ price: -1 })
      .select('name -_id')
      .lean();
    expect(names).toEqual([{ name: 'Ink' }, { name: 'Pen' }]);
    const page = await model
      .find({ sku: { $in: ['p1', 'p2', 'p3'] } })
      .sort({ sku: 1 })
      .skip(1)
      .limit(1)
      .lean();
    expect(page.map((p) => p.sku)).toEqual(['p2']);
    expect(
      await model.countDocuments({ stock: { $gt: 0 }, sku: { $in: ['p1', 'p2', 'p3'] } }),
    ).toBe(2);
    expect(await model.exists({ sku: 'p3' })).toMatchObject({ _id: expect.any(Types.ObjectId) });
    expect(await model.exists({ sku: 'nope' })).toBeNull();
    expect((await model.distinct('tags', { sku: { $in: ['p1', 'p2', 'p3'] } })).sort()).toEqual([
      'office',
      'paper',
      'refill',
    ]);
  });

  it('returns plain objects from lean queries', async () => {
    const lean = await model.findOne({ sku: 'p1' }).lean();
    expect(lean).not.toBeInstanceOf(mongoose.Document);
    expect(lean).toMatchObject({
      sku: 'p1',
      name: 'Pen',
      price: 2,
      tags: ['office'],
      stock: 10,
      __v: 0,
    });
    expect(lean?._id).toBeInstanceOf(Types.ObjectId);
  });

  it('findOneAndUpdate returns the updated document with {new: true}', async () => {
    const after = await model.findOneAndUpdate(
      { sku: 'p3' },
      { $inc: { stock: -1 } },
      { new: true },
    );
    expect(after?.stock).toBe(2);
    const before = await model.findOneAndUpdate(
      { sku: 'p3' },
      { $inc: { stock: -1 } },
      { returnDocument: 'before' },
    );
    expect(before?.stock).toBe(2);
    const upserted = await model
      .findOneAndUpdate(
        { sku: 'p9' },
        { $setOnInsert: { name: 'New', price: 1 } },
        { upsert: true, returnDocument: 'after' },
      )
      .lean();
    expect(upserted).toMatchObject({ sku: 'p9', name: 'New', price: 1 });
    const none = await model.findOneAndUpdate(
      { sku: 'none' },
      { $set: { price: 0 } },
      { returnDocument: 'after' },
    );
    expect(none).toBeNull();
  });

  it('guards stock with a conditional update', async () => {
    const taken = await model.updateOne({ sku: 'p2', stock: { $gte: 1 } }, { $inc: { stock: -1 } });
    expect(taken).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    expect((await model.findOne({ sku: 'p2' }).lean())?.stock).toBe(0);
  });
});

describe('unique indexes', () => {
  interface Account {
    email: string;
    name?: string;
  }
  const schema = new Schema<Account>({
    email: { type: String, required: true, unique: true },
    name: String,
  });

  it('rejects a duplicate email with 11000 after the index is built', async () => {
    const Account = conn.model<Account>('Account', schema);
    await Account.init();
    const indexes = await Account.listIndexes();
    expect(indexes.find((i) => i.name === 'email_1')).toMatchObject({
      key: { email: 1 },
      unique: true,
    });

    await Account.create({ email: 'ann@example.com', name: 'Ann' });
    const err = await rejectionOf(Account.create({ email: 'ann@example.com', name: 'Other' }));
    expect(err.code).toBe(11000);
    expect(err.keyPattern).toEqual({ email: 1 });
    expect((err.keyValue as { email?: string }).email).toBe('ann@example.com');
    expect(await Account.countDocuments({ email: 'ann@example.com' })).toBe(1);

    await Account.create({ email: 'bob@example.com' });
    const onUpdate = await rejectionOf(
      Account.updateOne({ email: 'bob@example.com' }, { email: 'ann@example.com' }).exec(),
    );
    expect(onUpdate.code).toBe(11000);
  });

  it('syncIndexes drops indexes the schema no longer declares and keeps the rest', async () => {
    const Account = conn.models.Account as mongoose.Model<Account>;
    await Account.collection.createIndex({ name: 1 }, { name: 'legacy_name' });
    const dropped = await Account.syncIndexes();
    expect(dropped).toEqual(['legacy_name']);
    const names = (await Account.listIndexes()).map((i) => i.name as string).sort();
    expect(names).toEqual(['_id_', 'email_1']);
    expect(await Account.syncIndexes()).toEqual([]);
  });
});

describe('populate', () => {
  it('resolves references across two models', async () => {
    const Customer = conn.model('Customer', new Schema({ name: String, tier: String }));
    const Order = conn.model(
      'Order',
      new Schema({
        number: Number,
        customer: { type: Schema.Types.ObjectId, ref: 'Customer' },
        lines: [{ product: String, qty: Number }],
      }),
    );
    const [ann, bob] = await Customer.create([
      { name: 'Ann', tier: 'gold' },
      { name: 'Bob', tier: 'silver' },
    ]);
    await Order.create([
      { number: 1, customer: ann._id, lines: [{ product: 'pen', qty: 2 }] },
      { number: 2, customer: bob._id, lines: [] },
      { number: 3, customer: ann._id, lines: [{ product: 'ink', qty: 1 }] },
    ]);

    const orders = await Order.find()
      .sort({ number: 1 })
      .populate<{ customer: { name: string; tier: string } }>('customer', 'name tier -_id')
      .lean();
    expect(orders.map((o) => [o.number, o.customer])).toEqual([
      [1, { name: 'Ann', tier: 'gold' }],
      [2, { name: 'Bob', tier: 'silver' }],
      [3, { name: 'Ann', tier: 'gold' }],
    ]);
    expect(orders[0].lines).toMatchObject([{ product: 'pen', qty: 2 }]);
  });
});

describe('timestamps and versions', () => {
  it('sets createdAt and updatedAt from the schema clock', async () => {
    let now = Date.parse('2024-05-01T10:00:00.000Z');
    const Note = conn.model(
      'Note',
      new Schema({ text: String }, { timestamps: { currentTime: () => now } }),
    );
    const note = await Note.create({ text: 'first' });
    expect(note.get('createdAt')).toEqual(new Date('2024-05-01T10:00:00.000Z'));

    now += 60_000;
    await Note.updateOne({ _id: note._id }, { $set: { text: 'second' } });
    const stored = await Note.findById(note._id).lean();
    expect(stored).toMatchObject({
      text: 'second',
      createdAt: new Date('2024-05-01T10:00:00.000Z'),
      updatedAt: new Date('2024-05-01T10:01:00.000Z'),
    });

    now += 60_000;
    const upserted = await Note.findOneAndUpdate(
      { text: 'third' },
      { $set: { extra: true } },
      { upsert: true, returnDocument: 'after', strict: false },
    ).lean();
    expect(upserted).toMatchObject({
      text: 'third',
      createdAt: new Date('2024-05-01T10:02:00.000Z'),
      updatedAt: new Date('2024-05-01T10:02:00.000Z'),
    });
  });

  it('keeps __v and rejects a stale save with VersionError under optimisticConcurrency', async () => {
    const Cart = conn.model(
      'Cart',
      new Schema(
        { owner: String, items: [String], total: Number },
        { optimisticConcurrency: true },
      ),
    );
    const cart = await Cart.create({ owner: 'ann', items: [], total: 0 });
    expect(cart.__v).toBe(0);

    const first = await Cart.findById(cart._id);
    const stale = await Cart.findById(cart._id);
    if (!first || !stale) throw new Error('cart not found');
    first.items.push('pen');
    first.total = 2;
    await first.save();
    expect((await Cart.findById(cart._id).lean())?.__v).toBe(1);

    stale.total = 99;
    const err = await rejectionOf(stale.save());
    expect(err).toBeInstanceOf(mongoose.Error.VersionError);
    expect(await Cart.findById(cart._id).lean()).toMatchObject({
      items: ['pen'],
      total: 2,
      __v: 1,
    });

    const fresh = await Cart.findById(cart._id);
    if (!fresh) throw new Error('cart not found');
    fresh.total = 3;
    await fresh.save();
    expect((await Cart.findById(cart._id).lean())?.__v).toBe(2);
  });
});

/**
 * 200 tasks contending for one document retry about n²/2 = 20,000 times in all, two commands each:
 * 13–16 s alone on a 2-core machine, spent in the client (mongoose), the server idle 92% of it, and
 * more than 30 s once with the other suites running beside it.
 */
const CONTENDED_TIMEOUT_MS = 120_000;

describe('concurrency through a mongoose model', () => {
  it(
    'loses no update under 200 concurrent version-checked findOneAndUpdate calls',
    async () => {
      const Counter = conn.model(
        'Counter',
        new Schema({ counter: Number, version: Number }, { versionKey: false }),
      );
      const initialVersion = 3;
      const { _id } = await Counter.create({ counter: 0, version: initialVersion });

      const increment = async (): Promise<number> => {
        for (;;) {
          const current = await Counter.findById(_id).lean();
          if (!current) throw new Error('counter vanished');
          const updated = await Counter.findOneAndUpdate(
            { _id, version: current.version },
            { $inc: { counter: 1, version: 1 } },
            { returnDocument: 'after' },
          ).lean();
          if (updated) return updated.version as number;
        }
      };
      const versions = await Promise.all(Array.from({ length: 200 }, increment));

      expect(await Counter.findById(_id).lean()).toEqual({
        _id,
        counter: 200,
        version: initialVersion + 200,
      });
      expect(new Set(versions).size).toBe(200);
    },
    CONTENDED_TIMEOUT_MS,
  );
});
