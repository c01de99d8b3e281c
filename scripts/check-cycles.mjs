// Fails (exit 1) when lib/ has an import cycle, type-only imports included, reachable from any
// entry point of the package's exports map (./dist/x.js is checked as lib/x.ts).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const entries = Object.values(manifest.exports).map((target) => {
  const file = typeof target === 'string' ? target : target.default;
  return file.replace(/^\.\/dist\//, 'lib/').replace(/\.js$/, '.ts');
});
const dpdm = spawnSync(
  'dpdm',
  ['--no-warning', '--no-tree', '--no-progress', '-T', 'false', '--exit-code', 'circular:1', ...entries],
  { stdio: 'inherit', shell: process.platform === 'win32' },
);
process.exit(dpdm.status ?? 1);
