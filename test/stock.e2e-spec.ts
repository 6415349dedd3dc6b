import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import type request from 'supertest';
import { Product } from '../src/stock/product.schema.js';
import { TestApp, createTestApp } from './support/app.js';
import {
  ProductBody,
  Shopper,
  createProduct,
  registerShopper,
  signInAdmin,
} from './support/shop.js';

describe('stock (catalog and inventory)', () => {
  let app: TestApp;
  let admin: request.Agent;
  let customer: Shopper;
  let products: Model<Product>;

  beforeAll(async () => {
    app = await createTestApp('stock');
    admin = await signInAdmin(app);
    customer = await registerShopper(app);
    products = app.get<Model<Product>>(getModelToken(Product.name));
  });
  afterAll(() => app.close());

  describe('POST /stock/products', () => {
    it('creates a product with its stock (admin)', async () => {
      const res = await admin
        .post('/stock/products')
        .send({
          name: ' Espresso cup ',
          description: 'Porcelain',
          price: 1299,
          currency: 'USD',
          quantity: 40,
        })
        .expect(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^[a-f0-9]{24}$/),
        name: 'Espresso cup',
        description: 'Porcelain',
        price: 1299,
        currency: 'USD',
        available: 40,
        reserved: 0,
        version: 0,
      });
    });

    it('is for admins only', async () => {
      const body = { name: 'X', price: 1, currency: 'USD', quantity: 1 };
      await app.agent().post('/stock/products').send(body).expect(401);
      const res = await customer.http.post('/stock/products').send(body).expect(403);
      expect(res.body.message).toBe('This action requires the admin role');
    });

    it.each([
      [{ price: 1, currency: 'USD', quantity: 1 }, 'name'],
      [{ name: { $gt: '' }, price: 1, currency: 'USD', quantity: 1 }, 'name must be a string'],
      [{ name: 'X', price: -1, currency: 'USD', quantity: 1 }, 'price must not be less than 0'],
      [{ name: 'X', price: 9.99, currency: 'USD', quantity: 1 }, 'price must be an integer number'],
      [
        { name: 'X', price: '100', currency: 'USD', quantity: 1 },
        'price must be an integer number',
      ],
      [
        { name: 'X', price: 1, currency: 'usd', quantity: 1 },
        'currency must be a three-letter ISO 4217 code',
      ],
      [
        { name: 'X', price: 1, currency: 'USD', quantity: 1_000_001 },
        'quantity must not be greater than 1000000',
      ],
      [{ name: 'X', price: 1, currency: 'USD', quantity: -3 }, 'quantity must not be less than 0'],
      [
        { name: 'X', price: 1, currency: 'USD', quantity: 1, available: 5 },
        'available should not exist',
      ],
    ])('rejects %j with 400 naming %s and stores nothing', async (body, message) => {
      const before = await products.countDocuments();
      const res = await admin.post('/stock/products').send(body).expect(400);
      expect(res.body.statusCode).toBe(400);
      expect(res.body.message).toContain(message);
      expect(await products.countDocuments()).toBe(before);
    });
  });

  describe('GET /stock/products-with-stock', () => {
    it('lists the catalog publicly, paginated', async () => {
      const mine = [] as ProductBody[];
      for (let i = 0; i < 3; i++)
        mine.push(await createProduct(admin, { quantity: i + 1, name: `Listed ${i}` }));
      const total = await products.countDocuments({ active: true });
      const first = await app
        .agent()
        .get('/stock/products-with-stock')
        .query({ page: 1, limit: 2 })
        .expect(200);
      expect(first.body).toMatchObject({ total, page: 1, limit: 2 });
      expect(first.body.items).toHaveLength(2);
      const all = await app
        .agent()
        .get('/stock/products-with-stock')
        .query({ limit: 100 })
        .expect(200);
      expect(all.body.items.map((p: ProductBody) => p.id)).toEqual(
        expect.arrayContaining(mine.map((p) => p.id)),
      );
      expect(Object.keys(all.body.items[0]).sort()).toEqual([
        'available',
        'currency',
        'description',
        'id',
        'name',
        'price',
        'reserved',
        'version',
      ]);
    });

    it.each([
      [{ limit: 101 }, 'limit must not be greater than 100'],
      [{ limit: 0 }, 'limit must not be less than 1'],
      [{ page: 0 }, 'page must not be less than 1'],
      [{ page: 'abc' }, 'page must be an integer number'],
      [{ limit: 2.5 }, 'limit must be an integer number'],
      [{ sort: 'price' }, 'sort should not exist'],
    ])('rejects query %j with 400 naming %s', async (query, message) => {
      const res = await app.agent().get('/stock/products-with-stock').query(query).expect(400);
      expect(res.body.message).toContain(message);
    });

    it('returns one product, 404 for an unknown id and 400 for a malformed one', async () => {
      const product = await createProduct(admin, { quantity: 7 });
      const res = await app.agent().get(`/stock/products-with-stock/${product.id}`).expect(200);
      expect(res.body).toEqual(product);
      const missing = await app
        .agent()
        .get('/stock/products-with-stock/0123456789abcdef01234567')
        .expect(404);
      expect(missing.body).toEqual({
        statusCode: 404,
        error: 'Not Found',
        message: 'Product not found',
      });
      await app.agent().get('/stock/products-with-stock/123').expect(400);
      await app.agent().get('/stock/products-with-stock/%7B%22%24gt%22%3A%22%22%7D').expect(400);
    });
  });

  describe('PATCH /stock/products/:id/stock', () => {
    it('restocks and corrects, bumping the version', async () => {
      const product = await createProduct(admin, { quantity: 10 });
      const up = await admin
        .patch(`/stock/products/${product.id}/stock`)
        .send({ delta: 5 })
        .expect(200);
      expect(up.body).toMatchObject({ available: 15, version: 1 });
      const down = await admin
        .patch(`/stock/products/${product.id}/stock`)
        .send({ delta: -15 })
        .expect(200);
      expect(down.body).toMatchObject({ available: 0, version: 2 });
      const stored = await products.findById(product.id).lean().exec();
      expect(stored).toMatchObject({ available: 0, reserved: 0, sold: 0, received: 0 });
    });

    it('never takes stock below zero (409) and leaves it unchanged', async () => {
      const product = await createProduct(admin, { quantity: 3 });
      const res = await admin
        .patch(`/stock/products/${product.id}/stock`)
        .send({ delta: -4 })
        .expect(409);
      expect(res.body.message).toBe('Stock cannot go below zero: 3 available, delta -4');
      expect((await products.findById(product.id).lean().exec())?.available).toBe(3);
    });

    it.each([
      [{ delta: 0 }, 'delta should not be equal to 0'],
      [{ delta: 1.5 }, 'delta must be an integer number'],
      [{ delta: '5' }, 'delta must be an integer number'],
      [{}, 'delta'],
      [{ delta: 5, version: 3 }, 'version should not exist'],
    ])('rejects %j with 400 naming %s', async (body, message) => {
      const product = await createProduct(admin, { quantity: 3 });
      const res = await admin.patch(`/stock/products/${product.id}/stock`).send(body).expect(400);
      expect(res.body.message).toContain(message);
      expect((await products.findById(product.id).lean().exec())?.version).toBe(0);
    });

    it('is for admins only and 404s an unknown product', async () => {
      const product = await createProduct(admin, { quantity: 3 });
      await customer.http
        .patch(`/stock/products/${product.id}/stock`)
        .send({ delta: 1 })
        .expect(403);
      await app.agent().patch(`/stock/products/${product.id}/stock`).send({ delta: 1 }).expect(401);
      await admin
        .patch('/stock/products/0123456789abcdef01234567/stock')
        .send({ delta: 1 })
        .expect(404);
    });

    it('applies concurrent restocks exactly once each (optimistic locking)', async () => {
      const product = await createProduct(admin, { quantity: 0 });
      await Promise.all(
        Array.from({ length: 20 }, () =>
          admin.patch(`/stock/products/${product.id}/stock`).send({ delta: 1 }).expect(200),
        ),
      );
      const stored = await products.findById(product.id).lean().exec();
      expect(stored).toMatchObject({ available: 20, received: 20, version: 20 });
    });
  });

  describe('DELETE /stock/products/:id', () => {
    it('takes a product off sale', async () => {
      const product = await createProduct(admin, { quantity: 3 });
      await customer.http.delete(`/stock/products/${product.id}`).expect(403);
      await admin.delete(`/stock/products/${product.id}`).expect(204);
      await app.agent().get(`/stock/products-with-stock/${product.id}`).expect(404);
      await admin.delete(`/stock/products/${product.id}`).expect(404);
    });
  });
});
