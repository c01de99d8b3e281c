import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AckCollector } from '../../lib/broadcast/ack-collector.js';
import { AckDelivery } from '../../lib/broadcast/ack-delivery.js';
import type { AckSink } from '../../lib/broadcast/ack-sink.js';
import { RoomsError } from '../../lib/index.js';
import { ACK_TIMEOUT } from '../../lib/rooms.messages.js';
import { nextTurn } from '../support/timing.js';
import { rejectionOf } from '../support/rejection.js';

/*
 * The answers to one `emitWithAck` (lib/broadcast/ack-collector.ts): one per socket sent the
 * event, here and on every other server asked. It resolves once all are in (or no longer owed:
 * a socket left, a server gone), and rejects on timeout or abort with the answers that arrived.
 */

const LONG = 60_000;

const ACK = 7;

/** What a socket holds for pending acks, as the ack bookkeeping sees it. */
type Holder = { pendingAcks: Map<number, AckSink> | undefined };

/**
 * `count` sockets on this server were sent the event with ack `ACK`, each holding its entry as
 * the server leaves it; the one place that says how a collector is told so.
 */
function sentHere(collector: AckCollector, count: number, holders: Holder[] = []): Holder[] {
  for (let i = holders.length; i < count; i++) holders.push({ pendingAcks: undefined });
  for (const holder of holders) (holder.pendingAcks ??= new Map()).set(ACK, collector);
  collector.expect(new AckDelivery(holders, ACK, collector));
  return holders;
}

/** Whether `promise` has settled by now (after the microtasks already queued). */
async function settled(promise: Promise<unknown>): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  await nextTurn();
  return done;
}

describe('AckCollector', () => {
  it('resolves with the answers of the sockets here, in arrival order, once all have answered', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 3);
    acks.seal();
    acks.answer('one');
    acks.answer({ two: 2 });
    assert.equal(await settled(acks.promise), false, 'one answer still owed');
    acks.answer(3);
    assert.deepEqual(await acks.promise, ['one', { two: 2 }, 3]);
  });

  it('resolves with nothing at once when nobody was sent the event', async () => {
    const acks = new AckCollector(LONG);
    acks.seal();
    assert.deepEqual(await acks.promise, []);
  });

  it('does not complete before it is sealed, however many answers arrived', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 1);
    acks.answer('early');
    assert.equal(await settled(acks.promise), false);
    acks.seal();
    assert.deepEqual(await acks.promise, ['early']);
  });

  it('a socket that leaves before answering is no longer waited for', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 2);
    acks.seal();
    acks.answer('stayed');
    acks.forget();
    assert.deepEqual(await acks.promise, ['stayed']);
  });

  it("waits for another server's count, then for that many answers from it", async () => {
    const acks = new AckCollector(LONG);
    acks.expectServer('b');
    acks.seal();
    assert.equal(await settled(acks.promise), false, 'the count of b is to come');
    acks.serverCount('b', 2);
    acks.answer('b1', 'b');
    assert.equal(await settled(acks.promise), false);
    acks.answer('b2', 'b');
    assert.deepEqual(await acks.promise, ['b1', 'b2']);
  });

  it('answers from another server may overtake its count', async () => {
    const acks = new AckCollector(LONG);
    acks.expectServer('b');
    acks.seal();
    acks.answer('fast', 'b');
    acks.serverCount('b', 2);
    assert.equal(await settled(acks.promise), false);
    acks.answer('slow', 'b');
    assert.deepEqual(await acks.promise, ['fast', 'slow']);
  });

  it('a server that sent the event to nobody owes nothing; a remote socket that left is not waited for', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 1);
    acks.expectServer('b');
    acks.expectServer('c');
    acks.seal();
    acks.serverCount('b', 0);
    acks.serverCount('c', 2);
    acks.answer('here');
    acks.answer('c1', 'c');
    acks.forget('c');
    assert.deepEqual(await acks.promise, ['here', 'c1']);
  });

  it('ignores counts and answers from servers it did not ask', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 1);
    acks.seal();
    acks.serverCount('stranger', 5);
    acks.answer('stray', 'stranger');
    acks.answer('here');
    assert.deepEqual(await acks.promise, ['here']);
  });

  it('a server declared gone is no longer waited for; its later answers are ignored', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 1);
    acks.expectServer('b');
    acks.expectServer('c');
    acks.seal();
    acks.serverCount('b', 2);
    acks.answer('b1', 'b');
    acks.serverGone('b');
    acks.answer('b2', 'b');
    acks.serverGone('c');
    acks.answer('here');
    assert.deepEqual(await acks.promise, ['b1', 'here']);
  });

  it('on timeout rejects with a RoomsError saying how many answered of how many, with those answers', async () => {
    const acks = new AckCollector(30);
    sentHere(acks, 2);
    acks.expectServer('b');
    acks.expectServer('c');
    acks.seal();
    acks.answer('here');
    acks.serverCount('b', 3);
    acks.answer('b1', 'b');
    // c never reports its count: it owes nothing that can be counted.
    const error = await rejectionOf(acks.promise, RoomsError);
    assert.equal(error.message, ACK_TIMEOUT(30, 2, 5));
    assert.deepEqual(error.responses, ['here', 'b1']);
    acks.answer('late');
    assert.deepEqual(error.responses, ['here', 'b1'], 'a late answer changes nothing');
  });

  it('abort rejects at once with the given message and the answers so far', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 2);
    acks.expectServer('b');
    acks.seal();
    acks.answer('here');
    acks.abort('the broker is down');
    const error = await rejectionOf(acks.promise, RoomsError);
    assert.equal(error.message, 'the broker is down');
    assert.deepEqual(error.responses, ['here']);
  });

  it('once complete, it stays complete: abort, answers and counts change nothing', async () => {
    const acks = new AckCollector(LONG);
    sentHere(acks, 1);
    acks.seal();
    acks.answer('only');
    acks.abort('too late');
    acks.answer('extra');
    assert.deepEqual(await acks.promise, ['only']);
  });

  it('however it ends, the sockets here forget the request; their entries for other requests stay', async () => {
    const other: AckSink = { answer: () => {}, forget: () => {} };
    const endings: Array<[string, (acks: AckCollector) => void]> = [
      [
        'answered',
        (acks) => {
          acks.answer('a');
          acks.answer('b');
        },
      ],
      ['aborted', (acks) => acks.abort('the broker is down')],
      ['timed out', () => {}],
    ];
    for (const [ending, end] of endings) {
      const acks = new AckCollector(20);
      const shared: Holder = { pendingAcks: new Map([[ACK + 1, other]]) };
      const holders = sentHere(acks, 2, [shared]);
      acks.seal();
      end(acks);
      await acks.promise.catch(() => undefined);
      assert.deepEqual(
        holders.map((holder) => [...(holder.pendingAcks?.keys() ?? [])]),
        [[ACK + 1], []],
        `${ending}: only the other request's entry is left`,
      );
    }
  });
});
