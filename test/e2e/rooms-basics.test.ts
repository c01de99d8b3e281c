import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';

describe('rooms through decorators and RoomService', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(ChatModule);
  });
  after(() => app.close());

  it('gives each socket a 22-character id and its own room before handleConnection', async () => {
    const a = await TestClient.connect(app.url('/chat'), { welcome: false });
    const welcome = await a.next();
    assert.equal(welcome.event, 'welcome');
    assert.match(welcome.data.id, /^[A-Za-z0-9_-]{22}$/);
    assert.deepEqual(welcome.data.rooms, [welcome.data.id]);
    await a.close();
  });

  it('joins a room before the reply, and broadcasts reach members only, sender excluded', async () => {
    const [a, b, c] = await Promise.all([1, 2, 3].map(() => TestClient.connect(app.url('/chat'))));
    assert.deepEqual(await a.request('join', { room: 'r1' }), { event: 'joined', data: 'r1' });
    assert.deepEqual(await b.request('join', { room: 'r1' }), { event: 'joined', data: 'r1' });
    a.send({ event: 'say', data: { room: 'r1', text: 'hi' } });
    assert.deepEqual(await b.next(), { event: 'said', data: { room: 'r1', text: 'hi' } });
    // c is in no room: the next thing it gets is the marker sent after the broadcast.
    app.rooms.to(c.id).emit('marker');
    assert.deepEqual(await c.next(), { event: 'marker' });
    // and a, the sender, got nothing either.
    app.rooms.to(a.id).emit('marker');
    assert.deepEqual(await a.next(), { event: 'marker' });
    await closeAll([a, b, c]);
  });

  it('delivers a union of rooms once per socket', async () => {
    const [a, b] = await Promise.all([1, 2].map(() => TestClient.connect(app.url('/chat'))));
    await a.request('join', { room: ['u1', 'u2', 'u3'] });
    await b.request('join', { room: 'u2' });
    app.rooms.to('u1').to('u2').to('u3').emit('e', 1);
    app.rooms.to([a.id, b.id]).emit('marker');
    assert.deepEqual([await a.next(), await a.next()], [{ event: 'e', data: 1 }, { event: 'marker' }]);
    assert.deepEqual([await b.next(), await b.next()], [{ event: 'e', data: 1 }, { event: 'marker' }]);
    await closeAll([a, b]);
  });

  it('leaves all rooms on disconnect and handleDisconnect sees none', async () => {
    const a = await TestClient.connect(app.url('/chat'));
    await a.request('join', { room: ['x1', 'x2'] });
    assert.deepEqual([...(await app.rooms.allRooms())].filter((r) => r.startsWith('x')).sort(), ['x1', 'x2']);
    await a.close();
    const seen = await app.app.get(ChatGateway).disconnected(a.id);
    assert.deepEqual(seen, { id: a.id, roomsSize: 0, reason: 'transport close' });
    assert.equal([...(await app.rooms.allRooms())].filter((r) => r.startsWith('x')).length, 0);
  });
});
