import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { BROKER_KINDS, missingProgram, type BrokerKind } from './brokers.js';
import { environment, ROOT } from './environment.js';
import { heapPerSocket } from './heap.js';
import { killChildren } from './ipc.js';
import { PEERS, SUBJECT } from './peers.js';
import { selfTimes } from './profile.js';
import { redisVersion } from './redis.js';
import { render, type Results } from './report.js';
import { burst, chatStorm, lowLoad } from './scenarios/coalescing.js';
import { fanout, heapSnapshots } from './scenarios/fanout.js';
import { brokerPair, brokerSpread, CLASSIC } from './scenarios/brokers.js';
import type { Row } from './scenarios/processes.js';
import { metricsInstructions } from './scenarios/metrics-instructions.js';
import { metricsPairs } from './scenarios/metrics.js';
import { chat } from './scenarios/chat.js';
import { instructions } from './scenarios/instructions.js';
import { presence } from './scenarios/presence.js';
import { redis } from './scenarios/redis.js';
import { recoveryMemory, storm } from './scenarios/recovery.js';
import { registry } from './scenarios/registry.js';
import { FULL, QUICK, type Sizes } from './sizes.js';

/**
 * `npm run bench` writes BENCHMARKS.md; `npm run bench -- --quick` runs tiny sizes once and
 * writes its report to the temp directory. Options:
 * `--only=fanout,registry,redis,presence,metrics,brokers,spread,chat,burst,chat-storm,low-load,storm,recovery-memory`
 * (and `instructions`, the stubbed fan-out under callgrind, only when named),
 * `--peers=a,b`, `--runs=N`, `--fanout=N,M` (fan-out room sizes), `--pairs=N` (of the metrics scenario), `--callgrind` (the metrics
 * scenario counted in instructions under valgrind instead of timed), `--out=FILE`, `--print` (the report on stdout too), `--profile`
 * (no report: CPU profiles of the stubbed fan-out, of nestjs-rooms and raw-frame or of the `--peers` named,
 * and of join+leave with their top self-time
 * functions, and what the heap holds per socket; `--only=stubbed,heap,join-leave` narrows it).
 */
const args = process.argv.slice(2);
const flag = (name: string) => args.includes(`--${name}`);
const option = (name: string) => args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3);

const quick = flag('quick');
const sizes: Sizes = { ...(quick ? QUICK : FULL) };
if (option('runs') !== undefined) sizes.runs = Number(option('runs'));
if (option('pairs') !== undefined) sizes.metricsPairs = Number(option('pairs'));
if (option('fanout') !== undefined) sizes.fanout = option('fanout')!.split(',').map(Number);
const only = new Set(
  (
    option('only') ??
    'fanout,registry,redis,presence,metrics,brokers,spread,chat,burst,chat-storm,low-load,storm,recovery-memory'
  ).split(','),
);
const chosen = option('peers')?.split(',');
const peers = PEERS.filter((peer) => chosen === undefined || chosen.includes(peer.name));
const out = option('out') ?? (quick ? join(tmpdir(), 'nestjs-rooms-BENCHMARKS.quick.md') : join(ROOT, 'BENCHMARKS.md'));

const t0 = Date.now();
const log = (message: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(1)}s] ${message}\n`);

function brief(row: Row): string {
  return Object.entries(row.metrics)
    .map(([key, value]) => `${key}=${value >= 100 ? Math.round(value) : value.toFixed(2)}`)
    .join(' ');
}

/** The peers in a different order each run, so that drift on a shared machine hits each one alike. */
function rotated<T>(list: readonly T[], run: number): T[] {
  const k = run % Math.max(1, list.length);
  return [...list.slice(k), ...list.slice(0, k)];
}

async function measure(run: number, label: string, task: () => Promise<Row>, rows: Row[]): Promise<void> {
  record(run, label, await task(), rows);
}

/** Keeps a measured row and logs it. */
function record(run: number, label: string, row: Row, rows: Row[]): void {
  rows.push(row);
  log(`run ${run + 1}/${sizes.runs} ${label}: ${brief(row)}`);
}

function printProfile(title: string, path: string): void {
  console.log(`\n${title}\nprofile: ${path}\n self ms  share  function`);
  for (const entry of selfTimes(path, 20)) {
    const share = `${(entry.share * 100).toFixed(1)}%`;
    console.log(`${entry.ms.toFixed(1).padStart(8)} ${share.padStart(6)}  ${entry.name} ${entry.where}`);
  }
}

/** Profiles (V8 sampler) the measured stretch of the CPU-per-socket and join+leave figures. */
async function profile(): Promise<void> {
  const dir = join(ROOT, '.artifacts', 'bench');
  mkdirSync(dir, { recursive: true });
  const size = Math.max(...sizes.fanout);
  // Ten times the usual stretch, for enough samples; a short burst, for time.
  const profiled = { ...sizes, stubbedDeliveries: sizes.stubbedDeliveries * 10, burst: 20 };
  const part = (name: string) => option('only') === undefined || only.has(name);
  // nestjs-rooms and raw frames by default; `--peers=` profiles the peers it names (the recovery one, say).
  const stubbed = chosen === undefined ? peers.filter((p) => p.name === SUBJECT || p.name === 'raw-frame') : peers;
  for (const peer of stubbed.filter(() => part('stubbed'))) {
    const path = join(dir, `${peer.name}.stubbed.cpuprofile`);
    const row = await fanout(peer, size, 0, profiled, path);
    const ns = row.metrics.libNsPerSocket.toFixed(0);
    printProfile(`${peer.name}, ${size} sockets, writes stubbed: ${ns} ns per socket`, path);
  }
  for (const peer of peers.filter((p) => part('heap') && (p.name === SUBJECT || p.name === 'raw-send-joined'))) {
    const [before, after] = ['before', 'after'].map((when) => join(dir, `${peer.name}.${when}.heapsnapshot`));
    const sockets = 2000;
    await heapSnapshots(peer, sockets, sizes, before, after);
    const groups = heapPerSocket(before, after, sockets);
    const total = groups.reduce((sum, group) => sum + group.bytes, 0);
    console.log(`\n${peer.name}: heap added per socket (${sockets} sockets): ${total.toFixed(0)} bytes`);
    console.log(' bytes/socket  objects/socket  what');
    for (const group of groups.slice(0, 20)) {
      const perSocket = group.bytes.toFixed(0).padStart(13);
      console.log(`${perSocket}  ${group.count.toFixed(2).padStart(14)}  ${group.what}`);
    }
  }
  for (const peer of peers.filter((p) => part('join-leave') && p.rooms)) {
    const path = join(dir, `${peer.name}.join-leave.cpuprofile`);
    const row = await registry(peer, 0, profiled, path);
    const rate = Math.round(row.metrics.joinLeavePerSec);
    printProfile(`${peer.name}, join+leave: ${rate} per CPU-second (profiler on)`, path);
  }
}

async function main(): Promise<void> {
  if (flag('profile')) return profile();
  const started = Date.now();
  const env = environment();
  const rows: Row[] = [];
  const notes: string[] = [];
  const hasRedis = redisVersion() !== undefined;
  if (!env.pinned) notes.push('`taskset` was not found: processes were not pinned to cores.');
  if (only.has('redis') && !hasRedis) notes.push('`redis-server` was not found: the Redis scenario was skipped.');
  if (only.has('presence') && !hasRedis) notes.push('`redis-server` was not found: the presence scenario was skipped.');
  // The broker scenarios: nestjs-rooms on each broker installed here, Socket.IO's classic adapter when Redis is.
  const brokers = BROKER_KINDS.filter((kind) => missingProgram(kind) === undefined).map((name) => ({ name }));
  const spread: Array<{ name: BrokerKind | typeof CLASSIC }> = [...brokers];
  if (hasRedis) spread.push({ name: CLASSIC });
  for (const kind of BROKER_KINDS) {
    const missing = missingProgram(kind);
    if (missing !== undefined && (only.has('brokers') || only.has('spread'))) {
      notes.push(`\`${missing}\` was not found: the broker scenarios ran without ${kind}.`);
    }
  }
  if (quick)
    notes.push('--quick runs every peer at once on tiny sizes: it checks that the harness works, nothing more.');
  else {
    notes.push(
      'The load averages before and after the run are shown under "Machine and versions"; ratios taken ' +
        'within a run are steadier than absolute figures.',
    );
  }
  notes.push(
    `The registry scenario uses ${sizes.registrySockets.toLocaleString('en-US')} sockets, each in 5 rooms, for ` +
      `${sizes.registrySockets.toLocaleString('en-US')} rooms of 5: 50,000 connections would need more file ` +
      'descriptors than a process may open here (hard limit 20,000).',
  );

  // --quick checks that everything still runs, not how fast: its peers run side by side.
  const each = async <P extends { name: string }>(
    list: P[],
    label: string,
    task: (peer: P, run: number) => Promise<Row>,
    run: number,
  ) => {
    const one = (peer: P) => measure(run, `${label} ${peer.name}`, () => task(peer, run), rows);
    if (quick) await Promise.all(list.map(one));
    else for (const peer of rotated(list, run)) await one(peer);
  };
  for (let run = 0; run < sizes.runs; run++) {
    if (only.has('fanout')) {
      for (const size of sizes.fanout) {
        await each(peers, `fanout N=${size}`, (peer) => fanout(peer, size, run, sizes), run);
      }
    }
    if (only.has('registry')) {
      await each(
        peers.filter((p) => p.rooms),
        'registry',
        (peer) => registry(peer, run, sizes),
        run,
      );
    }
    if (only.has('redis') && hasRedis) {
      await each(
        peers.filter((p) => p.redis),
        'redis',
        (peer) => redis(peer, run, sizes),
        run,
      );
    }
    const coalescing = peers.filter((p) => p.coalescing === true);
    if (only.has('burst')) await each(coalescing, 'burst', (peer) => burst(peer, run, sizes), run);
    if (only.has('chat-storm')) await each(coalescing, 'chat storm', (peer) => chatStorm(peer, run, sizes), run);
    if (only.has('low-load')) {
      // Side by side: every peer up at once, taking turns in a shuffled order (./scenarios/coalescing.ts).
      for (const row of await lowLoad(coalescing, run, sizes)) record(run, `low load ${row.peer}`, row, rows);
    }
    // nestjs-rooms alone: the peers have no presence to compare with.
    if (only.has('presence') && hasRedis) await measure(run, 'presence', () => presence(run, sizes), rows);
    if (only.has('brokers')) await each(brokers, 'brokers', (broker) => brokerPair(broker.name, run, sizes), run);
    if (only.has('spread')) await each(spread, 'spread', (broker) => brokerSpread(broker.name, run, sizes), run);
    // The sample app, nestjs-rooms only: no peer runs it.
    if (only.has('chat')) await measure(run, 'chat', () => chat(run, sizes), rows);
    // Connection recovery (nestjs-rooms alone, recovery on): a reconnect storm, and what recovery holds.
    if (only.has('storm')) await measure(run, 'storm', () => storm(run, sizes), rows);
    if (only.has('recovery-memory')) await measure(run, 'recovery-memory', () => recoveryMemory(run, sizes), rows);
    if (only.has('instructions')) {
      for (const size of sizes.fanout)
        await each(peers, `instructions ${size}`, (peer) => instructions(peer, size, run, sizes), run);
    }
  }
  // Its own pairs of stretches in one process, not runs: the collector on vs off, both nestjs-rooms.
  const subject = PEERS.find((peer) => peer.name === SUBJECT)!;
  const metricsSize = Math.max(...sizes.fanout);
  if (only.has('metrics')) {
    const count = flag('callgrind') ? metricsInstructions : metricsPairs;
    const pairs = await count(subject, metricsSize, sizes, log);
    rows.push(...pairs);
    for (const row of pairs) log(`metrics pair ${row.run + 1}/${sizes.metricsPairs} ${row.peer}: ${brief(row)}`);
  }
  rows.sort((a, b) => PEERS.findIndex((p) => p.name === a.peer) - PEERS.findIndex((p) => p.name === b.peer));

  env.loadAfter = loadavg();
  const results: Results = { quick, env, sizes, rows, notes, elapsedSeconds: (Date.now() - started) / 1000 };
  const report = render(results);
  writeFileSync(out, report);
  const dir = join(ROOT, '.artifacts', 'bench');
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, quick ? 'results.quick.json' : 'results.json'), JSON.stringify(results, null, 2));
  if (flag('print')) process.stdout.write(report);
  const broken = rows.filter((row) => Object.values(row.metrics).some((value) => !Number.isFinite(value)));
  for (const row of broken) log(`no figure for ${row.scenario} ${row.peer}: ${brief(row)}`);
  const expected =
    sizes.runs *
      ((only.has('fanout') ? peers.length * sizes.fanout.length : 0) +
        (only.has('registry') ? peers.filter((p) => p.rooms).length : 0) +
        (only.has('redis') && hasRedis ? peers.filter((p) => p.redis).length : 0) +
        (only.has('presence') && hasRedis ? 1 : 0) +
        (only.has('brokers') ? brokers.length : 0) +
        (only.has('spread') ? spread.length : 0) +
        (only.has('chat') ? 1 : 0) +
        ['burst', 'chat-storm', 'low-load'].filter((name) => only.has(name)).length *
          peers.filter((p) => p.coalescing === true).length +
        (only.has('storm') ? 1 : 0) +
        (only.has('recovery-memory') ? 1 : 0) +
        (only.has('instructions') ? peers.length * sizes.fanout.length : 0)) +
    (only.has('metrics') ? 2 * sizes.metricsPairs : 0);
  console.log(`bench${quick ? ' --quick' : ''}: ${rows.length}/${expected} peer runs measured, report in ${out}`);
  if (broken.length > 0 || rows.length !== expected) throw new Error('some figures are missing');
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    killChildren();
    process.exit(1);
  },
);
