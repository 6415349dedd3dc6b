import type { Collection, Document } from 'mongodb';
import type { Connection } from 'mongoose';

/**
 * The driver's collection behind a mongoose model, typed with its stored shape. The order
 * processing path uses it directly: mongoose's query layer (casting, middleware, hydration) was a
 * large share of a job's CPU, and these writes are conditional updates the repository builds itself.
 */
export function nativeCollection<T extends Document>(model: {
  db: Connection;
  collection: { collectionName: string };
}): Collection<T> {
  const connection = model.db;
  return connection.getClient().db(connection.name).collection<T>(model.collection.collectionName);
}
