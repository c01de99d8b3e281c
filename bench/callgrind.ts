import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** `valgrind --tool=callgrind` around a bench server, its counts written to `dir`; `cache` adds the cache simulator. */
export function callgrindWrapper(dir: string, cache = false): string[] {
  return [
    'valgrind',
    '--tool=callgrind',
    `--callgrind-out-file=${dir}/cg.%p.out`,
    // V8 writes and rewrites its machine code.
    '--smc-check=all-non-file',
    '--dump-instr=no',
    '--compress-strings=no',
    ...(cache ? ['--cache-sim=yes'] : []),
  ];
}

/** Zeroes callgrind's counters in process `pid`. */
export function zeroCounts(pid: number): void {
  execFileSync('callgrind_control', ['-z', String(pid)], { stdio: 'ignore' });
}

/** Dumps callgrind's counters in process `pid` and returns each event's total since the last zero (`Ir`: instructions). */
export function dumpCounts(pid: number, dir: string): Record<string, number> {
  execFileSync('callgrind_control', ['-d', String(pid)], { stdio: 'ignore' });
  const dumps = readdirSync(dir)
    .filter((name) => name.startsWith(`cg.${pid}.out.`))
    .sort((a, b) => Number(a.split('.').pop()) - Number(b.split('.').pop()));
  const text = readFileSync(join(dir, dumps.at(-1)!), 'utf8');
  const events = /^events: (.+)$/m.exec(text);
  const totals = /^(?:totals|summary): ([\d ]+)$/m.exec(text);
  if (events === null || totals === null) throw new Error(`no totals in ${dumps.at(-1)}`);
  const names = events[1].trim().split(/\s+/);
  const values = totals[1].trim().split(/\s+/).map(Number);
  return Object.fromEntries(names.map((name, i) => [name, values[i] ?? 0]));
}
