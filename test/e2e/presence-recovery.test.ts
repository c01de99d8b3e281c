/**
 * Presence with connection recovery on: a dropped socket is untracked like any disconnect, and
 * when its client recovers the session it is tracked again as it was (key, meta, `since`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startApp, type TestApp } from '../support/app.js';
import { PresenceLog } from '../support/presence.fixture.js';
import { RecoveringClient, recoveryModule } from '../support/recovery.fixture.js';

describe('presence with connection recovery', () => {
  let app: TestApp;
  let log: PresenceLog;

  before(async () => {
    app = await startApp(recoveryModule({}));
    log = new PresenceLog(app);
  });
  after(() => app.close());

  it('a recovered socket is tracked again as it was, in one diff per room', async () => {
    const first = await RecoveringClient.connect(app.url('/recovery'));
    await first.until('welcome');
    const socket = app.socket(first.session.id);
    await socket.track('doc', 'ann', { name: 'Ann' });
    await socket.track('lobby', 'ann');
    const tracked = [await log.next(), await log.next()];
    first.drop();
    const left = [await log.next(), await log.next()];
    assert.deepEqual(
      left.map((event) => Object.keys(event.diff.leaves)),
      [['ann'], ['ann']],
    );
    assert.deepEqual(Object.keys(app.rooms.presence('doc')), []);

    const again = await first.reconnect(app.url('/recovery'));
    assert.equal(again.session.recovered, true);
    const back = [await log.next(), await log.next()];
    const byRoom = (events: typeof back) =>
      Object.fromEntries(events.map(({ room, diff }) => [room, diff.joins.ann.map((meta) => ({ ...meta }))]));
    assert.deepEqual(byRoom(back), byRoom(tracked), 'the same socket id, meta and since');
    for (const { diff } of back) assert.deepEqual(Object.keys(diff.leaves), []);
    assert.deepEqual(app.rooms.presence('doc').ann[0].meta, { name: 'Ann' });
    await again.close();
    await log.next();
    await log.next();
    assert.equal(log.unread, 0);
  });
});
