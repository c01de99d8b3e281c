import assert from 'node:assert/strict';
import { once } from 'node:events';
import { afterEach, beforeEach, it } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { WebSocket } from 'ws';
import { createSampleApp } from './bootstrap.js';
import { LABEL_RULE } from './room-names.js';

interface Frame {
  event: string;
  data?: any;
}

const WAIT_MS = 3000;

/**
 * One browser tab as the tests see it: a real `ws` client that keeps every frame it receives, so
 * a test can await the next frame of one event while the server pushes its lists (`rooms`,
 * `people`) in between. Frames of one event are read in the order they arrived, so "the next
 * `said` is bob's" also proves that no other `said` came before it.
 */
class Tab {
  id = '';
  private readonly frames: Frame[] = [];
  private arrived: (() => void) | undefined;
  private readonly closed: Promise<unknown>;

  private constructor(private readonly ws: WebSocket) {
    ws.on('message', (raw) => {
      this.frames.push(JSON.parse(raw.toString()) as Frame);
      this.arrived?.();
    });
    this.closed = once(ws, 'close');
  }

  /** Connects, keeps the socket id from `welcome` and, given a name, says `hello` with it. */
  static async open(port: number, name?: string): Promise<Tab> {
    const tab = new Tab(new WebSocket(`ws://127.0.0.1:${port}/chat`));
    tab.id = (await tab.next('welcome')).id;
    if (name !== undefined) assert.deepEqual(await tab.request('hello', { name }, 'hello'), { id: tab.id, name });
    return tab;
  }

  send(event: string, data?: unknown): void {
    this.ws.send(JSON.stringify({ event, data }));
  }

  /** Sends `event` and returns the data of the next `reply` frame. */
  request(event: string, data: unknown, reply: string): Promise<any> {
    this.send(event, data);
    return this.next(reply);
  }

  /** The data of the next frame of `event`. An unexpected exception frame fails at once. */
  async next(event: string): Promise<any> {
    for (;;) {
      const index = this.frames.findIndex((frame) => frame.event === event);
      if (index >= 0) return this.frames.splice(index, 1)[0].data;
      const exception = this.frames.find((frame) => frame.event === 'exception');
      if (exception !== undefined) throw new Error(`waiting for "${event}", got ${JSON.stringify(exception)}`);
      await this.arrival(event);
    }
  }

  /** Reads `event` frames (each a whole list) until one equals `expected`. */
  async until(event: string, expected: unknown): Promise<void> {
    let last: unknown;
    try {
      while (!isDeepStrictEqual((last = await this.next(event)), expected));
    } catch (error) {
      throw new Error(`last "${event}": ${JSON.stringify(last)}, expected ${JSON.stringify(expected)}`, {
        cause: error,
      });
    }
  }

  async close(): Promise<void> {
    if (this.ws.readyState !== WebSocket.CLOSED) this.ws.close();
    await this.closed;
  }

  private arrival(event: string): Promise<void> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.arrived = undefined;
        reject(new Error(`no "${event}" frame within ${WAIT_MS} ms; unread: ${JSON.stringify(this.frames)}`));
      }, WAIT_MS);
      this.arrived = () => {
        clearTimeout(timer);
        this.arrived = undefined;
        resolve();
      };
    });
  }
}

let app: NestExpressApplication;
let base: string;
let port: number;
const tabs: Tab[] = [];

async function tab(name?: string): Promise<Tab> {
  const opened = await Tab.open(port, name);
  tabs.push(opened);
  return opened;
}

async function post(path: string, body: unknown): Promise<{ status: number; body: unknown }> {
  const response = await fetch(base + path, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const person = (tab: Tab, name: string) => ({ id: tab.id, name });
const byNameThenId = (a: { id: string; name: string }, b: { id: string; name: string }) =>
  a.name.localeCompare(b.name) || a.id.localeCompare(b.id);

beforeEach(async () => {
  app = await createSampleApp({ logger: false });
  await app.listen(0, '127.0.0.1');
  port = (app.getHttpServer().address() as { port: number }).port;
  base = `http://127.0.0.1:${port}`;
});

afterEach(async () => {
  await Promise.all(tabs.splice(0).map((opened) => opened.close()));
  await app.close();
});

it('serves the chat page, its script, the client module it imports and its stylesheet', async () => {
  for (const [path, type] of [
    ['/', /^text\/html/],
    ['/app.js', /javascript/],
    ['/client/index.js', /javascript/],
    ['/style.css', /^text\/css/],
  ] as const) {
    const response = await fetch(base + path);
    assert.equal(response.status, 200, path);
    assert.match(response.headers.get('content-type') ?? '', type, path);
    const text = await response.text();
    if (path === '/') assert.match(text, /<script type="module" src="app\.js"><\/script>/);
    if (path === '/app.js') assert.match(text, /^import \{ RoomsClient \} from '\/client\/index\.js';$/m);
    if (path === '/client/index.js') assert.match(text, /export class RoomsClient /);
  }
});

it('opens the chat from its own page, refuses a page of another site with 403', async () => {
  const opened: WebSocket[] = [];
  /** 101 once open, or the status the upgrade was refused with. */
  const open = async (origin: string) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/chat`, { headers: { Origin: origin } });
    opened.push(ws);
    ws.on('error', () => undefined); // a refused handshake reports one
    return Promise.race([
      once(ws, 'open').then(() => 101),
      once(ws, 'unexpected-response').then(([, response]) => (response as { statusCode: number }).statusCode),
    ]);
  };
  assert.equal(await open(base), 101);
  assert.equal(await open('https://evil.example'), 403);
  assert.equal(await open(`http://127.0.0.1:${port + 1}`), 403);
  for (const ws of opened) ws.terminate();
});

it('lets a tab join rooms only once it has a name, and never a private room', async () => {
  const ann = await tab();
  ann.send('join', { room: 'lobby' });
  assert.equal((await ann.next('exception')).message, 'Joining room "chat:lobby" was refused.');
  ann.send('follow', { project: '42' });
  assert.equal((await ann.next('exception')).message, 'Joining room "project:42" was refused.');
  ann.send('hello', { name: ' ' });
  assert.equal((await ann.next('exception')).message, `A name is ${LABEL_RULE}.`);

  assert.deepEqual(await ann.request('hello', { name: '  ann ' }, 'hello'), person(ann, 'ann'));
  assert.deepEqual(await ann.next('rooms'), [
    { name: 'lobby', members: 0, people: [] },
    { name: 'random', members: 0, people: [] },
  ]);
  ann.send('hello', { name: 'bob' });
  assert.equal((await ann.next('exception')).message, 'This tab already has a name.');
  ann.send('join', { room: 'user:bob' }); // every room a client names becomes chat:<name>
  assert.equal((await ann.next('exception')).message, `A room name is ${LABEL_RULE}.`);
  assert.equal(await ann.request('join', { room: 'lobby' }, 'joined'), 'lobby');
});

it('pushes the public rooms with who is in each (a line per person, with their tabs), and lists no private room', async () => {
  const [ann, bob, bobAgain] = await Promise.all([tab('ann'), tab('bob'), tab('bob')]);
  assert.equal(await ann.request('follow', { project: '42' }, 'following'), '42'); // project:42, not listed
  assert.equal(await ann.request('join', { room: 'lobby' }, 'joined'), 'lobby');
  assert.equal(await bob.request('join', { room: 'lobby' }, 'joined'), 'lobby');
  assert.equal(await bobAgain.request('join', { room: 'lobby' }, 'joined'), 'lobby');
  assert.equal(await bob.request('join', { room: 'games' }, 'joined'), 'games');
  // No socket id room, no user:ann, no project:42: only chat rooms, by name.
  const everyRoom = [
    { name: 'games', members: 1, people: [{ name: 'bob', tabs: 1 }] },
    {
      name: 'lobby',
      members: 3,
      people: [
        { name: 'ann', tabs: 1 },
        { name: 'bob', tabs: 2 },
      ],
    },
    { name: 'random', members: 0, people: [] },
  ];
  await ann.until('rooms', everyRoom);
  await bob.until('rooms', everyRoom);

  assert.equal(await bob.request('leave', { room: 'games' }, 'left'), 'games');
  await ann.until('rooms', [
    {
      name: 'lobby',
      members: 3,
      people: [
        { name: 'ann', tabs: 1 },
        { name: 'bob', tabs: 2 },
      ],
    },
    { name: 'random', members: 0, people: [] },
  ]);
  await bob.close(); // leaving on disconnect counts too
  await ann.until('rooms', [
    {
      name: 'lobby',
      members: 2,
      people: [
        { name: 'ann', tabs: 1 },
        { name: 'bob', tabs: 1 },
      ],
    },
    { name: 'random', members: 0, people: [] },
  ]);
  await bobAgain.close();
  await ann.until('rooms', [
    { name: 'lobby', members: 1, people: [{ name: 'ann', tabs: 1 }] },
    { name: 'random', members: 0, people: [] },
  ]);
});

it('pushes who is online, one entry per tab', async () => {
  const [ann, bob1, bob2] = await Promise.all([tab('ann'), tab('bob'), tab('bob')]);
  const everyone = [person(ann, 'ann'), person(bob1, 'bob'), person(bob2, 'bob')].sort(byNameThenId);
  await ann.until('people', everyone);
  await bob2.close();
  await ann.until(
    'people',
    everyone.filter(({ id }) => id !== bob2.id),
  );
});

it('chats in a room: everyone else in it gets the message, the sender does not get it back', async () => {
  const [ann, bob, carol] = await Promise.all([tab('ann'), tab('bob'), tab('carol')]);
  await ann.request('join', { room: 'lobby' }, 'joined');
  await bob.request('join', { room: 'lobby' }, 'joined');
  assert.deepEqual(await ann.next('user joined'), { ...person(bob, 'bob'), room: 'lobby' });

  ann.send('say', { room: 'lobby', text: 'hello' });
  assert.deepEqual(await bob.next('said'), { room: 'lobby', text: 'hello', from: person(ann, 'ann') });
  bob.send('say', { room: 'lobby', text: 'hi ann' });
  // ann's first `said` is bob's: her own "hello" never came back to her.
  assert.deepEqual(await ann.next('said'), { room: 'lobby', text: 'hi ann', from: person(bob, 'bob') });

  carol.send('say', { room: 'lobby', text: 'psst' });
  assert.equal((await carol.next('exception')).message, 'Join the room before talking in it.');
  await carol.request('join', { room: 'lobby' }, 'joined');
  ann.send('say', { room: 'lobby', text: 'welcome carol' });
  // carol's first `said`: nothing said before she joined reached her.
  assert.deepEqual(await carol.next('said'), { room: 'lobby', text: 'welcome carol', from: person(ann, 'ann') });

  await bob.request('leave', { room: 'lobby' }, 'left');
  for (const other of [ann, carol]) {
    assert.deepEqual(await other.next('user left'), { ...person(bob, 'bob'), rooms: ['lobby'] });
  }
});

it('sends a private message to one socket by its id', async () => {
  const [ann1, ann2, bob] = await Promise.all([tab('ann'), tab('ann'), tab('bob')]);
  bob.send('whisper', { to: ann1.id, text: 'just this tab' });
  assert.deepEqual(await ann1.next('whisper'), { text: 'just this tab', from: person(bob, 'bob') });
  bob.send('whisper', { to: ann2.id, text: 'now the other one' });
  // ann2's first whisper: the one for ann1 did not reach ann's other tab.
  assert.deepEqual(await ann2.next('whisper'), { text: 'now the other one', from: person(bob, 'bob') });

  ann1.send('whisper', { to: bob.id, text: 'thanks' });
  // bob's first whisper: his own two never came back to him.
  assert.deepEqual(await bob.next('whisper'), { text: 'thanks', from: person(ann1, 'ann') });

  bob.send('whisper', { to: 'user:ann', text: 'every tab?' });
  assert.equal((await bob.next('exception')).message, '"to" must be a socket id.');
});

it('notifies every tab of a person over HTTP, once each', async () => {
  const [ann1, ann2, bob] = await Promise.all([tab('ann'), tab('ann'), tab('bob')]);
  assert.deepEqual(await post('/users/ann/notify', { text: 'first' }), { status: 202, body: { delivered: 2 } });
  assert.deepEqual(await post('/users/ann/notify', { text: 'second' }), { status: 202, body: { delivered: 2 } });
  for (const annTab of [ann1, ann2]) {
    assert.deepEqual(await annTab.next('notification'), { text: 'first' });
    assert.deepEqual(await annTab.next('notification'), { text: 'second' }); // not "first" again
  }
  assert.deepEqual(await post('/users/bob/notify', { text: 'yours' }), { status: 202, body: { delivered: 1 } });
  assert.deepEqual(await bob.next('notification'), { text: 'yours' }); // ann's did not reach bob

  await ann2.close();
  await ann1.until('people', [person(ann1, 'ann'), person(bob, 'bob')]);
  assert.deepEqual(await post('/users/ann/notify', { text: 'third' }), { status: 202, body: { delivered: 1 } });
  assert.deepEqual(await ann1.next('notification'), { text: 'third' });

  assert.equal((await post('/users/%20/notify', { text: 'nobody' })).status, 400);
});

it('notifies the followers of a project over HTTP', async () => {
  const [ann, bob] = await Promise.all([tab('ann'), tab('bob')]);
  assert.equal(await ann.request('follow', { project: '42' }, 'following'), '42');
  assert.equal(await bob.request('follow', { project: '7' }, 'following'), '7');

  assert.deepEqual(await post('/projects/42/notify', { text: 'build passed' }), {
    status: 202,
    body: { delivered: 1 },
  });
  assert.deepEqual(await ann.next('project updated'), { id: '42', text: 'build passed' });
  assert.deepEqual(await post('/projects/7/notify', { text: 'v2 is out' }), { status: 202, body: { delivered: 1 } });
  // bob's first update is project 7's: project 42's went to its followers only.
  assert.deepEqual(await bob.next('project updated'), { id: '7', text: 'v2 is out' });

  assert.equal(await ann.request('unfollow', { project: '42' }, 'unfollowed'), '42');
  assert.deepEqual(await post('/projects/42/notify', { text: 'again' }), { status: 202, body: { delivered: 0 } });
  assert.equal((await post('/projects/a:b/notify', {})).status, 400);
});

it('tells the rooms a closing tab was in that "<name> left", once per socket', async () => {
  const [ann, bob, carol, dave] = await Promise.all([tab('ann'), tab('bob'), tab('carol'), tab('dave')]);
  for (const [member, rooms] of [
    [ann, ['lobby', 'random']],
    [bob, ['lobby', 'random']],
    [carol, ['random']],
    [dave, ['games']],
  ] as const) {
    for (const room of rooms) assert.equal(await member.request('join', { room }, 'joined'), room);
  }

  await ann.close();
  const annLeft = { ...person(ann, 'ann'), rooms: ['lobby', 'random'] };
  assert.deepEqual(await bob.next('user left'), annLeft); // bob shares both rooms: one frame
  assert.deepEqual(await carol.next('user left'), annLeft);

  await carol.request('leave', { room: 'random' }, 'left');
  // bob's next `user left` is carol's: ann's came once.
  assert.deepEqual(await bob.next('user left'), { ...person(carol, 'carol'), rooms: ['random'] });
  await bob.request('join', { room: 'games' }, 'joined');
  await bob.close();
  // dave's first `user left` is bob's: ann's never reached a room she was not in.
  assert.deepEqual(await dave.next('user left'), { ...person(bob, 'bob'), rooms: ['lobby', 'random', 'games'] });
});
