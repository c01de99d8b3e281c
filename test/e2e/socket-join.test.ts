import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RoomsError, type RoomSocket } from '../../lib/index.js';
import { INVALID_ROOM_NAME } from '../../lib/rooms.messages.js';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';

// Server code's `socket.join(room)` / `socket.leave(room)` with one name take their own short path
// (no arrays); these pin that it checks and answers exactly as the list form does.
describe('socket.join / socket.leave from server code, one room at a time', () => {
  let app: TestApp;
  let client: TestClient;
  let socket: RoomSocket;
  before(async () => {
    app = await startApp(ChatModule);
    client = await TestClient.connect(app.url('/chat'));
    socket = app.socket(client.id);
  });
  after(async () => {
    await client.close();
    await app.close();
  });

  it('refuses an invalid name with a RoomsError and changes nothing, like a list does', async () => {
    const invalid = { name: RoomsError.name, message: INVALID_ROOM_NAME(256) };
    for (const room of ['', 'x'.repeat(257), 42, null, undefined]) {
      await assert.rejects(socket.join(room as string), invalid, `join(${JSON.stringify(room)})`);
      await assert.rejects(socket.join([room as string]), invalid, `join([${JSON.stringify(room)}])`);
      await assert.rejects(socket.leave(room as string), invalid, `leave(${JSON.stringify(room)})`);
    }
    assert.deepEqual([...socket.rooms], [socket.id]);
  });

  it('joins once, ignores a second join and a leave of a room it is not in, and leaves', async () => {
    await socket.join('solo');
    await socket.join('solo');
    await socket.leave('never-joined');
    assert.deepEqual([...socket.rooms], [socket.id, 'solo']);
    app.rooms.to('solo').emit('in-solo', 1);
    assert.deepEqual(await client.next(), { event: 'in-solo', data: 1 });
    await socket.leave('solo');
    assert.deepEqual([...socket.rooms], [socket.id]);
    assert.equal(await app.rooms.in('solo').count(), 0);
    assert.ok(!(await app.rooms.allRooms()).has('solo'));
  });

  it('a room of one grows and shrinks through its own id room, and it still reaches its socket', async () => {
    const other = await TestClient.connect(app.url('/chat'));
    const otherSocket = app.socket(other.id);
    // Server code may put another socket in a socket's id room: from one member to two and back.
    await otherSocket.join(socket.id);
    app.rooms.to(socket.id).emit('both', 2);
    assert.deepEqual(await client.next(), { event: 'both', data: 2 });
    assert.deepEqual(await other.next(), { event: 'both', data: 2 });
    await socket.leave(socket.id);
    assert.equal(await app.rooms.in(socket.id).count(), 1);
    await otherSocket.leave(socket.id);
    assert.equal(await app.rooms.in(socket.id).count(), 0);
    await socket.join(socket.id);
    app.rooms.to(socket.id).emit('own-again', 3);
    assert.deepEqual(await client.next(), { event: 'own-again', data: 3 });
    await other.close();
  });
});
