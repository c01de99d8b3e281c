import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { ChatModule } from '../support/chat.fixture.js';
import { closeAll, TestClient } from '../support/client.js';

// Handshake values that repeat across connections are kept as one string each (a memory saving);
// these pin that every socket still reads exactly what its own upgrade request said.
describe('socket.handshake', () => {
  let app: TestApp;
  before(async () => {
    app = await startApp(ChatModule);
  });
  after(() => app.close());

  it('holds each connection its own headers, url and address, repeated values and unique ones alike', async () => {
    const long = 'x'.repeat(2000);
    const clients = await Promise.all(
      ['alpha', 'beta', 'alpha'].map((user, i) =>
        TestClient.connect(app.url(i === 2 ? '/chat' : `/chat?user=${user}`), {
          headers: { 'x-user': user, 'x-long': long, 'user-agent': 'same-agent/1.0', cookie: `session=${i}` },
        }),
      ),
    );
    const handshakes = clients.map((client) => app.socket(client.id).handshake);
    assert.deepEqual(
      handshakes.map((h) => [h.url, h.headers['x-user'], h.headers.cookie, h.headers['user-agent']]),
      [
        ['/chat?user=alpha', 'alpha', 'session=0', 'same-agent/1.0'],
        ['/chat?user=beta', 'beta', 'session=1', 'same-agent/1.0'],
        ['/chat', 'alpha', 'session=2', 'same-agent/1.0'],
      ],
    );
    for (const h of handshakes) {
      assert.equal(h.headers['x-long'], long);
      assert.equal(h.headers.upgrade, 'websocket');
      assert.equal(h.headers.host, `127.0.0.1:${app.port}`);
      assert.match(h.address, /127\.0\.0\.1$/);
    }
    const keys = new Set(handshakes.map((h) => h.headers['sec-websocket-key']));
    assert.equal(keys.size, 3, 'each connection keeps its own key');
    await closeAll(clients);
  });
});
