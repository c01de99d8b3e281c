import type { Environment } from './environment.js';
import { CLASSIC } from './scenarios/brokers.js';
import { SUBJECT } from './peers.js';
import { recoveryTargets, renderRecovery } from './recovery-report.js';
import type { Row } from './scenarios/processes.js';
import type { Sizes } from './sizes.js';
import type { Target } from './target.js';
import { SCRAPE_EVERY_PASSES } from './scenarios/metrics-instructions.js';
import { COLLECTOR_ON } from './scenarios/metrics.js';
import { quantile, summarize, type Summary } from './stats.js';

export interface Results {
  quick: boolean;
  env: Environment;
  sizes: Sizes;
  rows: Row[];
  notes: string[];
  elapsedSeconds: number;
}

type Unit = 'us' | 'ns' | 'rate' | 'kib' | 'bytes' | 'pct' | 'count';

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

/** The metrics scenario's figures, each half of a pair; the scrape's own CPU is on the collector's half only. */
const METRICS: Metric[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'cpuNsPerDelivery', label: 'server CPU per delivery (ns)', unit: 'ns', better: 'lower' },
  { key: 'libNsPerSocket', label: 'library CPU per socket, writes stubbed (ns)', unit: 'ns', better: 'lower' },
];

const PRESENCE: Metric[] = [
  { key: 'readUs', label: '`presence(room)` read on the replica (µs)', unit: 'us', better: 'lower' },
  { key: 'lagP50Ms', label: 'track on A to the event on B, p50 (ms)', unit: 'us', better: 'lower' },
  { key: 'lagP99Ms', label: 'track on A to the event on B, p99 (ms)', unit: 'us', better: 'lower' },
  { key: 'replicaBytesPerEntry', label: 'heap per entry, replica (B)', unit: 'bytes', better: 'lower' },
  { key: 'ownBytesPerEntry', label: 'heap per entry, own (A: entry and room join)', unit: 'bytes', better: 'lower' },
  { key: 'brokerBytesPerChange', label: 'Redis bytes received by B per change', unit: 'bytes', better: 'lower' },
];

const BROKERS: Metric[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'cpuNsPerDelivery', label: 'CPU of both servers per delivery (ns)', unit: 'ns', better: 'lower' },
  { key: 'localP50Us', label: 'latency p50, member on A (µs)', unit: 'us', better: 'lower' },
  { key: 'remoteP50Us', label: 'latency p50, member on B (µs)', unit: 'us', better: 'lower' },
  { key: 'addedP50Us', label: 'added latency on B, p50 (µs)', unit: 'us', better: 'lower' },
  { key: 'addedP99Us', label: 'added latency on B, p99 (µs)', unit: 'us', better: 'lower' },
  { key: 'brokerInBytes', label: 'bytes into the broker per broadcast', unit: 'bytes', better: 'lower' },
  { key: 'brokerOutBytes', label: 'bytes out of the broker per broadcast', unit: 'bytes', better: 'lower' },
];

const SPREAD: Metric[] = [
  {
    key: 'strayMessagesPerK',
    label: 'messages for rooms without a member here, per server per 1,000 broadcasts',
    unit: 'us',
    better: 'lower',
  },
  {
    key: 'strayBytesPerBroadcast',
    label: 'their bytes (payload and channel) per server per broadcast',
    unit: 'us',
    better: 'lower',
  },
  {
    key: 'memberMessagesPerK',
    label: 'messages for rooms with a member here, per server per 1,000 broadcasts',
    unit: 'us',
    better: 'lower',
    noRatio: true,
  },
  {
    key: 'wireBytesPerBroadcast',
    label: 'bytes each server read from the broker per broadcast (all traffic)',
    unit: 'bytes',
    better: 'lower',
  },
  {
    key: 'bytesPerMessage',
    label: 'bytes of one message (payload and channel)',
    unit: 'bytes',
    better: 'lower',
  },
];

const CHAT: Metric[] = [
  { key: 'latencyP50Us', label: 'message latency p50 (µs)', unit: 'us', better: 'lower' },
  { key: 'latencyP99Us', label: 'message latency p99 (µs)', unit: 'us', better: 'lower' },
  { key: 'messagesPerSec', label: 'messages/s sent', unit: 'rate', better: 'higher' },
  { key: 'deliveriesPerSec', label: 'deliveries/s', unit: 'rate', better: 'higher' },
  { key: 'deliveredShare', label: 'messages delivered (% of sent × other members)', unit: 'pct', better: 'higher' },
  { key: 'closedWhileChatting', label: 'clients closed by the server while chatting', unit: 'bytes', better: 'lower' },
  { key: 'serverCpu', label: 'server CPU while chatting (% of a core)', unit: 'pct', better: 'lower' },
  { key: 'cpuUsPerMessage', label: 'server CPU per message (µs)', unit: 'us', better: 'lower' },
  { key: 'joinMs', label: 'all clients in (ms)', unit: 'us', better: 'lower' },
  { key: 'joinCpuMsPerClient', label: 'server CPU per client in (ms)', unit: 'us', better: 'lower' },
  { key: 'leaveMs', label: 'all clients out (ms)', unit: 'us', better: 'lower' },
  { key: 'leaveCpuMsPerClient', label: 'server CPU per client out (ms)', unit: 'us', better: 'lower' },
  { key: 'heapPerClient', label: 'heap per chatting client', unit: 'bytes', better: 'lower' },
];

const BURST: Metric[] = [
  { key: 'cpuNsPerDelivery', label: 'server CPU per delivery (ns)', unit: 'ns', better: 'lower' },
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'serverBusy', label: 'server on CPU (%)', unit: 'pct', better: 'higher', noRatio: true },
];

const CHAT_STORM: Metric[] = [
  { key: 'deliveriesPerSec', label: 'deliveries/s, end to end', unit: 'rate', better: 'higher' },
  { key: 'cpuNsPerDelivery', label: 'server CPU per delivery (ns)', unit: 'ns', better: 'lower' },
  { key: 'serverBusy', label: 'server on CPU (%)', unit: 'pct', better: 'higher', noRatio: true },
];

const INSTRUCTIONS: Metric[] = [
  { key: 'irPerDelivery', label: 'instructions per delivery', unit: 'count', better: 'lower' },
  { key: 'd1MissesPerDelivery', label: 'first-level data-cache misses per delivery', unit: 'count', better: 'lower' },
  { key: 'llMissesPerDelivery', label: 'last-level data-cache misses per delivery', unit: 'count', better: 'lower' },
];

const LOW_LOAD: Metric[] = [
  { key: 'latencyP50Us', label: 'latency p50, server to receiver (µs)', unit: 'us', better: 'lower' },
  { key: 'latencyP99Us', label: 'latency p99, server to receiver (µs)', unit: 'us', better: 'lower' },
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
    case 'count':
      return grouped(value, value < 100 ? 2 : 0);
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

  /** `of` ÷ peer, taken run by run (both measured in the same run), then summarised. */
  ratio(scenario: Row['scenario'], peer: string, size: number, key: string, of = SUBJECT): Summary {
    return summarize(this.ratios(scenario, peer, size, key, of));
  }

  /** `of` ÷ peer of each run (or pair) that measured both. */
  ratios(scenario: Row['scenario'], peer: string, size: number, key: string, of = SUBJECT): number[] {
    const subject = this.byRun(scenario, of, size, key);
    const other = this.byRun(scenario, peer, size, key);
    const ratios: number[] = [];
    for (const [run, value] of subject) if (other.has(run)) ratios.push(value / other.get(run)!);
    return ratios.filter(Number.isFinite);
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

/**
 * The metrics scenario: each figure with the collector off and on (median of the pairs), and the
 * off ÷ on ratio of each pair, as its median, interquartile range and min–max.
 */
function metricsSection(table: Table, size: number): string {
  if (table.summary('metrics', SUBJECT, size, 'irPerDelivery').n > 0) return instructionsSection(table, size);
  const pct = (v: number) => `${v.toFixed(3)}`;
  const body = METRICS.map((metric) => {
    const ratios = table.ratios('metrics', COLLECTOR_ON, size, metric.key);
    const x = (v: number) => `${v.toFixed(3)}x`;
    return [
      metric.label,
      cell(table.summary('metrics', SUBJECT, size, metric.key), metric.unit),
      cell(table.summary('metrics', COLLECTOR_ON, size, metric.key), metric.unit),
      x(quantile(ratios, 0.5)),
      `${x(quantile(ratios, 0.25))}–${x(quantile(ratios, 0.75))}`,
      `${x(Math.min(...ratios))}–${x(Math.max(...ratios))}`,
    ];
  });
  const scrape = table.summary('metrics', COLLECTOR_ON, size, 'scrapeUs');
  return [
    markdownTable(
      [
        'figure',
        'collector off',
        'collector on, scraped every second',
        'off ÷ on, median of the pairs',
        'interquartile range',
        'min–max',
      ],
      body,
    ),
    '',
    `One scrape (\`registry.metrics()\`, every \`nestjs_rooms_*\` metric): ${cell(scrape, 'us')} µs of server CPU ` +
      `(median of the pairs, min–max), ${pct(scrape.median / 1e4)} % of a core at one scrape a second.`,
  ].join('\n');
}

/** The metrics scenario counted under callgrind (`--callgrind`): instructions per delivery and per scrape. */
function instructionsSection(table: Table, size: number): string {
  const ratios = table.ratios('metrics', COLLECTOR_ON, size, 'irPerDelivery');
  const x = (v: number) => `${v.toFixed(4)}x`;
  const ir = (v: number) => v.toLocaleString('en-US', { maximumFractionDigits: 1 });
  const cellIr = (summary: Summary) => `${ir(summary.median)} (${ir(summary.min)}–${ir(summary.max)})`;
  const off = table.summary('metrics', SUBJECT, size, 'irPerDelivery');
  const on = table.summary('metrics', COLLECTOR_ON, size, 'irPerDelivery');
  const scrape = table.summary('metrics', COLLECTOR_ON, size, 'irPerScrape');
  return [
    markdownTable(
      [
        'instructions (callgrind)',
        'collector off',
        'collector on (registered)',
        'off ÷ on, median of the pairs',
        'min–max',
      ],
      [
        [
          'per delivery, writes stubbed',
          cellIr(off),
          cellIr(on),
          x(quantile(ratios, 0.5)),
          `${x(Math.min(...ratios))}–${x(Math.max(...ratios))}`,
        ],
      ],
    ),
    '',
    `The collector's stretches were scraped every ${SCRAPE_EVERY_PASSES} passes (about ten times a second's rate ` +
      `with writes stubbed): at one scrape a second, the difference is a tenth. One scrape alone: ` +
      `${ir(scrape.median)} instructions, the library's own work for ${ir(scrape.median / off.median)} deliveries.`,
  ].join('\n');
}

/** Every other peer ÷ `base`, one row each (the broker scenarios, whose peers are brokers). */
function ratiosTo(table: Table, scenario: Row['scenario'], size: number, all: Metric[], base: string): string {
  const metrics = all.filter((metric) => !metric.noRatio);
  const peers = table.peers(scenario).filter((peer) => peer !== base);
  return markdownTable(
    [`peer ÷ ${base}`, ...metrics.map((metric) => `${metric.label} (${metric.better} is better)`)],
    peers.map((peer) => [
      peer,
      ...metrics.map((metric) => ratioCell(table.ratio(scenario, base, size, metric.key, peer))),
    ]),
  );
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
        what: `heap per idle socket (${n})`,
        value: table.summary('fanout', SUBJECT, fanSize, 'heapPerSocket'),
        show: (v) => `${format(v, 'kib')} KiB`,
        ok: (v) => v <= 3.5 * 1024,
        goal: '<= 3.5 KiB',
      },
    );
  }
  for (const size of table.sizes('metrics')) {
    const n = `N = ${size.toLocaleString('en-US')}`;
    const quartiles = (key: string): Summary => {
      const ratios = table.ratios('metrics', COLLECTOR_ON, size, key);
      return {
        median: quantile(ratios, 0.5),
        min: quantile(ratios, 0.25),
        max: quantile(ratios, 0.75),
        n: ratios.length,
      };
    };
    const within2 = (v: number) => v >= 0.98 && v <= 1.02;
    const spread = 'interquartile range of the pairs';
    list.push(
      {
        what: `deliveries/s, collector off ÷ on (scraped every second), paired (${n})`,
        value: quartiles('deliveriesPerSec'),
        spread,
        show: (v) => `${v.toFixed(3)}x`,
        ok: within2,
        goal: '0.98x–1.02x',
      },
      {
        what: `library CPU per socket, collector off ÷ on, paired (${n})`,
        value: quartiles('libNsPerSocket'),
        spread,
        show: (v) => `${v.toFixed(3)}x`,
        ok: within2,
        goal: '0.98x–1.02x',
      },
    );
  }
  if (Number.isFinite(fanSize)) {
    const n = `N = ${fanSize.toLocaleString('en-US')}`;
    list.push(
      {
        what: `back to back: server CPU per delivery, coalescing on vs off (${n})`,
        value: table.ratio('fanout', 'nestjs-rooms-uncoalesced', fanSize, 'cpuNsPerDelivery'),
        show: ratio,
        ok: (v) => v <= 1.05,
        goal: '<= 1.05x (unchanged)',
      },
      {
        what: `back to back: deliveries/s, coalescing on vs off (${n})`,
        value: table.ratio('fanout', 'nestjs-rooms-uncoalesced', fanSize, 'deliveriesPerSec'),
        show: ratio,
        ok: (v) => v >= 0.95,
        goal: '>= 0.95x (unchanged)',
      },
    );
  }
  for (const size of table.sizes('burst')) {
    list.push({
      what: 'burst: server CPU per delivery vs raw-frame',
      value: table.ratio('burst', 'raw-frame', size, 'cpuNsPerDelivery'),
      show: ratio,
      ok: (v) => v <= 0.4,
      goal: '<= 0.4x',
    });
  }
  for (const size of table.sizes('chat-storm')) {
    list.push(
      {
        what: 'chat storm: deliveries/s vs socket.io',
        value: table.ratio('chat-storm', 'socket.io', size, 'deliveriesPerSec'),
        show: ratio,
        ok: (v) => v >= 2,
        goal: '>= 2x',
      },
      {
        what: 'chat storm: server CPU per delivery vs raw-frame',
        value: table.ratio('chat-storm', 'raw-frame', size, 'cpuNsPerDelivery'),
        show: ratio,
        ok: (v) => v <= 0.6,
        goal: '<= 0.6x',
      },
    );
  }
  for (const size of table.sizes('low-load')) {
    for (const [key, label] of [
      ['latencyP50Us', 'p50'],
      ['latencyP99Us', 'p99'],
    ]) {
      list.push({
        what: `low load: latency ${label} vs raw-frame`,
        value: table.ratio('low-load', 'raw-frame', size, key),
        show: ratio,
        ok: (v) => v <= 1.05,
        goal: '<= 1.05x',
      });
    }
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
  for (const size of table.sizes('spread')) {
    for (const broker of table.peers('spread').filter((peer) => peer !== CLASSIC)) {
      list.push({
        what: `${broker}: messages for rooms without a member, vs ${CLASSIC} (publish to every server)`,
        value: table.ratio('spread', CLASSIC, size, 'strayMessagesPerK', broker),
        show: (v) => `${(v * 100).toFixed(1)} %`,
        ok: (v) => v <= 0.05,
        goal: '<= 5 %',
      });
    }
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
        [
          'pinning',
          env.pinned
            ? 'servers on core 0, clients and the broker (Redis, NATS, Postgres) on core 1 (`taskset`)'
            : 'none (no taskset)',
        ],
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
      '- **raw-frame**: `ws` server writing one pre-built frame buffer (header and payload) to each TCP socket;',
      '  it answers each join with one `ws.send`, as the library peers do (the kernel writes more cheaply to a',
      '  connection its server has never written to: 11 % less time in the native write at low load).',
      "- **socket.io**: Socket.IO 4, `transports: ['websocket']`, in-memory adapter, `io.to(room).emit`.",
      '- **nest-ws**: `@nestjs/platform-ws` and the usual loop over `server.clients` with `client.send` (no rooms).',
      '- **nestjs-rooms**: a Nest app with `RoomsModule.forRoot()`, `RoomsAdapter`, a `@JoinRoom` handler that',
      '  replies, and `rooms.to(room).emit` (the library as built from `lib/` at this commit).',
      '- **nestjs-rooms-recovery**: the same app with `recovery: {}` (connection recovery on, default limits):',
      '  every frame carries an offset and is held in the recovery log.',
      '- **nestjs-rooms-metrics** (fan-out only): the same server with `registerRoomsMetrics` on a prom-client',
      '  `Registry`, scraped (`registry.metrics()`) once a second; the stubbed stretch is shorter than a second, so',
      '  its library CPU per socket is the counting alone, and deliveries/s includes the scrapes. Two processes',
      '  differ by more than the collector costs: the paired measurement of what it costs is section 6.',
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
      `   before them, per socket; "before" is after ${n(sizes.warmSockets)} other sockets have connected and joined a room of their`,
      '   own (they stay), so that what a server builds once at its first connections (the compiled code and type',
      '   feedback of its connection path) is not spread over the sockets measured.',
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
      `6. **Metrics** (nestjs-rooms alone; \`--only=metrics\`, \`--pairs=N\`): one server process with ${n(Math.max(...sizes.fanout))} sockets in`,
      `   one room, and ${sizes.metricsPairs} pairs of stretches in it: one with \`registerRoomsMetrics\` on a prom-client \`Registry\``,
      '   scraped once a second, one with it unregistered, the collector’s half first in every other pair (after one',
      `   warm-up pair). *Deliveries/s* and *server CPU per delivery*: a burst of ${sizes.metricsBurst} broadcasts each, as in 1.`,
      `   *Library CPU per socket*: then, writes stubbed, ${n(sizes.metricsStubbedDeliveries)} deliveries each (seconds, so scrapes`,
      '   fall in them). The ratio is taken within each pair (stretches seconds apart, the same sockets and',
      '   compiled code), then summarised. *Scrape*: server CPU of one `registry.metrics()`, the median of 5',
      '   slices of 200 back to back, once per pair after all of them (then a `gc()`, so that no stretch collects',
      '   their garbage). `--callgrind` counts the same under `valgrind --tool=callgrind` instead: instructions',
      `   per delivery over stretches of ${n(sizes.metricsInstructionDeliveries)} deliveries, the collector off, or on and scraped every ${SCRAPE_EVERY_PASSES} passes, and per scrape.`,
      `7. **Brokers, two servers** (nestjs-rooms on each broker installed; \`--only=brokers\`): a private`,
      '   `redis-server`, `nats-server` or throwaway Postgres cluster (`initdb` + `pg_ctl`; the test helpers of',
      '   test/support, on free ports) pinned to core 1, and the figures of scenario 4 on it. *Bytes into / out of',
      '   the broker*: bytes the two servers wrote to / read from their connections to the broker over the burst, per',
      "   broadcast, counted on the servers' TCP sockets (`bytesWritten` / `bytesRead`): the broker's own traffic on",
      '   the wire, protocol framing, replies and heartbeats included, the same measure for the three.',
      `8. **Brokers, ${n(sizes.spreadServers)} servers** (\`--only=spread\`): ${n(sizes.spreadSockets)} sockets in rooms of ${sizes.spreadRoomSize}, each socket on a`,
      '   server drawn at random (the same draw for every broker of a run; the servers share core 0, the clients and',
      `   the broker core 1); every room has one sending server, which broadcasts to it ${sizes.spreadRepeats} times, all servers at once.`,
      '   Each server counts what its broker subscriber hands over (a counting wrapper around the broker in the bench',
      '   server, not in lib/; for Socket.IO, the adapter’s subscriber client), by whether it has a member of the room:',
      '   messages and their bytes (payload and channel name), averaged over the servers; and the bytes it read from',
      "   its broker connections on the wire, everything included. Socket.IO's classic adapter (`@socket.io/redis-adapter`",
      '   `createAdapter`: pub/sub, every server gets every broadcast) on Redis is measured in the same run; the target is',
      '   at most 5 % of its messages for rooms where a server has no member.',
      `9. **The sample chat app** (\`--only=chat\`): \`sample/\` as \`npm start\` runs it (in memory, its room and people`,
      `   lists, presence and metrics included), and ${n(sizes.chatClients)} scripted clients speaking its page's protocol:`,
      `   each waits for \`welcome\`, says \`hello\` with its own name and joins one of ${n(sizes.chatRooms)} rooms (100 on their`,
      `   way in at a time); then random clients \`say\` in their rooms, ${n(sizes.chatRate)} messages a second in all for`,
      `   ${sizes.chatSeconds} s, each received by every other member (latency from the sender's clock to each receiver's);`,
      '   then every client closes. Server CPU is the sample process’s `process.cpuUsage()` over each phase.',
      `10. **Burst** (\`--only=burst\`): one room of ${n(sizes.burstSockets)} sockets; the server makes`,
      `   ${sizes.burstPerTurn} broadcasts in one synchronous block, then yields, ${sizes.burstTurns} times (after 2 blocks to warm up);`,
      '   server CPU over the deliveries, first broadcast to last delivery. **nestjs-rooms-uncoalesced** is the',
      '   nestjs-rooms server with `coalesceWrites: false`.',
      `11. **Chat storm** (\`--only=chat-storm\`): ${n(sizes.chatSockets)} sockets in rooms of ${sizes.chatRoomSize}; the clients`,
      '   send `say` from each socket in turn, which the server broadcasts to the sender’s room, the sender',
      `   excluded, with ${n(sizes.chatWindow)} messages in flight at most (a message is done when all its deliveries are in),`,
      `   ${n(sizes.chatMessages)} messages measured after a fifth as many: the server is kept as busy as it (or the`,
      '   client core) allows, and *server on CPU* shows how busy it was. The raw-frame server answers `say` with',
      '   one pre-built frame written to each TCP socket but the sender’s; Socket.IO with `socket.to(room).emit`;',
      '   nestjs-rooms with a `@SubscribeMessage` handler calling `socket.to(room).emit`.',
      `12. **Low load** (\`--only=low-load\`): one room of ${n(sizes.lowLoadSockets)} sockets, ${sizes.lowLoadProbes} broadcasts`,
      `   ${sizes.lowLoadIntervalMs} ms apart; latency from the server’s clock before the broadcast to each receiver’s`,
      '   on arrival (the monotonic clock the processes share). Each broadcast comes',
      `   ${sizes.lowLoadIntervalMs} ms after the previous one's writes were handed to the kernel (inline or at the end of the turn), so`,
      '   every peer idles as long between broadcasts. The peers run side by side: all their servers and clients',
      `   are up at once and they take turns, ${sizes.lowLoadBlock} broadcasts each, in an order shuffled every round, so that what`,
      '   else the machine does in a stretch lands on each alike and no peer always follows the same other one;',
      '   the first two broadcasts of each turn (the server was idle) and the first round of turns are not counted.',
      `14. **The fan-out counted** (\`--only=instructions\`, not in the default set): each peer's server under`,
      '   `valgrind --tool=callgrind --cache-sim=yes`, one room, every kernel write stubbed, a stretch of',
      `   ${n(sizes.instructionDeliveries)} deliveries after as many to warm up: instructions and simulated data-cache misses per delivery,`,
      '   the whole process counted. Counts do not swing with the machine as timings here do.',
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

  for (const size of table.sizes('metrics')) {
    const pairs =
      table.byRun('metrics', COLLECTOR_ON, size, 'irPerScrape').size ||
      table.byRun('metrics', COLLECTOR_ON, size, 'deliveriesPerSec').size;
    out.push(
      '',
      `## 6. Metrics: the Prometheus collector on vs off, ${n(size)} sockets, ${pairs} pairs in one process`,
      '',
    );
    out.push(metricsSection(table, size));
  }
  for (const size of table.sizes('brokers')) {
    out.push('', `## 7. Brokers side by side: two servers, ${n(size)} sockets (nestjs-rooms)`, '');
    out.push(figures(table, 'brokers', size, BROKERS), '', ratiosTo(table, 'brokers', size, BROKERS, 'redis'));
  }
  for (const size of table.sizes('spread')) {
    const servers = `${n(sizes.spreadServers)} servers, ${n(size)} sockets in rooms of ${sizes.spreadRoomSize}`;
    out.push('', `## 8. Brokers: ${servers} placed at random`, '');
    out.push(figures(table, 'spread', size, SPREAD), '', ratiosTo(table, 'spread', size, SPREAD, CLASSIC));
  }
  for (const size of table.sizes('chat')) {
    out.push(
      '',
      `## 9. The sample chat app: ${n(size)} clients in ${n(sizes.chatRooms)} rooms (nestjs-rooms only)`,
      '',
    );
    out.push(figures(table, 'chat', size, CHAT));
  }
  for (const size of table.sizes('burst')) {
    const title = `## 10. Burst: ${sizes.burstPerTurn} broadcasts in one synchronous block to a room of ${n(size)}`;
    out.push('', title, '', figures(table, 'burst', size, BURST), '', ratios(table, 'burst', size, BURST));
  }
  for (const size of table.sizes('chat-storm')) {
    const title = `## 11. Chat storm: ${n(size)} sockets in rooms of ${n(sizes.chatRoomSize)}, every socket talking to its room`;
    out.push('', title, '', figures(table, 'chat-storm', size, CHAT_STORM), '');
    out.push(ratios(table, 'chat-storm', size, CHAT_STORM));
  }
  for (const size of table.sizes('low-load')) {
    const title = `## 12. Low load: one broadcast every ${sizes.lowLoadIntervalMs} ms to a room of ${n(size)}`;
    out.push('', title, '', figures(table, 'low-load', size, LOW_LOAD), '', ratios(table, 'low-load', size, LOW_LOAD));
  }
  for (const size of table.sizes('instructions')) {
    const title = `## 14. The fan-out counted: ${n(size)} sockets, writes stubbed, under callgrind (\`--only=instructions\`)`;
    out.push('', title, '', figures(table, 'instructions', size, INSTRUCTIONS), '');
    out.push(ratios(table, 'instructions', size, INSTRUCTIONS));
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
          : `${target.show(target.value.median)} (${target.spread === undefined ? '' : `${target.spread}: `}${target.show(target.value.min)}–${target.show(target.value.max)})`,
        target.ok(target.value.median)
          ? target.ok(target.value.min) && target.ok(target.value.max)
            ? 'yes'
            : target.spread === undefined
              ? 'yes (median; not every run)'
              : 'yes (median; not the whole interquartile range)'
          : 'no',
      ]),
    ),
  );
  out.push('');
  return out.join('\n');
}
