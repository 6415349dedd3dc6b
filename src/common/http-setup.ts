import type { INestApplication } from '@nestjs/common';
import cookieParser from 'cookie-parser';
import { json } from 'express';
import { HttpExceptionFilter } from './http-exception.filter.js';
import { createValidationPipe } from './validation.js';

export const BODY_LIMIT = '100kb';

/** HTTP behaviour shared by the server and the e2e tests: one place, so tests see what runs. */
export function configureHttp(app: INestApplication): void {
  app.use(json({ limit: BODY_LIMIT }));
  app.use(cookieParser());
  app.useGlobalPipes(createValidationPipe());
  app.useGlobalFilters(new HttpExceptionFilter());
}
