// Starts every dashboard instance the browser tests need, runs `node --test` with their
// URLs in the environment, and always stops them. Exit status: that of the tests.

import { spawn } from 'node:child_process';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES, HERE, emptyFixtureDir, hostileFixtureDir, startServer, stopAll } from './server.mjs';

const tmpDirs = [];
let status = 1;
try {
  const empty = emptyFixtureDir();
  const hostile = hostileFixtureDir();
  tmpDirs.push(empty, hostile);
  const [files, demo, base, emptySrv, hostileSrv] = await Promise.all([
    startServer('files', ['--from-files', FIXTURES]),
    startServer('demo', ['--demo']),
    startServer('base-path', ['--from-files', FIXTURES, '--base-path', '/rollouts']),
    startServer('empty', ['--from-files', empty]),
    startServer('hostile', ['--from-files', hostile]),
  ]);
  const env = {
    ...process.env,
    RD_FILES_URL: files.url,
    RD_DEMO_URL: demo.url,
    RD_BASE_URL: base.url,
    RD_EMPTY_URL: emptySrv.url,
    RD_HOSTILE_URL: hostileSrv.url,
  };
  for (const s of [files, demo, base, emptySrv, hostileSrv]) console.log(`# ${s.name}: ${s.url}`);
  const only = process.argv.slice(2);
  const tests = only.length > 0 ? only : readdirSync(HERE).filter((f) => f.endsWith('.test.mjs')).sort();
  status = await new Promise((res) => {
    const child = spawn(process.execPath, ['--test', '--test-concurrency=1', '--test-timeout=240000', ...tests.map((t) => join(HERE, t))], {
      stdio: 'inherit',
      env,
      cwd: HERE,
    });
    child.on('exit', (code, signal) => res(code ?? (signal ? 1 : 0)));
  });
} catch (err) {
  console.error(err);
  status = 1;
} finally {
  stopAll();
  for (const d of tmpDirs) rmSync(d, { recursive: true, force: true });
}
process.exit(status);
