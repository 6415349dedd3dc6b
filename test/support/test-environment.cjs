/**
 * jest's Node environment, plus one duty: every child process a test file starts through
 * tools/harness/processes.ts is collected here, and whatever is still running when the file ends
 * is stopped (SIGTERM, then SIGKILL after 5 s). A suite whose beforeAll failed after starting
 * processes would otherwise leave them running, and jest would wait on them for ever.
 */
const { TestEnvironment } = require('jest-environment-node');

const GRACE_MS = 5000;

function stop(child) {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve();
  }
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), GRACE_MS);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

class ProcessStoppingEnvironment extends TestEnvironment {
  async setup() {
    await super.setup();
    this.started = new Set();
    this.global.__STARTED_PROCESSES__ = this.started;
  }

  async teardown() {
    await Promise.all([...this.started].map(stop));
    await super.teardown();
  }
}

module.exports = ProcessStoppingEnvironment;
