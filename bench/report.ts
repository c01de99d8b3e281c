import type { Environment } from './environment.js';
import { SUBJECT } from './peers.js';
import { recoveryTargets, renderRecovery } from './recovery-report.js';
import type { Row } from './scenarios/processes.js';
import type { Sizes } from './sizes.js';
import { summarize, type Summary } from './stats.js';

export interface Results {
  quick: boolean;
  env: Environment;
  sizes: Sizes;
  rows: Row[];
  notes: string[];
  elapsedSeconds: number;
}

type Unit = 'us' | 'ns' | 'rate' | 'kib' | 'bytes' | 'pct';

interface Metric {
  key: string;
  label: string;
  unit: Unit;
  better: 'lower' | 'higher';
  /** Shown, but not compared (a measure of the machine, not of the peer). */
  noRatio?: boolean;
}

const FANOUT: Metric[] = [
  { key: 'dispatchUs', label: 'dispatch of one broadcast (µs)', unit: 'us', better: 'lower' },
  { key: 'libNsPerSocket', label: 'library CPU per socket, writes stubbed (ns)', unit: 'ns', better: 'lower' },
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'cpuNsPerDelivery', label: 'server CPU per delivery (ns)', unit: 'ns', better: 'lower' },
  {
    key: 'serverBusy',
    label: 'server on CPU during the burst (%; below 100: preempted or waiting)',
    unit: 'pct',
    better: 'higher',
    noRatio: true,
  },
];

const MEMORY: Metric[] = [
  { key: 'heapPerSocket', label: 'heap per idle socket (KiB)', unit: 'kib', better: 'lower' },
  { key: 'rssPerSocket', label: 'RSS per idle socket (KiB)', unit: 'kib', better: 'lower' },
];

const REGISTRY: Metric[] = [
  { key: 'joinLeavePerSec', label: 'join+leave per CPU-second', unit: 'rate', better: 'higher' },
  {
    key: 'smallRoomLibBroadcastsPerSec',
    label: 'small-room broadcasts per CPU-second, writes stubbed',
    unit: 'rate',
    better: 'higher',
  },
  { key: 'smallRoomBroadcastsPerSec', label: 'small-room broadcasts/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'smallRoomCpuUsPerBroadcast', label: 'server CPU per small-room broadcast (µs)', unit: 'us', better: 'lower' },
];

const REDIS: Metric[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'cpuNsPerDelivery', label: 'CPU of both servers per delivery (ns)', unit: 'ns', better: 'lower' },
  { key: 'localP50Us', label: 'latency p50, member on A (µs)', unit: 'us', better: 'lower' },
  { key: 'remoteP50Us', label: 'latency p50, member on B (µs)', unit: 'us', better: 'lower' },
  { key: 'remoteP99Us', label: 'latency p99, member on B (µs)', unit: 'us', better: 'lower' },
  { key: 'addedP50Us', label: 'added latency on B, p50 (µs)', unit: 'us', better: 'lower' },
  { key: 'addedP99Us', label: 'added latency on B, p99 (µs)', unit: 'us', better: 'lower' },
  { key: 'redisBytesA', label: 'Redis bytes received by A per broadcast', unit: 'bytes', better: 'lower' },
  { key: 'redisBytesB', label: 'Redis bytes received by B per broadcast', unit: 'bytes', better: 'lower' },
];

const PRESENCE: Metric[] = [
  { key: 'readUs', label: '`presence(room)` read on the replica (µs)', unit: 'us', better: 'lower' },
  { key: 'lagP50Ms', label: 'track on A to the event on B, p50 (ms)', unit: 'us', better: 'lower' },
  { key: 'lagP99Ms', label: 'track on A to the event on B, p99 (ms)', unit: 'us', better: 'lower' },
  { key: 'replicaBytesPerEntry', label: 'heap per entry, replica (B)', unit: 'bytes', better: 'lower' },
  { key: 'ownBytesPerEntry', label: 'heap per entry, own (A: entry and room join)', unit: 'bytes', better: 'lower' },
  { key: 'brokerBytesPerChange', label: 'Redis bytes received by B per change', unit: 'bytes', better: 'lower' },
];

function format(value: number, unit: Unit): string {
  if (!Number.isFinite(value)) return 'n/a';
  const grouped = (v: number, digits: number) =>
    v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  switch (unit) {
    case 'us':
      return grouped(value, value < 10 ? 2 : value < 100 ? 1 : 0);
    case 'ns':
    case 'bytes':
      return grouped(value, 0);
    case 'kib':
      return grouped(value / 1024, 2);
    case 'pct':
      return grouped(value * 100, 0);
    case 'rate':
      return value >= 1e6
        ? `${grouped(value / 1e6, 2)}M`
        : value >= 1e3
          ? `${grouped(value / 1e3, 1)}k`
          : grouped(value, 0);
  }
}

function cell(summary: Summary, unit: Unit): string {
  if (summary.n === 0) return 'n/a';
  const median = format(summary.median, unit);
  return summary.n === 1 ? median : `${median} (${format(summary.min, unit)}–${format(summary.max, unit)})`;
}

function ratioCell(summary: Summary): string {
  if (summary.n === 0) return 'n/a';
  const f = (v: number) => `${v.toFixed(2)}x`;
  return summary.n === 1 ? f(summary.median) : `${f(summary.median)} (${f(summary.min)}–${f(summary.max)})`;
}

class Table {
  constructor(private readonly rows: Row[]) {}

  peers(scenario: Row['scenario']): string[] {
    return [...new Set(this.rows.filter((row) => row.scenario === scenario).map((row) => row.peer))];
  }

  sizes(scenario: Row['scenario']): number[] {
    return [...new Set(this.rows.filter((row) => row.scenario === scenario).map((row) => row.size))].sort(
      (a, b) => a - b,
    );
  }

  /** run -> value */
  byRun(scenario: Row['scenario'], peer: string, size: number, key: string): Map<number, number> {
    const values = new Map<number, number>();
    for (const row of this.rows) {
      if (row.scenario === scenario && row.peer === peer && row.size === size) values.set(row.run, row.metrics[key]);
    }
    return values;
  }

  summary(scenario: Row['scenario'], peer: string, size: number, key: string): Summary {
    return summarize([...this.byRun(scenario, peer, size, key).values()]);
  }

  /** SUBJECT ÷ peer, taken run by run (both measured in the same run), then summarised. */
  ratio(scenario: Row['scenario'], peer: string, size: number, key: string): Summary {
    const subject = this.byRun(scenario, SUBJECT, size, key);
    const other = this.byRun(scenario, peer, size, key);
    const ratios: number[] = [];
    for (const [run, value] of subject) if (other.has(run)) ratios.push(value / other.get(run)!);
    return summarize(ratios);
  }
}

function markdownTable(header: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

function figures(table: Table, scenario: Row['scenario'], size: number, metrics: Metric[]): string {
  const peers = table.peers(scenario);
  return markdownTable(
    ['peer', ...metrics.map((metric) => metric.label)],
    peers.map((peer) => [
      peer === SUBJECT ? `**${peer}**` : peer,
      ...metrics.map((metric) => cell(table.summary(scenario, peer, size, metric.key), metric.unit)),
    ]),
  );
}

function ratios(table: Table, scenario: Row['scenario'], size: number, all: Metric[]): string {
  const metrics = all.filter((metric) => !metric.noRatio);
  const peers = table.peers(scenario).filter((peer) => peer !== SUBJECT);
  return markdownTable(
    [`${SUBJECT} ÷ peer`, ...metrics.map((metric) => `${metric.label} (${metric.better} is better)`)],
    peers.map((peer) => [peer, ...metrics.map((metric) => ratioCell(table.ratio(scenario, peer, size, metric.key)))]),
  );
}

interface Target {
  what: string;
  value: Summary;
  /** `x` for a ratio, a unit otherwise. */
  show: (v: number) => string;
  ok: (v: number) => boolean;
  goal: string;
}

function targets(table: Table): Target[] {
  const list: Target[] = [];
  const ratio = (v: number) => `${v.toFixed(2)}x`;
  const fanSize = Math.max(...table.sizes('fanout'));
  if (Number.isFinite(fanSize)) {
    const n = `N = ${fanSize.toLocaleString('en-US')}`;
    list.push(
      {
        what: `library CPU per socket vs raw-frame (${n})`,
        value: table.ratio('fanout', 'raw-frame', fanSize, 'libNsPerSocket'),
        show: ratio,
        ok: (v) => v <= 1.15,
        goal: '<= 1.15x',
      },
      {
        what: `deliveries/s vs raw-frame (${n})`,
        value: table.ratio('fanout', 'raw-frame', fanSize, 'deliveriesPerSec'),
        show: ratio,
        ok: (v) => v >= 0.95,
        goal: '>= 0.95x',
      },
      {
        what: `deliveries/s vs socket.io (${n})`,
        value: table.ratio('fanout', 'socket.io', fanSize, 'deliveriesPerSec'),
        show: ratio,
        ok: (v) => v >= 1.6,
        goal: '>= 1.6x',
      },
      {
        what: `deliveries/s without metrics vs with them scraped every second (${n})`,
        value: table.ratio('fanout', 'nestjs-rooms-metrics', fanSize, 'deliveriesPerSec'),
        show: ratio,
        ok: (v) => v <= 1.02,
        goal: '<= 1.02x',
      },
      {
        what: `library CPU per socket without metrics vs with them (${n})`,
        value: table.ratio('fanout', 'nestjs-rooms-metrics', fanSize, 'libNsPerSocket'),
        show: ratio,
        ok: (v) => v >= 0.98,
        goal: '>= 0.98x',
      },
      {
        what: `heap per idle socket (${n})`,
        value: table.summary('fanout', SUBJECT, fanSize, 'heapPerSocket'),
        show: (v) => `${format(v, 'kib')} KiB`,
        ok: (v) => v <= 3.5 * 1024,
        goal: '<= 3.5 KiB',
      },
    );
  }
  for (const size of table.sizes('registry')) {
    list.push(
      {
        what: 'join+leave vs socket.io',
        value: table.ratio('registry', 'socket.io', size, 'joinLeavePerSec'),
        show: ratio,
        ok: (v) => v >= 1.5,
        goal: '>= 1.5x',
      },
      {
        what: 'small-room broadcasts (writes stubbed) vs socket.io',
        value: table.ratio('registry', 'socket.io', size, 'smallRoomLibBroadcastsPerSec'),
        show: ratio,
        ok: (v) => v >= 1.5,
        goal: '>= 1.5x',
      },
      {
        what: 'small-room broadcasts (end to end) vs socket.io',
        value: table.ratio('registry', 'socket.io', size, 'smallRoomBroadcastsPerSec'),
        show: ratio,
        ok: (v) => v >= 1.5,
        goal: '>= 1.5x',
      },
    );
  }
  for (const size of table.sizes('redis')) {
    list.push({
      what: 'two servers over Redis, deliveries/s vs socket.io + redis-adapter',
      value: table.ratio('redis', 'socket.io', size, 'deliveriesPerSec'),
      show: ratio,
      ok: (v) => v >= 1.3,
      goal: '>= 1.3x',
    });
  }
  for (const size of table.sizes('presence')) {
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    list.push(
      {
        what: `presence(room) read, ${size.toLocaleString('en-US')} entries`,
        value: table.summary('presence', SUBJECT, size, 'readUs'),
        show: (v) => ms(v / 1000),
        ok: (v) => v < 1000,
        goal: '< 1 ms',
      },
      {
        what: 'presence convergence between two servers, p99',
        value: table.summary('presence', SUBJECT, size, 'lagP99Ms'),
        show: ms,
        ok: (v) => v <= 50,
        goal: '<= 50 ms',
      },
    );
  }
  return list.filter((target) => target.value.n > 0);
}

export function render(results: Results): string {
  const { env, sizes, rows } = results;
  const table = new Table(rows);
  const out: string[] = [];
  const n = (v: number) => v.toLocaleString('en-US');
  out.push(`# Benchmarks${results.quick ? ' (--quick: tiny sizes, one run; not for comparison)' : ''}`);
  out.push('');
  out.push(
    `Written by \`npm run bench${results.quick ? ' -- --quick' : ''}\` on ${env.date} ` +
      `(${Math.round(results.elapsedSeconds)} s). Every figure is the median of ${sizes.runs} run${sizes.runs > 1 ? 's' : ''}` +
      `${sizes.runs > 1 ? ', with the min–max of the runs in brackets' : ''}; every ratio is taken between two peers ` +
      'measured in the same run, then the median (min–max) of those ratios is shown.',
  );
  out.push('');
  for (const note of results.notes) out.push(`> ${note}`, '>');
  if (results.notes.length > 0) out.pop();
  out.push('');
  out.push('## Machine and versions');
  out.push('');
  out.push(
    markdownTable(
      ['', ''],
      [
        ['CPU', `${env.cpu}, ${env.cores} cores, ${env.memoryGiB} GiB`],
        ['kernel', env.kernel],
        ['node', env.node],
        ['pinning', env.pinned ? 'servers on core 0, clients and Redis on core 1 (`taskset`)' : 'none (no taskset)'],
        [
          'load average (1, 5, 15 min)',
          `${env.loadBefore.map((v) => v.toFixed(2)).join(', ')} before; ${(env.loadAfter ?? []).map((v) => v.toFixed(2)).join(', ')} after`,
        ],
        ['nestjs-rooms', `${env.versions['nestjs-rooms']} at ${env.commit}`],
        ...Object.entries(env.versions)
          .filter(([name]) => name !== 'nestjs-rooms')
          .map(([name, version]) => [name, version]),
      ],
    ),
  );
  out.push('');
  out.push('## Method');
  out.push('');
  out.push(
    [
      'Each peer runs in its own fresh server process (`node --expose-gc`), pinned to one core; the load',
      'clients run in a separate process on the other core, all speaking plain `ws` (Socket.IO’s',
      'engine.io/socket.io protocol is spoken by hand, so every server has the same client cost). Every',
      `broadcast is one \`tick\` event of about 100 bytes of JSON. Peers, in a rotating order each run:`,
      '',
      '- **raw-send**: `ws` server, `JSON.stringify` once, `ws.send(text)` per socket; nothing sent before the first broadcast.',
      '- **raw-send-joined**: the same after each join was answered with a `ws.send` (V8 then compiles `ws`’s send',
      '  path slower: the fair raw-send figure for a library that replies on join).',
      '- **raw-frame**: `ws` server writing one pre-built frame buffer (header and payload) to each TCP socket.',
      "- **socket.io**: Socket.IO 4, `transports: ['websocket']`, in-memory adapter, `io.to(room).emit`.",
      '- **nest-ws**: `@nestjs/platform-ws` and the usual loop over `server.clients` with `client.send` (no rooms).',
      '- **nestjs-rooms**: a Nest app with `RoomsModule.forRoot()`, `RoomsAdapter`, a `@JoinRoom` handler that',
      '  replies, and `rooms.to(room).emit` (the library as built from `lib/` at this commit).',
      '- **nestjs-rooms-recovery**: the same app with `recovery: {}` (connection recovery on, default limits):',
      '  every frame carries an offset and is held in the recovery log.',
      '- **nestjs-rooms-metrics** (fan-out only): the same server with `registerRoomsMetrics` on a prom-client',
      '  `Registry`, scraped (`registry.metrics()`) once a second; the stubbed stretch is shorter than a second, so',
      '  its library CPU per socket is the counting alone, and deliveries/s includes the scrapes.',
      '',
      `1. **Fan-out**, one room of ${sizes.fanout.map(n).join(' and ')} sockets.`,
      `   *Dispatch*: wall time of one synchronous broadcast with real writes (median of ${sizes.dispatches}, each`,
      '   delivered before the next). *Deliveries/s*: ' +
        `${sizes.burst} broadcasts back to back (the server yields to its event loop between them), from the first`,
      '   broadcast to the last delivery in the clients (monotonic clock shared by the processes); *server CPU per',
      '   delivery*: `process.cpuUsage()` of the server over the same stretch, and *server on CPU* that CPU time over',
      '   the wall time (well under 100 %: other processes had the core, or the server waited for the clients; read',
      '   deliveries/s with it). *Library CPU per socket*: every',
      '   socket’s `net.Socket#write` replaced by a no-op (a callback, where one is passed, runs on the next tick),',
      `   then ~${n(sizes.stubbedDeliveries)} deliveries (after a fifth as many to warm up), server CPU divided by deliveries.`,
      '2. **Idle memory**: `heapUsed` and RSS after `gc()`, with every socket connected and joined, minus the same',
      '   before the first connection, per socket.',
      `3. **Registry** (peers with rooms): ${n(sizes.registrySockets)} sockets, each in 5 of ${n(sizes.registrySockets)} rooms`,
      '   of 5 (socket *i* in rooms *i-4..i*). *Join+leave*: through each peer’s own API on its own socket objects',
      `   (\`socket.join(room)\` / \`socket.leave(room)\`), ${sizes.joinLeaveRounds} rounds of every socket joining one of`,
      `   ${n(Math.max(1, sizes.registrySockets / 5))} rooms then leaving it (after a fifth as many to warm up), per second of server CPU, timed in`,
      `   ${sizes.joinLeaveWindows} slices whose median is the run's figure. *Small-room broadcasts*: one broadcast to`,
      '   each room, end to end (first broadcast to last delivery) and, with writes stubbed, per second of server CPU.',
      `4. **Two servers over Redis** (a private \`redis-server\`): ${n(sizes.redisSockets)} sockets in one room, half on`,
      `   each server; server A broadcasts ${sizes.burst} times back to back (deliveries/s, CPU of both servers).`,
      `   *Latency*: ${sizes.probes} broadcasts ${sizes.probeIntervalMs} ms apart from A to a room with one member on A`,
      '   and one on B; *added* is B’s latency minus A’s for the same broadcast. *Redis bytes*: bytes each server',
      `   read from its Redis connections while A broadcast ${sizes.smallRoomRepeats} times to each of ${n(sizes.redisSmallRooms)} rooms of 5 whose members`,
      '   are all on one server (even rooms on A, odd rooms on B), per broadcast (heartbeats included).',
      '   Both servers share core 0. Socket.IO uses `createAdapter` (classic pub/sub) on ioredis.',
      `5. **Presence** (nestjs-rooms alone; \`--only=presence\`): two servers on a private Redis; A tracks`,
      `   ${n(sizes.presenceEntries)} of its sockets in one room (one key each, a small meta). *Read*: the median of 5`,
      `   batches of ${n(sizes.presenceReads)} \`presence(room)\` calls on B. *Lag*: ${n(sizes.presenceProbes)} tracks on A,`,
      `   ${sizes.probeIntervalMs} ms apart, to B's \`'presence'\` event. *Heap*: \`heapUsed\` after \`gc()\` before and after,`,
      '   per entry. *Redis bytes*: what B read from Redis per change (heartbeats included).',
    ].join('\n'),
  );
  out.push('');

  out.push('## 1. Fan-out to one room');
  for (const size of table.sizes('fanout')) {
    out.push('', `### ${n(size)} sockets`, '', figures(table, 'fanout', size, FANOUT), '');
    out.push(ratios(table, 'fanout', size, FANOUT));
  }
  out.push('', '## 2. Idle memory per connected socket');
  for (const size of table.sizes('fanout')) {
    out.push('', `### ${n(size)} sockets`, '', figures(table, 'fanout', size, MEMORY), '');
    out.push(ratios(table, 'fanout', size, MEMORY));
  }
  for (const size of table.sizes('registry')) {
    out.push('', `## 3. Registry: ${n(size)} sockets, ${n(size)} rooms of 5`, '');
    out.push(figures(table, 'registry', size, REGISTRY), '', ratios(table, 'registry', size, REGISTRY));
  }
  for (const size of table.sizes('redis')) {
    out.push('', `## 4. Two servers over Redis: ${n(size)} sockets`, '');
    out.push(figures(table, 'redis', size, REDIS), '', ratios(table, 'redis', size, REDIS));
  }

  for (const size of table.sizes('presence')) {
    out.push('', `## 5. Presence: a room of ${n(size)} entries, two servers over Redis (nestjs-rooms only)`, '');
    out.push(figures(table, 'presence', size, PRESENCE));
  }

  const recovery = renderRecovery(rows, sizes);
  if (recovery !== '') out.push(recovery);

  out.push('', '## Targets', '');
  out.push(
    markdownTable(
      ['target', 'goal', 'measured', 'met'],
      [...targets(table), ...recoveryTargets(rows)].map((target) => [
        target.what,
        target.goal,
        target.value.n === 1
          ? target.show(target.value.median)
          : `${target.show(target.value.median)} (${target.show(target.value.min)}–${target.show(target.value.max)})`,
        target.ok(target.value.median)
          ? target.ok(target.value.min) && target.ok(target.value.max)
            ? 'yes'
            : 'yes (median; not every run)'
          : 'no',
      ]),
    ),
  );
  out.push('');
  return out.join('\n');
}
