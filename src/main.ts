import 'reflect-metadata';
import { exitOnSignals, start } from './bootstrap.js';
import { ConfigError, loadConfig } from './config/config.js';

async function main(): Promise<void> {
  const config = loadConfig(process.env);
  const running = await start(config);
  exitOnSignals(running, config.shutdownTimeoutMs);
}

main().catch((err: unknown) => {
  const message =
    err instanceof ConfigError
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`${message}\n`);
  process.exit(1);
});
