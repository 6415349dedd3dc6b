import { redisOptionsFromUrl } from './redis.js';

describe('redisOptionsFromUrl', () => {
  it('reads host, port and database, with the default port', () => {
    expect(redisOptionsFromUrl('redis://cache.internal/2')).toEqual({
      host: 'cache.internal',
      port: 6379,
      db: 2,
    });
  });

  it('reads a password alone (requirepass) and an ACL user with its password, decoded', () => {
    expect(redisOptionsFromUrl('redis://:5f2a9c@redis:6380')).toEqual({
      host: 'redis',
      port: 6380,
      password: '5f2a9c',
    });
    expect(redisOptionsFromUrl('redis://orders%2Dapp:p%40ss%3Aw%2Frd@redis:6379')).toEqual({
      host: 'redis',
      port: 6379,
      username: 'orders-app',
      password: 'p@ss:w/rd',
    });
  });

  it('turns on TLS for rediss://', () => {
    expect(redisOptionsFromUrl('rediss://:pw@redis.example.com:6380')).toEqual({
      host: 'redis.example.com',
      port: 6380,
      password: 'pw',
      tls: {},
    });
  });
});
