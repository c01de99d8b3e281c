import { HELD_FRAME_OVERHEAD } from '../lib/recovery/held-frames.js';
import type { Row } from './scenarios/processes.js';
import type { Sizes } from './sizes.js';
import { summarize, type Summary } from './stats.js';
import type { Target } from './target.js';

/**
 * The connection-recovery part of BENCHMARKS.md (./report.ts renders the rest): fan-out with
 * recovery on against off, the reconnect storm, and what waiting sessions and held frames cost.
 */

const ON = 'nestjs-rooms-recovery';
const OFF = 'nestjs-rooms';

function values(rows: Row[], scenario: Row['scenario'], key: string, peer = ON, size?: number): number[] {
  return rows
    .filter((row) => row.scenario === scenario && row.peer === peer && (size === undefined || row.size === size))
    .map((row) => row.metrics[key]);
}

/** Recovery on ÷ off, run by run (both measured in the same run). */
function onOverOff(rows: Row[], size: number, key: string): Summary {
  const off = new Map(
    rows
      .filter((row) => row.scenario === 'fanout' && row.peer === OFF && row.size === size)
      .map((row) => [row.run, row.metrics[key]]),
  );
  const ratios: number[] = [];
  for (const row of rows) {
    if (row.scenario !== 'fanout' || row.peer !== ON || row.size !== size || !off.has(row.run)) continue;
    ratios.push(row.metrics[key] / off.get(row.run)!);
  }
  return summarize(ratios);
}

const grouped = (v: number, digits: number) =>
  v.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
const fixed = (digits: number) => (v: number) => (Number.isFinite(v) ? grouped(v, digits) : 'n/a');
const auto = (v: number) => fixed(Math.abs(v) < 10 ? 2 : Math.abs(v) < 100 ? 1 : 0)(v);
const times = (v: number) => `${v.toFixed(2)}x`;
const pct = (v: number) => `${grouped(v * 100, 0)} %`;

function cell(summary: Summary, show: (v: number) => string): string {
  if (summary.n === 0) return 'n/a';
  return summary.n === 1 ? show(summary.median) : `${show(summary.median)} (${show(summary.min)}–${show(summary.max)})`;
}

function markdownTable(header: string[], body: string[][]): string {
  const line = (cells: string[]) => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...body.map(line)].join('\n');
}

function fanoutSizes(rows: Row[]): number[] {
  const on = new Set(rows.filter((r) => r.scenario === 'fanout' && r.peer === ON).map((r) => r.size));
  const off = new Set(rows.filter((r) => r.scenario === 'fanout' && r.peer === OFF).map((r) => r.size));
  return [...on].filter((size) => off.has(size)).sort((a, b) => a - b);
}

const FANOUT: Array<[string, string, string]> = [
  ['deliveriesPerSec', 'deliveries/s, end to end', 'higher'],
  ['libNsPerSocket', 'library CPU per socket, writes stubbed', 'lower'],
  ['cpuNsPerDelivery', 'server CPU per delivery', 'lower'],
  ['dispatchUs', 'dispatch of one broadcast', 'lower'],
  ['heapPerSocket', 'heap per idle socket', 'lower'],
];

/** `### `-level sections under one `## 6.` heading; empty when no recovery figure was taken. */
export function renderRecovery(rows: Row[], sizes: Sizes): string {
  const out: string[] = [];
  const n = (v: number) => v.toLocaleString('en-US');
  const fanout = fanoutSizes(rows);
  const storms = rows.filter((row) => row.scenario === 'storm');
  const memory = rows.filter((row) => row.scenario === 'recovery-memory');
  if (fanout.length === 0 && storms.length === 0 && memory.length === 0) return '';
  out.push('', '## 13. Connection recovery (nestjs-rooms with `recovery: {}`)');

  if (fanout.length > 0) {
    out.push('', '### Fan-out: recovery on ÷ off', '');
    out.push(
      'The fan-out of section 1, `nestjs-rooms-recovery` ÷ `nestjs-rooms`, run by run: every frame carries an',
      'offset and is held in the log; 1.00x is no cost.',
      '',
    );
    out.push(
      markdownTable(
        ['sockets', ...FANOUT.map(([, label, better]) => `${label} (${better} is better)`)],
        fanout.map((size) => [n(size), ...FANOUT.map(([key]) => cell(onOverOff(rows, size, key), times))]),
      ),
    );
  }

  if (storms.length > 0) {
    const size = storms[0].size;
    const s = (key: string, show: (v: number) => string = auto) => cell(summarize(values(rows, 'storm', key)), show);
    out.push('', `### Reconnect storm: ${n(size)} sockets drop at once`, '');
    out.push(
      [
        `One server (core 0) with recovery on; ${n(size)} sockets that drop and ${n(sizes.stormSteady)} that stay, socket`,
        `*i* in room \`s{i mod ${sizes.stormRooms}}\`; ${sizes.stormRate} broadcasts a second go round robin to the`,
        `${sizes.stormRooms} rooms (each a \`tick\` with its room's sequence number and its send time), ${n((sizes.stormRate * (size + sizes.stormSteady)) / sizes.stormRooms)}`,
        `deliveries a second. After ${sizes.stormWindowMs / 1000} s of warm-up and ${sizes.stormWindowMs / 1000} s measured calm, the client process of the`,
        `dropping sockets destroys every one's TCP socket in one loop (no close frame), and each reconnects at a`,
        `random moment within ${sizes.stormSpreadMs / 1000} s with \`?session=<token>&offset=<last offset received>\`. A recovered`,
        'socket’s replay is what its client reads between its session frame and a `mark` frame the gateway sends',
        'from `handleConnection` (which runs right after the replay, in the same turn). The stream runs on for',
        `${sizes.stormWindowMs / 1000} s after the last recovery, then stops, and every socket must reach its room's last tick.`,
        '*Lost*: ticks skipped in a socket’s sequence, plus sockets that never reached the last one. The',
        'sockets that stay have a client process of their own (both client processes share core 1); their',
        'latency is send time to arrival, in the calm window and from the drop to the last recovery. Heap',
        'and RSS peaks are read every 5 ms in the server.',
      ].join('\n'),
      '',
    );
    out.push(
      markdownTable(
        ['', 'median (min–max)'],
        [
          ['sockets not recovered', s('notRecovered', fixed(0))],
          ['handshakes tried again (refused or timed out, 250 ms later)', s('retries', fixed(0))],
          ['ticks lost / duplicated, dropped sockets', `${s('lost', fixed(0))} / ${s('duplicates', fixed(0))}`],
          [
            'ticks lost / duplicated, sockets that stayed',
            `${s('steadyLost', fixed(0))} / ${s('steadyDuplicates', fixed(0))}`,
          ],
          ['drop to the last socket recovered, replay read (ms)', s('recoverAllMs', fixed(0))],
          ['last reconnect started to the last socket recovered (ms)', s('afterLastReconnectMs', fixed(1))],
          [
            'one reconnect, handshake to replay read: p50 / p99 / max (ms)',
            `${s('reconnectP50Ms')} / ${s('reconnectP99Ms')} / ${s('reconnectMaxMs')}`,
          ],
          ['frames replayed', s('replayedFrames', fixed(0))],
          ['frames replayed per second (first reconnect to last recovery)', s('replayedPerSec', fixed(0))],
          ['server heap after gc, connected, before the stream (MiB)', s('baselineHeapMiB', fixed(1))],
          ['server heap peak, calm / storm (MiB)', `${s('calmPeakHeapMiB', fixed(1))} / ${s('peakHeapMiB', fixed(1))}`],
          ['server RSS peak in the storm (MiB)', s('peakRssMiB', fixed(0))],
          ['server on CPU, calm / storm', `${s('calmBusy', pct)} / ${s('stormBusy', pct)}`],
          [
            'latency of the sockets that stayed, calm: p50 / p99 (ms)',
            `${s('steadyCalmP50Ms')} / ${s('steadyCalmP99Ms')}`,
          ],
          [
            'latency of the sockets that stayed, storm: p50 / p99 (ms)',
            `${s('steadyStormP50Ms')} / ${s('steadyStormP99Ms')}`,
          ],
        ],
      ),
    );
  }

  if (memory.length > 0) {
    const size = memory[0].size;
    const m = (key: string, show: (v: number) => string = fixed(0)) =>
      cell(summarize(values(rows, 'recovery-memory', key)), show);
    out.push('', '### What recovery holds', '');
    out.push(
      [
        `One server with recovery on. ${n(size)} sockets connect, each in two rooms (\`s{i mod 100}\` and \`all\`), then`,
        'their client process destroys every TCP socket at once: heap after `gc()` with them all waiting,',
        `minus before the first connected, per session. Then ${n(sizes.heldFrames)} broadcasts of each frame size to \`all\`,`,
        'a room only waiting sessions are in (so the log holds every one): what the heap and the buffers',
        '(`arrayBuffers`) gained, per frame and per frame byte, and that memory over the bytes the log counts',
        `toward \`maxBufferedBytes\` (frame bytes plus ${HELD_FRAME_OVERHEAD} per frame).`,
      ].join('\n'),
      '',
    );
    const body: string[][] = [
      ['heap per connected socket, recovery on (bytes)', m('heapPerConnected')],
      ['heap per waiting session, two rooms (bytes)', m('heapPerSession')],
    ];
    for (const bytes of sizes.heldFrameSizes) {
      const frame = m(`frameSize${bytes}`);
      body.push(
        [`held frame of ${frame} bytes: memory per frame, heap + buffers (bytes)`, m(`perFrame${bytes}`)],
        [`held frame of ${frame} bytes: of which heap (bytes)`, m(`perFrameHeap${bytes}`)],
        [`held frame of ${frame} bytes: memory per frame byte`, m(`perByte${bytes}`, fixed(2))],
        [
          `held frame of ${frame} bytes: memory ÷ bytes counted toward \`maxBufferedBytes\``,
          m(`ofCounted${bytes}`, times),
        ],
      );
    }
    out.push(markdownTable(['', 'median (min–max)'], body));
  }
  return out.join('\n');
}

/** The recovery goals: fan-out on >= 0.95x off; in the storm every socket recovered, nothing lost or twice, the others served. */
export function recoveryTargets(rows: Row[]): Target[] {
  const list: Target[] = [];
  const size = Math.max(...fanoutSizes(rows));
  if (Number.isFinite(size)) {
    list.push({
      what: `deliveries/s with recovery on vs off (N = ${size.toLocaleString('en-US')})`,
      value: onOverOff(rows, size, 'deliveriesPerSec'),
      show: times,
      ok: (v) => v >= 0.95,
      goal: '>= 0.95x',
    });
  }
  const storm = (key: string) => summarize(values(rows, 'storm', key));
  const count = (v: number) => grouped(v, 0);
  const none = (v: number) => v === 0;
  const sum = (keys: string[]) => {
    const perRun = rows
      .filter((row) => row.scenario === 'storm')
      .map((row) => keys.reduce((t, k) => t + row.metrics[k], 0));
    return summarize(perRun);
  };
  if (storm('notRecovered').n > 0) {
    list.push(
      {
        what: 'reconnect storm: sockets not recovered',
        value: storm('notRecovered'),
        show: count,
        ok: none,
        goal: '0',
      },
      {
        what: 'reconnect storm: ticks lost or duplicated on recovered sockets',
        value: sum(['lost', 'duplicates']),
        show: count,
        ok: none,
        goal: '0',
      },
      {
        what: 'reconnect storm: ticks lost or duplicated on the sockets that stayed',
        value: sum(['steadyLost', 'steadyDuplicates']),
        show: count,
        ok: none,
        goal: '0',
      },
    );
  }
  return list;
}
