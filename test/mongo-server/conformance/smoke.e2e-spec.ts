import { MongoClient } from 'mongodb';
import { mongoUriFor, uniqueDbName } from '../../support/test-env';

describe('smoke', () => {
  it('round-trips a document', async () => {
    const db = uniqueDbName('smoke');
    const client = await MongoClient.connect(mongoUriFor(db));
    await client.db().collection('c').insertOne({ a: 1 });
    expect(await client.db().collection('c').findOne({ a: 1 })).toMatchObject({ a: 1 });
    await client.db().dropDatabase();
    await client.close();
  });
});
