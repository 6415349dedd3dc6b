/**
 * The one logger: winston, JSON lines with timestamp, level, context and the request or job the
 * line belongs to. Human-readable in development. Secrets never reach a transport: fields named
 * like secrets are redacted and JWTs are masked wherever they appear.
 */
import * as path from 'node:path';
import { utilities as nestWinston } from 'nest-winston';
import winston from 'winston';
import type { LogLevel } from '../../config/config.js';
import { currentLogContext } from './request-context.js';

export interface LoggingOptions {
  level: LogLevel;
  /** Also write error.log and combined.log here, rotated by size. */
  dir?: string;
  pretty: boolean;
}

const SECRET_KEY = /pass(word)?|secret|token|cookie|authorization|jwt|hash/i;
const JWT = /eyJ[\w-]{5,}\.[\w-]{5,}\.[\w-]+/g;
const REDACTED = '[REDACTED]';
const MAX_FILE_BYTES = 10 * 1024 * 1024;
const MAX_FILES = 5;

function scrub(value: unknown, depth: number): unknown {
  if (typeof value === 'string') return value.replace(JWT, REDACTED);
  if (depth > 4 || value === null || typeof value !== 'object' || value instanceof Date)
    return value;
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value))
    out[key] = SECRET_KEY.test(key) ? REDACTED : scrub(v, depth + 1);
  return out;
}

/** Adds the request/job context and redacts secrets. Keeps winston's symbol keys (level, splat). */
const contextAndRedaction = winston.format((info) => {
  // Nest's Logger.error(message) hands nest-winston `stack: [undefined]`; drop empty stacks.
  if (Array.isArray(info.stack)) {
    const frames = (info.stack as unknown[]).filter(Boolean);
    if (frames.length) info.stack = frames;
    else delete info.stack;
  }
  for (const [key, value] of Object.entries(currentLogContext() ?? {})) info[key] ??= value;
  for (const key of Object.keys(info)) {
    if (key === 'level') continue;
    info[key] = SECRET_KEY.test(key) && key !== 'message' ? REDACTED : scrub(info[key], 0);
  }
  return info;
});

export function createLogger(options: LoggingOptions): winston.Logger {
  const structured = winston.format.combine(
    winston.format.timestamp(),
    winston.format.errors({ stack: true }),
    contextAndRedaction(),
    winston.format.json(),
  );
  const transports: winston.transport[] = [
    new winston.transports.Console({
      format: options.pretty
        ? winston.format.combine(
            winston.format.timestamp(),
            winston.format.errors({ stack: true }),
            contextAndRedaction(),
            nestWinston.format.nestLike('orders', { colors: true, prettyPrint: true }),
          )
        : structured,
    }),
  ];
  if (options.dir) {
    const file = (name: string, level?: LogLevel) =>
      new winston.transports.File({
        filename: path.join(options.dir as string, name),
        level,
        format: structured,
        maxsize: MAX_FILE_BYTES,
        maxFiles: MAX_FILES,
        tailable: true,
      });
    transports.push(file('error.log', 'error'), file('combined.log'));
  }
  return winston.createLogger({
    level: options.level,
    levels: winston.config.npm.levels,
    transports,
  });
}
