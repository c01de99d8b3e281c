import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { ChatGateway, ChatModule } from '../support/chat.fixture.js';
import { TestClient } from '../support/client.js';

/*
 * Only a pong that echoes the server's last ping proves the peer reads: pongs a client sends of
 * its own accord, with any other payload, keep nothing alive.
 */

const INTERVAL = 100;

describe('heartbeat liveness', () => {
  let app: TestApp;

  before(async () => {
    app = await startApp(ChatModule, { heartbeatInterval: INTERVAL });
  });

  after(async () => {
    await app.close();
  });

  it('drops a non-reading peer that sends unsolicited pongs with "ping timeout"', async () => {
    const client = await TestClient.connect(app.url('/chat'), { autoPong: false });
    client.ws.on('error', () => {});
    // It reads nothing from here on, so it never sees a ping, but it keeps sending pongs.
    client.tcp.pause();
    const pongs = setInterval(() => client.ws.pong(randomBytes(8)), INTERVAL / 4);
    try {
      const seen = await app.app.get(ChatGateway).disconnected(client.id);
      assert.equal(seen.reason, 'ping timeout');
    } finally {
      clearInterval(pongs);
    }
  });

  it('drops a reading peer whose pongs echo something other than the ping', async () => {
    const client = await TestClient.connect(app.url('/chat'), { autoPong: false });
    client.ws.on('error', () => {});
    client.ws.on('ping', (data: Buffer) => client.ws.pong(Buffer.from(data.map((byte) => byte ^ 0xff))));
    const seen = await app.app.get(ChatGateway).disconnected(client.id);
    assert.equal(seen.reason, 'ping timeout');
  });

  it('keeps a peer that echoes every ping', async () => {
    const client = await TestClient.connect(app.url('/chat'), { autoPong: false });
    let pings = 0;
    const fivePings = new Promise<void>((resolve) =>
      client.ws.on('ping', (data: Buffer) => {
        client.ws.pong(data);
        if (++pings === 5) resolve();
      }),
    );
    await fivePings;
    assert.deepEqual(await client.request('echo', 'alive', 'a'), { event: 'echo', data: 'alive', id: 'a' });
    await client.close();
  });
});
