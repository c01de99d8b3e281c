/**
 * The published types: packs the library as `npm pack` does for a release and reads the `.d.ts`
 * files from the tarball. Internals (members tagged `@internal`) must not reach users' editors, and
 * what is left must still type-check on its own: a declaration stripped while another one still
 * names it would break every user's `tsc` that does not skip library checks.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import ts from 'typescript';

const exec = promisify(execFile);
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const NPM = process.platform === 'win32' ? 'npm.cmd' : 'npm';

/** Internal members of `RoomSocket` that the library itself uses across its files. */
const ROOM_SOCKET_INTERNALS = [
  'gone',
  'pendingFrames',
  'server',
  'roomSlot',
  'selectionMark',
  'closeReason',
  'pingPayload',
  'badFrameWindow',
  'deflate',
  'pendingAcks',
  'handlerEvents',
  'handlerCallbacks',
  'disconnectCallbacks',
  'openReplies',
];

/** Public members `RoomSocket` may declare: the contract's (both waves), and `ws`'s `send`, which it overrides. */
const ROOM_SOCKET_API = new Set([
  'id',
  'rooms',
  'data',
  'handshake',
  'join',
  'leave',
  'to',
  'in',
  'except',
  'broadcast',
  'sendEvent',
  'disconnect',
  'send',
  'recovered',
  'track',
  'untrack',
]);

/** What `nestjs-rooms` exports as values, and what only as types. */
const VALUE_EXPORTS = [
  'RoomsModule',
  'RoomService',
  'RoomsAdapter',
  'RoomSocket',
  'BroadcastOperator',
  'JoinRoom',
  'LeaveRoom',
  'BroadcastTo',
  'OnDisconnecting',
  'OnDisconnect',
  'OnServerEvent',
  'RoomsError',
  'InMemoryBroker',
];
const TYPE_EXPORTS = [
  'RemoteSocket',
  'RoomsModuleOptions',
  'RecoveryOptions',
  'RoomsOptionsFactory',
  'RoomsAdapterOptions',
  'MessageParser',
  'ParsedFrame',
  'Broker',
  'BrokerConnection',
  'BrokerListener',
  'InMemoryBrokerOptions',
  'BroadcastToOptions',
  'RoomsSelector',
  'RoomEvents',
  'ServiceEvents',
  'PresenceEvents',
  'PresenceMeta',
  'PresenceEntries',
  'PresenceDiff',
  'PresenceOptions',
  'ServerEventHandler',
  'DisconnectReason',
  'Handshake',
  'EventsMap',
  'DefaultEvents',
  'EventName',
  'EventArgs',
  'RoomsMetricsSnapshot',
  'HistogramSnapshot',
  'DisconnectReasonLabel',
  'BroadcastOriginLabel',
  'DropReasonLabel',
  'BadFrameKind',
  'RequestKindLabel',
  'RecoveryResultLabel',
];

/** The types among them that need type arguments. */
const GENERIC_ARGS: Record<string, string> = {
  EventName: 'EventName<{ a: 1 }>',
  EventArgs: "EventArgs<{ a: 1 }, 'a'>",
};

/** Whether a module export is an `export type { ... }` (or `export { type ... }`) re-export. */
function isTypeOnlyExport(symbol: ts.Symbol): boolean {
  const declaration = symbol.declarations?.[0];
  return declaration !== undefined && ts.isExportSpecifier(declaration)
    ? declaration.isTypeOnly || declaration.parent.parent.isTypeOnly
    : false;
}

/**
 * A user's file: every export in use, and every internal member of `RoomSocket` read behind
 * `@ts-expect-error`, so that the check fails as soon as one of them is visible again.
 */
const CONSUMER = `
import {
  ${VALUE_EXPORTS.join(',\n  ')},
  type ${TYPE_EXPORTS.join(',\n  type ')},
} from 'nestjs-rooms';
import { RedisBroker, type RedisBrokerOptions } from 'nestjs-rooms/redis';
import { RoomsEmitter, type RoomsEmitterOptions, type EmitterOperator } from 'nestjs-rooms/emitter';
import { NatsBroker, type NatsBrokerOptions } from 'nestjs-rooms/nats';
import { PostgresBroker, type PostgresBrokerOptions } from 'nestjs-rooms/postgres';
import { registerRoomsMetrics, type RoomsMetricsSource } from 'nestjs-rooms/prometheus';
import { observeRoomsMetrics } from 'nestjs-rooms/otel';
import { Registry } from 'prom-client';
import { metrics } from '@opentelemetry/api';

export const values = [${VALUE_EXPORTS.join(', ')}, RedisBroker, RoomsEmitter, NatsBroker, PostgresBroker] as const;
export type Types = [${TYPE_EXPORTS.map((name) => GENERIC_ARGS[name] ?? name).join(', ')}, RedisBrokerOptions, RoomsEmitterOptions, NatsBrokerOptions, PostgresBrokerOptions];

export async function worker(emitter: RoomsEmitter<{ done: { id: number } }>): Promise<EmitterOperator<{ done: { id: number } }>> {
  const operator = emitter.to('room').except('other');
  await operator.emit('done', { id: 1 });
  // @ts-expect-error the payload is typed
  void operator.emit('done', 'not an object');
  // @ts-expect-error EmitterOperator is a type only: emitters start operators
  void new EmitterOperator();
  await emitter.serverSideEmit('cleared', 1);
  return operator;
}

export function exported(rooms: RoomService): Array<() => void> {
  const source: RoomsMetricsSource = rooms;
  const snapshot: RoomsMetricsSnapshot = rooms.metrics();
  void snapshot.dropped.slow_consumer;
  return [registerRoomsMetrics(new Registry(), source), observeRoomsMetrics(metrics.getMeter('app'), rooms)];
}

export async function handler(socket: RoomSocket, rooms: RoomService): Promise<RemoteSocket[]> {
  await socket.join('room');
  socket.to('room').emit('event', socket.rooms.size);
  socket.sendEvent('hi', socket.handshake.address);
  ${ROOM_SOCKET_INTERNALS.map((name) => `// @ts-expect-error internal\n  void socket.${name};`).join('\n  ')}
  // @ts-expect-error RemoteSocket is a type only: users get instances from fetchSockets()
  void new RemoteSocket();
  return rooms.to('room').except(socket.id).fetchSockets();
}
`;

/**
 * The members a class declares in a `.d.ts` as tsc writes it (one member per line, four spaces
 * in), with whether each is `private`. Comments are dropped first.
 */
function classMembers(dts: string, className: string): Array<{ name: string; isPrivate: boolean }> {
  const code = dts.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const start = code.search(new RegExp(`export declare class ${className}\\b[^{]*\\{`));
  assert.ok(start !== -1, `class ${className} is declared`);
  const end = code.indexOf('\n}', start);
  const members: Array<{ name: string; isPrivate: boolean }> = [];
  for (const line of code.slice(code.indexOf('{', start) + 1, end).split('\n')) {
    const match = /^ {4}((?:(?:private|protected|public|static|readonly|get|set)\s+)*)([\w$]+)/.exec(line);
    if (match === null) continue;
    members.push({ name: match[2]!, isPrivate: /\b(private|protected)\b/.test(match[1]!) });
  }
  return members;
}

function publicMembers(dts: string, className: string): string[] {
  return classMembers(dts, className)
    .filter((member) => !member.isPrivate)
    .map((member) => member.name);
}

describe('the published types', () => {
  let work = '';
  let pkg = '';
  let declarations: string[] = [];
  const dts = (path: string) => readFile(join(pkg, 'dist', path), 'utf8');

  before(async () => {
    work = await mkdtemp(join(tmpdir(), 'nestjs-rooms-types-'));
    // `prepack` builds dist/ as for a release.
    const { stdout } = await exec(NPM, ['pack', '--json', '--pack-destination', work], { cwd: ROOT });
    const [packed] = JSON.parse(stdout) as Array<{ filename: string; files: Array<{ path: string }> }>;
    const app = join(work, 'app');
    await mkdir(join(app, 'node_modules'), { recursive: true });
    await exec('tar', ['-xzf', join(work, packed!.filename), '-C', join(app, 'node_modules')]);
    pkg = join(app, 'node_modules', 'nestjs-rooms');
    await rename(join(app, 'node_modules', 'package'), pkg);
    declarations = packed!.files.map((file) => file.path).filter((path) => path.endsWith('.d.ts'));
    // The package's own imports (@nestjs/*, ws, ioredis, @nats-io/transport-node, rxjs) resolve to this project's.
    await symlink(join(ROOT, 'node_modules'), join(work, 'node_modules'), 'dir');
    await writeFile(join(app, 'consumer.ts'), CONSUMER);
  });

  after(async () => {
    if (work !== '') await rm(work, { recursive: true, force: true });
  });

  it('RoomSocket declares none of its internal members, only its API', async () => {
    const members = publicMembers(await dts('socket/room-socket.d.ts'), 'RoomSocket');
    assert.deepEqual(
      ROOM_SOCKET_INTERNALS.filter((name) => members.includes(name)),
      [],
      'internal members in RoomSocket',
    );
    assert.deepEqual(
      members.filter((name) => !ROOM_SOCKET_API.has(name)),
      [],
      'public RoomSocket members that the contract does not name',
    );
    for (const name of ['id', 'rooms', 'data', 'handshake', 'join', 'leave', 'to', 'sendEvent', 'disconnect']) {
      assert.ok(members.includes(name), `RoomSocket.${name} is declared`);
    }
  });

  it('RemoteSocket has no public constructor and is exported as a type only', async () => {
    const remote = await dts('socket/remote-socket.d.ts');
    assert.ok(!publicMembers(remote, 'RemoteSocket').includes('constructor'), 'no public constructor');
    assert.doesNotMatch(remote, /RoomsServer/, 'the server behind it is not named');
    assert.match(await dts('index.d.ts'), /export type \{ RemoteSocket \}/);
  });

  it('the emitter and the Redis broker name no Nest, rxjs or reflect-metadata, in any type they reach', async () => {
    const seen = new Set<string>();
    const queue = ['emitter/index.d.ts', 'redis/index.d.ts'];
    for (let file = queue.pop(); file !== undefined; file = queue.pop()) {
      if (seen.has(file)) continue;
      seen.add(file);
      const source = await dts(file);
      for (const [, specifier] of source.matchAll(/(?:from |import\()['"]([^'"]+)['"]/g)) {
        if (specifier!.startsWith('.'))
          queue.push(posix.join(posix.dirname(file), specifier!.replace(/\.js$/, '.d.ts')));
        else assert.doesNotMatch(specifier!, /^(@nestjs\/|rxjs|reflect-metadata)/, `${file} imports ${specifier}`);
      }
    }
    assert.ok(seen.has('emitter/rooms-emitter.d.ts') && seen.has('cluster/broker.d.ts'));
  });

  it('the operators and the service do not show how they are built', async () => {
    for (const [file, className] of [
      ['rooms.service.d.ts', 'RoomService'],
      ['broadcast/broadcast-operator.d.ts', 'BroadcastOperator'],
      ['emitter/emitter-operator.d.ts', 'EmitterOperator'],
    ] as const) {
      const source = await dts(file);
      assert.ok(!publicMembers(source, className).includes('constructor'), `${className} has no public constructor`);
      assert.doesNotMatch(source, /RoomsServer/, `${className} does not name the server`);
    }
  });

  it('a user file importing every export type-checks against the packed types, library checks on', () => {
    for (const entry of [
      'dist/index.d.ts',
      'dist/redis/index.d.ts',
      'dist/emitter/index.d.ts',
      'dist/nats/index.d.ts',
      'dist/postgres/index.d.ts',
      'dist/prometheus/index.d.ts',
      'dist/otel/index.d.ts',
    ]) {
      assert.ok(declarations.includes(entry), `${entry} is packed`);
    }
    const options: ts.CompilerOptions = {
      strict: true,
      noEmit: true,
      skipLibCheck: false,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      experimentalDecorators: true,
      types: ['node'],
      typeRoots: [join(ROOT, 'node_modules', '@types')],
    };
    const consumer = join(work, 'app', 'consumer.ts');
    // Every packed declaration file, not only those the entries reach, must stand on its own.
    const program = ts.createProgram([consumer, ...declarations.map((path) => join(pkg, path))], options);
    const diagnostics = ts.getPreEmitDiagnostics(program);
    const host: ts.FormatDiagnosticsHost = {
      getCanonicalFileName: (name) => name,
      getCurrentDirectory: () => work,
      getNewLine: () => '\n',
    };
    assert.equal(ts.formatDiagnostics(diagnostics, host), '', 'no type errors');

    // Every contract export is there, the values as values and the types as types.
    const checker = program.getTypeChecker();
    const entry = program.getSourceFile(join(pkg, 'dist', 'index.d.ts'));
    assert.ok(entry !== undefined, 'the package entry is dist/index.d.ts');
    const exported = new Map(
      checker.getExportsOfModule(checker.getSymbolAtLocation(entry)!).map((symbol) => [symbol.name, symbol]),
    );
    for (const name of [...VALUE_EXPORTS, ...TYPE_EXPORTS]) assert.ok(exported.has(name), `${name} is exported`);
    for (const name of TYPE_EXPORTS) assert.ok(isTypeOnlyExport(exported.get(name)!), `${name} is a type only`);
    for (const name of VALUE_EXPORTS) assert.ok(!isTypeOnlyExport(exported.get(name)!), `${name} is a value`);
  });
});
