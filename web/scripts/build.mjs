// Deterministic production build: bundles src/main.tsx and src/styles/app.css with esbuild into
// ../static/assets/app-<hash>.{js,css}, writes ../static/manifest.json and removes stale files.
// Same input → identical bytes (no timestamps, no absolute paths, content-hashed names).

import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync, readFileSync, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const web = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outDir = resolve(web, '..', 'static');
const assets = join(outDir, 'assets');

const common = {
  bundle: true,
  minify: true,
  write: false,
  sourcemap: false,
  legalComments: 'eof',
  charset: 'utf8',
  logLevel: 'warning',
  absWorkingDir: web,
  target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
};

const js = await esbuild.build({
  ...common,
  entryPoints: ['src/main.tsx'],
  outfile: 'out/app.js',
  format: 'esm',
  platform: 'browser',
  jsx: 'automatic',
  jsxImportSource: 'preact',
  define: { 'process.env.NODE_ENV': '"production"' },
  treeShaking: true,
});
const css = await esbuild.build({
  ...common,
  entryPoints: ['src/styles/app.css'],
  outfile: 'out/app.css',
  loader: { '.css': 'css' },
});

const only = (result, ext) => {
  const files = result.outputFiles.filter((f) => f.path.endsWith(ext));
  if (files.length !== 1) throw new Error(`expected one ${ext} output, got ${files.length}`);
  return files[0].contents;
};
const hash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 12);

const jsBytes = only(js, '.js');
const cssBytes = only(css, '.css');
const jsName = `assets/app-${hash(jsBytes)}.js`;
const cssName = `assets/app-${hash(cssBytes)}.css`;

mkdirSync(assets, { recursive: true });
const keep = new Set([jsName, cssName].map((n) => n.slice('assets/'.length)));
for (const f of readdirSync(assets)) {
  if (!keep.has(f)) rmSync(join(assets, f), { force: true });
}
const writeIfChanged = (path, bytes) => {
  if (existsSync(path) && Buffer.compare(readFileSync(path), Buffer.from(bytes)) === 0) return;
  writeFileSync(path, bytes);
};
writeIfChanged(join(outDir, jsName), jsBytes);
writeIfChanged(join(outDir, cssName), cssBytes);
writeIfChanged(join(outDir, 'manifest.json'), `${JSON.stringify({ js: jsName, css: cssName }, null, 2)}\n`);

const kb = (n) => `${(n / 1024).toFixed(1)} KB`;
const gz = gzipSync(jsBytes, { level: 9 }).length + gzipSync(cssBytes, { level: 9 }).length;
console.log(`${jsName} ${kb(jsBytes.length)}, ${cssName} ${kb(cssBytes.length)}, gzip total ${kb(gz)}`);
if (gz > 150 * 1024) {
  console.error('bundle budget exceeded: first load must stay under 150 KB gzip');
  process.exit(1);
}
