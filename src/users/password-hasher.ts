import { Inject, Injectable } from '@nestjs/common';
import * as bcrypt from 'bcrypt';
import type { AppConfig } from '../config/config.js';
import { APP_CONFIG } from '../config/config.module.js';

/** bcrypt hashing; bcrypt reads at most 72 bytes, so longer passwords are refused at the edge. */
@Injectable()
export class PasswordHasher {
  /** Compared against when the account does not exist, so both failures take the same time. */
  private readonly decoy: Promise<string>;

  constructor(@Inject(APP_CONFIG) private readonly config: AppConfig) {
    this.decoy = bcrypt.hash('decoy-password-for-timing', config.bcryptRounds);
  }

  hash(password: string): Promise<string> {
    return bcrypt.hash(password, this.config.bcryptRounds);
  }

  async verify(password: string, hash: string | undefined): Promise<boolean> {
    const matches = await bcrypt.compare(password, hash ?? (await this.decoy));
    return hash !== undefined && matches;
  }
}
