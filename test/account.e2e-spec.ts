/** Account self-service: name, password (ends the other sessions), deletion (orders are kept). */
import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { Order } from '../src/order/order.schema.js';
import { User } from '../src/users/user.schema.js';
import { TestApp, createTestApp } from './support/app.js';
import {
  createProduct,
  placeOrder,
  registerShopper,
  settledOrder,
  signIn,
  signInAdmin,
} from './support/shop.js';

describe('account self-service', () => {
  let app: TestApp;

  beforeAll(async () => {
    app = await createTestApp('account');
  });
  afterAll(() => app.close());

  it('renames, refusing hidden characters and an empty change', async () => {
    const shopper = await registerShopper(app);
    const res = await shopper.http.patch('/auth/profile').send({ name: 'Ada King' }).expect(200);
    expect(res.body.user.name).toBe('Ada King');
    expect(res.headers['set-cookie']).toBeUndefined();
    await shopper.http.patch('/auth/profile').send({ name: 'evil\u202e' }).expect(400);
    const empty = await shopper.http.patch('/auth/profile').send({}).expect(400);
    expect(empty.body.message).toBe('(body) must change name or newPassword (or both)');
  });

  it('changes the password: every other session ends at once, this one goes on with new cookies', async () => {
    const shopper = await registerShopper(app);
    const otherDevice = await signIn(app, shopper.email, 'shopper-password');
    await otherDevice.get('/auth/profile').expect(200);

    const wrong = await shopper.http
      .patch('/auth/profile')
      .send({ currentPassword: 'not-my-password', newPassword: 'brand-new-password' })
      .expect(403);
    expect(wrong.body.message).toBe('The password is not correct');
    await shopper.http
      .patch('/auth/profile')
      .send({ newPassword: 'brand-new-password' })
      .expect(400);

    const changed = await shopper.http
      .patch('/auth/profile')
      .send({ currentPassword: 'shopper-password', newPassword: 'brand-new-password' })
      .expect(200);
    expect(String(changed.headers['set-cookie'])).toContain('access_token=');
    await shopper.http.get('/auth/profile').expect(200);
    await otherDevice.get('/auth/profile').expect(401);
    await otherDevice.post('/auth/refresh').expect(401);
    await app
      .agent()
      .post('/auth/login')
      .send({ email: shopper.email, password: 'shopper-password' })
      .expect(401);
    await signIn(app, shopper.email, 'brand-new-password');
  });

  it('deletes the account: sessions end, personal data goes, orders stay for accounting', async () => {
    const admin = await signInAdmin(app);
    const product = await createProduct(admin, { quantity: 5 });
    const shopper = await registerShopper(app);
    const placed = await placeOrder(shopper, [{ productId: product.id, quantity: 1 }]);
    await settledOrder(shopper, placed.id);

    await shopper.http.delete('/auth/profile').send({ password: 'wrong-password' }).expect(403);
    await shopper.http.delete('/auth/profile').send({ password: 'shopper-password' }).expect(204);

    await shopper.http.get('/auth/session').expect(401);
    await app
      .agent()
      .post('/auth/login')
      .send({ email: shopper.email, password: 'shopper-password' })
      .expect(401);
    const users = app.get<Model<User>>(getModelToken(User.name));
    expect(await users.countDocuments({ email: shopper.email })).toBe(0);
    expect(await users.countDocuments({ _id: shopper.id })).toBe(0);
    const kept = await app
      .get<Model<Order>>(getModelToken(Order.name))
      .findById(placed.id)
      .lean()
      .exec();
    expect(kept).toMatchObject({ status: 'CONFIRMED', userId: shopper.id, total: placed.total });
    expect(
      (await admin.get(`/admin/users?email=${encodeURIComponent(shopper.email)}`).expect(200)).body
        .items,
    ).toEqual([]);
    // The email is free again.
    await app
      .agent()
      .post('/auth/register')
      .send({ email: shopper.email, password: 'shopper-password', name: 'New' })
      .expect(201);
  });
});
