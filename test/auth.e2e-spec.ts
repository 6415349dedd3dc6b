import { getModelToken } from '@nestjs/mongoose';
import type { Model } from 'mongoose';
import { RefreshToken } from '../src/auth/refresh-token.schema.js';
import { User } from '../src/users/user.schema.js';
import { ADMIN, TestApp, createTestApp } from './support/app.js';
import { cookiesOf } from './support/cookies.js';
import { registerShopper, signIn, signInAdmin } from './support/shop.js';
import { waitFor } from '../tools/harness/wait.js';

describe('auth (cookie JWTs)', () => {
  let app: TestApp;
  let users: Model<User>;
  let refreshTokens: Model<RefreshToken>;

  beforeAll(async () => {
    app = await createTestApp('auth');
    users = app.get<Model<User>>(getModelToken(User.name));
    refreshTokens = app.get<Model<RefreshToken>>(getModelToken(RefreshToken.name));
  });
  afterAll(() => app.close());

  describe('POST /auth/register', () => {
    it('creates the account, returns the user without secrets and sets HTTP-only cookies', async () => {
      const res = await app
        .agent()
        .post('/auth/register')
        .send({ email: 'New.User@Shop.test', password: 'long-password', name: ' New User ' })
        .expect(201);
      expect(res.body).toEqual({
        user: {
          id: expect.stringMatching(/^[a-f0-9]{24}$/),
          email: 'new.user@shop.test',
          name: 'New User',
          role: 'customer',
          isVip: false,
          createdAt: expect.any(String),
        },
      });
      expect(JSON.stringify(res.body)).not.toMatch(/password|token|hash/i);
      const cookies = cookiesOf(res);
      const access = cookies.get('access_token');
      const refresh = cookies.get('refresh_token');
      expect(access?.attributes).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'path=/']),
      );
      expect(refresh?.attributes).toEqual(
        expect.arrayContaining(['httponly', 'samesite=lax', 'path=/auth']),
      );
      expect(access?.attributes).not.toContain('secure');
      const stored = await users.findOne({ email: 'new.user@shop.test' }).lean().exec();
      expect(stored?.passwordHash).toMatch(/^\$2[aby]\$/);
      expect(stored?.passwordHash).not.toContain('long-password');
    });

    it('answers 409 for an email that is already registered, whatever its case', async () => {
      await app
        .agent()
        .post('/auth/register')
        .send({ email: 'dup@shop.test', password: 'long-password', name: 'A' })
        .expect(201);
      const res = await app
        .agent()
        .post('/auth/register')
        .send({ email: 'DUP@shop.test', password: 'other-password', name: 'B' })
        .expect(409);
      expect(res.body).toEqual({
        statusCode: 409,
        error: 'Conflict',
        message: 'Email is already registered',
      });
      expect(await users.countDocuments({ email: 'dup@shop.test' })).toBe(1);
    });

    it.each([
      [{ password: 'long-password', name: 'X' }, 'email'],
      [{ email: 'not-an-email', password: 'long-password', name: 'X' }, 'email must be an email'],
      [{ email: { $gt: '' }, password: 'long-password', name: 'X' }, 'email'],
      [
        { email: 'x@shop.test', password: 'short', name: 'X' },
        'password must be longer than or equal to 8',
      ],
      [
        { email: 'x@shop.test', password: 'p'.repeat(73), name: 'X' },
        'password must be shorter than or equal to 72',
      ],
      [{ email: 'x@shop.test', password: 12345678, name: 'X' }, 'password must be a string'],
      [
        { email: 'x@shop.test', password: 'long-password', name: '' },
        'name must be longer than or equal to 1',
      ],
      [
        { email: 'x@shop.test', password: 'long-password', name: 'X', role: 'admin' },
        'role should not exist',
      ],
    ])('rejects %j with 400 naming %s, and stores nothing', async (body, message) => {
      const before = await users.countDocuments();
      const res = await app.agent().post('/auth/register').send(body).expect(400);
      expect(res.body).toMatchObject({ statusCode: 400, error: 'Bad Request' });
      expect(res.body.message).toContain(message);
      expect(cookiesOf(res).size).toBe(0);
      expect(await users.countDocuments()).toBe(before);
    });

    it('rejects a body that is not JSON with 400', async () => {
      const res = await app
        .agent()
        .post('/auth/register')
        .set('Content-Type', 'application/json')
        .send('{"email":')
        .expect(400);
      expect(res.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'Request body is not valid JSON',
      });
    });
  });

  describe('POST /auth/login', () => {
    it('signs in and sets both cookies', async () => {
      const shopper = await registerShopper(app);
      const res = await app
        .agent()
        .post('/auth/login')
        .send({ email: shopper.email, password: 'shopper-password' })
        .expect(200);
      expect(res.body.user).toMatchObject({ id: shopper.id, email: shopper.email });
      expect([...cookiesOf(res).keys()].sort()).toEqual(['access_token', 'refresh_token']);
    });

    it('counts a password in UTF-8 bytes, as bcrypt does: past 72 bytes it is refused, never cut', async () => {
      // 36 "é" are 36 characters but 72 bytes, all that bcrypt reads.
      const full = 'é'.repeat(36);
      const email = `bytes.${Date.now()}@shop.test`;
      const tooLong = await app
        .agent()
        .post('/auth/register')
        .send({ email, password: `${full}é`, name: 'Bytes' })
        .expect(400);
      expect(tooLong.body.message).toContain('password must be at most 72 bytes in UTF-8');
      expect(await users.countDocuments({ email })).toBe(0);

      await app
        .agent()
        .post('/auth/register')
        .send({ email, password: full, name: 'Bytes' })
        .expect(201);
      await app.agent().post('/auth/login').send({ email, password: full }).expect(200);
      // Same first 72 bytes, anything after: bcrypt alone would have let it in.
      await app
        .agent()
        .post('/auth/login')
        .send({ email, password: `${full}anything` })
        .expect(401);
    });

    it('gives the same 401 for a wrong password and an unknown email', async () => {
      const shopper = await registerShopper(app);
      const wrongPassword = await app
        .agent()
        .post('/auth/login')
        .send({ email: shopper.email, password: 'wrong-password' })
        .expect(401);
      const unknownEmail = await app
        .agent()
        .post('/auth/login')
        .send({ email: 'nobody@shop.test', password: 'whatever-password' })
        .expect(401);
      expect(wrongPassword.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Invalid email or password',
      });
      expect(unknownEmail.body).toEqual(wrongPassword.body);
      expect(cookiesOf(wrongPassword).size).toBe(0);
    });

    it('rejects operator objects instead of strings', async () => {
      const res = await app
        .agent()
        .post('/auth/login')
        .send({ email: { $ne: null }, password: { $ne: null } })
        .expect(400);
      expect(res.body.message).toContain('email');
    });
  });

  describe('GET /auth/profile', () => {
    it('returns the signed-in user, and 401 without a valid access cookie', async () => {
      const shopper = await registerShopper(app);
      const res = await shopper.http.get('/auth/profile').expect(200);
      expect(res.body).toEqual({
        user: expect.objectContaining({ id: shopper.id, email: shopper.email, role: 'customer' }),
      });
      const anonymous = await app.agent().get('/auth/profile').expect(401);
      expect(anonymous.body).toEqual({
        statusCode: 401,
        error: 'Unauthorized',
        message: 'Authentication required',
      });
      await app.agent().get('/auth/profile').set('Cookie', 'access_token=not.a.jwt').expect(401);
    });

    it('ignores a bearer token in the Authorization header: tokens only travel in cookies', async () => {
      const res = await app
        .agent()
        .post('/auth/register')
        .send({ email: 'bearer@shop.test', password: 'long-password', name: 'B' })
        .expect(201);
      const access = cookiesOf(res).get('access_token')?.value ?? '';
      await app.agent().get('/auth/profile').set('Authorization', `Bearer ${access}`).expect(401);
    });
  });

  describe('POST /auth/refresh', () => {
    it('rotates both cookies', async () => {
      const shopper = await registerShopper(app);
      const res = await shopper.http.post('/auth/refresh').expect(200);
      expect(res.body.user.id).toBe(shopper.id);
      expect([...cookiesOf(res).keys()].sort()).toEqual(['access_token', 'refresh_token']);
      await shopper.http.get('/auth/profile').expect(200);
    });

    it('revokes the whole session when a rotated refresh token is presented again after the grace window', async () => {
      const browser = app.agent();
      const login = await browser
        .post('/auth/register')
        .send({ email: 'stolen@shop.test', password: 'long-password', name: 'S' })
        .expect(201);
      const stolen = cookiesOf(login).get('refresh_token')?.value ?? '';
      await browser.post('/auth/refresh').expect(200);
      // Rotated a minute ago, as the clock would have it: past REFRESH_GRACE_SECONDS.
      await refreshTokens
        .updateOne(
          { userId: login.body.user.id, rotatedAt: { $ne: null } },
          { $set: { rotatedAt: new Date(Date.now() - 60_000) } },
        )
        .exec();

      const replay = await app
        .agent()
        .post('/auth/refresh')
        .set('Cookie', `refresh_token=${stolen}`)
        .expect(401);
      expect(replay.body.message).toContain('revoked');
      // The legitimate holder's current refresh token belongs to the revoked family too.
      await browser.post('/auth/refresh').expect(401);
    });

    it('answers 401 without a refresh cookie or with a forged one', async () => {
      await app.agent().post('/auth/refresh').expect(401);
      await app
        .agent()
        .post('/auth/refresh')
        .set('Cookie', 'refresh_token=eyJhbGciOiJIUzI1NiJ9.e30.forged')
        .expect(401);
    });
  });

  describe('POST /auth/logout', () => {
    it('clears the cookies and revokes the refresh token', async () => {
      const browser = app.agent();
      const login = await browser
        .post('/auth/register')
        .send({ email: 'leaving@shop.test', password: 'long-password', name: 'L' })
        .expect(201);
      const refresh = cookiesOf(login).get('refresh_token')?.value ?? '';
      const res = await browser.post('/auth/logout').expect(204);
      const cleared = cookiesOf(res);
      expect(cleared.get('access_token')?.value).toBe('');
      expect(cleared.get('refresh_token')?.attributes).toEqual(
        expect.arrayContaining(['path=/auth']),
      );
      await browser.get('/auth/profile').expect(401);
      await app.agent().post('/auth/refresh').set('Cookie', `refresh_token=${refresh}`).expect(401);
    });

    it('is harmless without a session', async () => {
      await app.agent().post('/auth/logout').expect(204);
    });
  });

  describe('admin account and VIP management', () => {
    it('creates the ADMIN_EMAIL account at start-up', async () => {
      const admin = await signIn(app, ADMIN.email, ADMIN.password);
      const res = await admin.get('/auth/profile').expect(200);
      expect(res.body.user).toMatchObject({ email: ADMIN.email, role: 'admin' });
    });

    it('lets an admin promote and demote a VIP', async () => {
      const admin = await signInAdmin(app);
      const shopper = await registerShopper(app);
      const promoted = await admin.post(`/users/${shopper.id}/vip`).expect(200);
      expect(promoted.body.user).toMatchObject({ id: shopper.id, isVip: true });
      const demoted = await admin.delete(`/users/${shopper.id}/vip`).expect(200);
      expect(demoted.body.user).toMatchObject({ id: shopper.id, isVip: false });
    });

    it('answers 401 anonymous, 403 customer, 400 malformed id, 404 unknown id', async () => {
      const shopper = await registerShopper(app);
      const admin = await signInAdmin(app);
      await app.agent().post(`/users/${shopper.id}/vip`).expect(401);
      const forbidden = await shopper.http.post(`/users/${shopper.id}/vip`).expect(403);
      expect(forbidden.body).toEqual({
        statusCode: 403,
        error: 'Forbidden',
        message: 'This action requires the admin role',
      });
      const malformed = await admin.post('/users/not-an-id/vip').expect(400);
      expect(malformed.body.message).toContain('id must be a 24-character hexadecimal ObjectId');
      await admin.post('/users/0123456789abcdef01234567/vip').expect(404);
      expect((await users.findById(shopper.id).lean().exec())?.isVip).toBe(false);
    });
  });
});

describe('auth cookie settings', () => {
  it('marks cookies Secure when COOKIE_SECURE=true and expires access tokens after JWT_ACCESS_TTL', async () => {
    const app = await createTestApp('auth-secure', {
      env: { COOKIE_SECURE: 'true', JWT_ACCESS_TTL: '1s' },
    });
    try {
      const browser = app.agent();
      const res = await browser
        .post('/auth/register')
        .send({ email: 'secure@shop.test', password: 'long-password', name: 'S' })
        .expect(201);
      for (const cookie of cookiesOf(res).values()) expect(cookie.attributes).toContain('secure');
      const access = cookiesOf(res).get('access_token')?.value ?? '';
      await app.agent().get('/auth/profile').set('Cookie', `access_token=${access}`).expect(200);
      await waitFor(
        async () =>
          (await app.agent().get('/auth/profile').set('Cookie', `access_token=${access}`))
            .status === 401,
        {
          timeoutMs: 5000,
          what: 'the access token to expire',
        },
      );
    } finally {
      await app.close();
    }
  });
});
