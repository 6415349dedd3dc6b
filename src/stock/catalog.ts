/**
 * Catalog entries (name, price, currency, on sale) for pricing orders at acceptance, served from
 * an in-process cache: the order route reads nothing from MongoDB for products it has seen in the
 * last CACHE_TTL_MS. A product taken off sale is dropped from every replica's cache at once (pub/sub);
 * if that message is lost, an entry lives at most CACHE_TTL_MS. A stale entry can never oversell:
 * the worker re-reads the product (on sale, available) before it holds stock.
 */
import { Inject, Injectable } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import { CacheInvalidation } from '../common/cache-invalidation.js';
import { InvalidatingCache } from '../common/invalidating-cache.js';
import { nativeCollection } from '../common/native-collection.js';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import type { CatalogEntry } from '../order/domain/pricing.js';
import { Product } from './product.schema.js';

export const CATALOG_TOPIC = 'catalog';

@Injectable()
export class Catalog {
  private readonly cache: InvalidatingCache<CatalogEntry>;

  constructor(
    @InjectModel(Product.name) products: Model<Product>,
    invalidation: CacheInvalidation,
    @Inject(APP_CONFIG) config: AppConfig,
  ) {
    this.cache = new InvalidatingCache<CatalogEntry>(
      async (ids) => {
        const found = await nativeCollection<
          Pick<Product, 'name' | 'price' | 'currency' | 'active'> & { _id: Types.ObjectId }
        >(products)
          .find(
            { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
            { projection: { name: 1, price: 1, currency: 1, active: 1 } },
          )
          .toArray();
        return new Map(
          found.map((p) => {
            const id = p._id.toString();
            return [
              id,
              { id, name: p.name, price: p.price, currency: p.currency, active: p.active },
            ];
          }),
        );
      },
      invalidation,
      {
        topic: CATALOG_TOPIC,
        ttlMs: config.cacheTtlMs,
        maxEntries: 100_000,
        loadTimeoutMs: config.mongodbCallTimeoutMs,
      },
    );
  }

  /** The entries of the given product ids (lower-case hex ObjectIds) that exist. */
  entries(ids: string[]): Promise<Map<string, CatalogEntry>> {
    return this.cache.getMany(ids);
  }
}
