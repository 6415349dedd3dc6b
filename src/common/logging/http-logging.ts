import type { NextFunction, Request, Response } from 'express';
import { randomUUID } from 'node:crypto';
import type winston from 'winston';
import { currentLogContext, runWithLogContext } from './request-context.js';

export const REQUEST_ID_HEADER = 'x-request-id';
const ACCEPTABLE_REQUEST_ID = /^[\w.:-]{1,128}$/;

/**
 * Gives every request an id (the caller's X-Request-Id when it is sane, else a new UUID), returns
 * it in the response header, runs the request inside its log context, and writes one access line
 * (level `http`) when the response is sent. Bodies, headers and cookies are never logged.
 */
export function requestLogging(logger: winston.Logger) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const incoming = req.header(REQUEST_ID_HEADER);
    const requestId = incoming && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    runWithLogContext({ requestId }, () => {
      const context = currentLogContext();
      res.on('finish', () => {
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        logger.log('http', `${req.method} ${req.originalUrl.split('?')[0]} ${res.statusCode}`, {
          context: 'HTTP',
          ...context,
          method: req.method,
          status: res.statusCode,
          // The client address as `trust proxy` resolves it (behind Nginx: the address Nginx saw).
          ip: req.ip,
          durationMs: Math.round(durationMs * 10) / 10,
        });
      });
      next();
    });
  };
}
