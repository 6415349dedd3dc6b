import { Inject, Injectable, Logger } from '@nestjs/common';
import { InjectModel } from '@nestjs/mongoose';
import { Model, Types } from 'mongoose';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';
import { CacheInvalidation } from '../common/cache-invalidation.js';
import {
  ConflictError,
  ForbiddenError,
  NotFoundError,
  isDuplicateKeyError,
} from '../common/errors.js';
import { nativeCollection } from '../common/native-collection.js';
import { InvalidatingCache } from '../common/invalidating-cache.js';
import { PasswordHasher } from './password-hasher.js';
import { Role, User, UserDocument } from './user.schema.js';

export interface NewUser {
  email: string;
  password: string;
  name: string;
  role?: Role;
}

/** Invalidation topic of the VIP-flag cache: a message carries a user id. */
const ACCOUNT_TOPIC = 'account';

/** What `ensureAdmin` changed on an account that existed already. */
export interface AdminAccountChange {
  userId: string;
  /** It was not an admin. */
  roleChanged: boolean;
  /** Its password was not ADMIN_PASSWORD. */
  passwordChanged: boolean;
}

@Injectable()
export class UsersService {
  private readonly logger = new Logger(UsersService.name);
  /**
   * VIP flags for the order route, which must not read MongoDB per order. A promotion or demotion
   * reaches every replica's cache through pub/sub before the admin's request answers (a confirmed
   * invalidation), so the next order anywhere has the new priority; a lost message is corrected
   * within CACHE_TTL_MS. The flag is not in the access token: changing it ends no session.
   */
  private readonly vipFlags: InvalidatingCache<boolean>;

  constructor(
    @InjectModel(User.name) private readonly users: Model<User>,
    private readonly hasher: PasswordHasher,
    @Inject(APP_CONFIG) config: AppConfig,
    private readonly invalidation: CacheInvalidation,
  ) {
    this.vipFlags = new InvalidatingCache<boolean>(
      async (ids) => {
        const found = await nativeCollection<{ _id: Types.ObjectId; isVip: boolean }>(users)
          .find(
            { _id: { $in: ids.map((id) => new Types.ObjectId(id)) } },
            { projection: { isVip: 1 } },
          )
          .toArray();
        return new Map(found.map((u) => [u._id.toString(), u.isVip]));
      },
      invalidation,
      {
        topic: ACCOUNT_TOPIC,
        ttlMs: config.cacheTtlMs,
        maxEntries: 200_000,
        loadTimeoutMs: config.mongodbCallTimeoutMs,
      },
    );
  }

  async create(input: NewUser): Promise<UserDocument> {
    const passwordHash = await this.hasher.hash(input.password);
    try {
      return await this.users.create({
        email: input.email,
        name: input.name,
        passwordHash,
        role: input.role ?? 'customer',
      });
    } catch (err) {
      if (isDuplicateKeyError(err)) throw new ConflictError('Email is already registered');
      throw err;
    }
  }

  /** The user with these credentials, or undefined; takes the same time whether or not the email exists. */
  async authenticate(email: string, password: string): Promise<UserDocument | undefined> {
    const user = await this.users.findOne({ email: email.toLowerCase() }).exec();
    const valid = await this.hasher.verify(password, user?.passwordHash);
    return valid && user ? user : undefined;
  }

  async findById(id: string): Promise<UserDocument | undefined> {
    return (await this.users.findById(id).exec()) ?? undefined;
  }

  /** The account's VIP flag (undefined when the account is gone), from the cache. */
  vipStatus(id: string): Promise<boolean | undefined> {
    return this.vipFlags.get(id);
  }

  async getById(id: string): Promise<UserDocument> {
    const user = await this.findById(id);
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /** A new display name. */
  async rename(id: string, name: string): Promise<UserDocument> {
    const user = await this.users
      .findByIdAndUpdate(id, { $set: { name } }, { returnDocument: 'after' })
      .exec();
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /** A new password, for whoever knows the current one; 403 otherwise. */
  async changePassword(id: string, current: string, next: string): Promise<UserDocument> {
    await this.confirmPassword(id, current);
    const user = await this.users
      .findByIdAndUpdate(
        id,
        { $set: { passwordHash: await this.hasher.hash(next) } },
        { returnDocument: 'after' },
      )
      .exec();
    if (!user) throw new NotFoundError('User');
    return user;
  }

  /**
   * Removes the account and everything personal it holds (email, name, password hash), for whoever
   * knows its password. Its orders stay, for accounting: they name the account only by its id,
   * which then belongs to nobody.
   */
  async deleteAccount(id: string, password: string): Promise<void> {
    await this.confirmPassword(id, password);
    await this.users.deleteOne({ _id: id }).exec();
    // Every replica's VIP cache forgets the account: an order from it is refused at once.
    await this.invalidation.publish(ACCOUNT_TOPIC, id, { confirm: true });
  }

  private async confirmPassword(id: string, password: string): Promise<void> {
    const user = await this.getById(id);
    if (!(await this.hasher.verify(password, user.passwordHash)))
      throw new ForbiddenError('The password is not correct');
  }

  async setVip(id: string, isVip: boolean): Promise<UserDocument> {
    const user = await this.users
      .findByIdAndUpdate(id, { $set: { isVip } }, { returnDocument: 'after' })
      .exec();
    if (!user) throw new NotFoundError('User');
    await this.invalidation.publish(ACCOUNT_TOPIC, user.id, { confirm: true });
    return user;
  }

  /**
   * Staff search of accounts, by email: those whose email starts with `emailPrefix` (emails are
   * stored in lower case), with `role` and `isVip` when given, after the email `afterEmail`, at
   * most `limit`. Emails are unique, so the email alone is the page key.
   */
  async search(
    filter: { emailPrefix?: string; role?: Role; isVip?: boolean },
    afterEmail: string | undefined,
    limit: number,
  ): Promise<Array<User & { _id: Types.ObjectId }>> {
    const email: Record<string, unknown> = {};
    if (filter.emailPrefix) email.$regex = `^${escapeRegExp(filter.emailPrefix.toLowerCase())}`;
    if (afterEmail !== undefined) email.$gt = afterEmail;
    return this.users
      .find({
        ...(Object.keys(email).length > 0 ? { email } : {}),
        ...(filter.role ? { role: filter.role } : {}),
        ...(filter.isVip === undefined ? {} : { isVip: filter.isVip }),
      })
      .sort({ email: 1 })
      .limit(limit)
      .lean<Array<User & { _id: Types.ObjectId }>>()
      .exec();
  }

  /**
   * Gives the account `role`. Answers the account and whether its role changed: the caller must
   * then outdate the account's access tokens (they carry the role).
   */
  async setRole(id: string, role: Role): Promise<{ user: UserDocument; changed: boolean }> {
    const before = await this.users
      .findByIdAndUpdate(id, { $set: { role } }, { returnDocument: 'before' })
      .exec();
    if (!before) throw new NotFoundError('User');
    const user = await this.users.findById(id).exec();
    if (!user) throw new NotFoundError('User');
    return { user, changed: before.role !== role };
  }

  /**
   * `ADMIN_EMAIL` + `ADMIN_PASSWORD`: that admin account exists, with that password, after
   * start-up. An account that already is exactly that is left alone (every replica runs this at
   * every start); otherwise the answer says what changed, so its sessions can follow.
   */
  async ensureAdmin(admin: {
    email: string;
    password: string;
  }): Promise<AdminAccountChange | undefined> {
    const existing = await this.users.findOne({ email: admin.email }).exec();
    if (existing) {
      const roleChanged = existing.role !== 'admin';
      const passwordChanged = !(await this.hasher.verify(admin.password, existing.passwordHash));
      if (roleChanged || passwordChanged) {
        await this.users
          .updateOne(
            { _id: existing._id },
            {
              $set: {
                role: 'admin',
                ...(passwordChanged
                  ? { passwordHash: await this.hasher.hash(admin.password) }
                  : {}),
              },
            },
          )
          .exec();
      }
      this.logger.log(`admin account ${admin.email} is ready`);
      return roleChanged || passwordChanged
        ? { userId: existing.id, roleChanged, passwordChanged }
        : undefined;
    }
    await this.users
      .create({
        email: admin.email,
        name: 'Administrator',
        role: 'admin',
        isVip: false,
        passwordHash: await this.hasher.hash(admin.password),
      })
      .catch((err: unknown) => {
        // Two API replicas starting together may both try the insert; the other one won.
        if (!isDuplicateKeyError(err)) throw err;
      });
    this.logger.log(`admin account ${admin.email} is ready`);
    return undefined;
  }
}

/** `text` matched literally inside a regular expression. */
function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
