import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ClusterRequest } from '../../lib/cluster/cluster-request.js';
import { RoomsError } from '../../lib/index.js';
import { REQUEST_FAILED, REQUEST_TIMEOUT } from '../../lib/rooms.messages.js';
import { rejectionOf } from '../support/rejection.js';

/*
 * One request to the other servers (lib/cluster/cluster-request.ts): it resolves with the answers
 * once every server asked has answered or gone, and rejects, with the answers that did arrive,
 * on a timeout, a server's failure or an abort. Whatever ends it, `done` runs exactly once.
 */

const LONG = 60_000;

/** A request to `servers`, counting how often it reported itself done. */
function request(servers: string[], timeoutMs = LONG): { request: ClusterRequest; doneCalls: () => number } {
  let done = 0;
  const req = new ClusterRequest(servers, timeoutMs, () => done++);
  return { request: req, doneCalls: () => done };
}

describe('ClusterRequest', () => {
  it('resolves with every answer, in arrival order, once each server asked has answered', async () => {
    const { request: req, doneCalls } = request(['a', 'b', 'c']);
    req.respond('b', { from: 'b' });
    req.respond('a', [1, 2]);
    assert.equal(doneCalls(), 0, 'still waiting for c');
    req.respond('c', 'c');
    assert.deepEqual(await req.promise, [{ from: 'b' }, [1, 2], 'c']);
    assert.equal(doneCalls(), 1);
  });

  it('resolves with nothing at once when no server is asked', async () => {
    const { request: req, doneCalls } = request([]);
    assert.deepEqual(await req.promise, []);
    assert.equal(doneCalls(), 1);
  });

  it('leaves out the answer of a server that had nothing to answer with, but counts it as answered', async () => {
    const { request: req } = request(['a', 'b']);
    req.respond('a', 'ignored', false);
    req.respond('b', 'kept');
    assert.deepEqual(await req.promise, ['kept']);
  });

  it('ignores a second answer from one server and answers from servers it did not ask', async () => {
    const { request: req } = request(['a', 'b']);
    req.respond('a', 1);
    req.respond('a', 2);
    req.respond('stranger', 3);
    req.respond('b', 4);
    assert.deepEqual(await req.promise, [1, 4]);
  });

  it('completes without a server declared gone, with the answers of the others', async () => {
    const { request: req, doneCalls } = request(['a', 'b', 'c']);
    req.respond('a', 'a');
    req.serverGone('b');
    req.serverGone('stranger');
    assert.equal(doneCalls(), 0);
    req.serverGone('c');
    assert.deepEqual(await req.promise, ['a']);
    assert.equal(doneCalls(), 1);
  });

  it('a server gone after it answered keeps its answer', async () => {
    const { request: req } = request(['a', 'b']);
    req.respond('a', 'a');
    req.serverGone('a');
    req.respond('b', 'b');
    assert.deepEqual(await req.promise, ['a', 'b']);
  });

  it('on timeout rejects with a RoomsError naming how many servers are missing, with the answers that arrived', async () => {
    const { request: req, doneCalls } = request(['a', 'b', 'c'], 30);
    req.respond('a', 'early');
    const error = await rejectionOf(req.promise, RoomsError);
    assert.equal(error.message, REQUEST_TIMEOUT(30, 2));
    assert.deepEqual(error.responses, ['early']);
    assert.equal(doneCalls(), 1);
    // Late answers change nothing.
    req.respond('b', 'late');
    req.serverGone('c');
    assert.equal(doneCalls(), 1);
    assert.deepEqual(error.responses, ['early']);
  });

  it("rejects at once when a server asked reports a failure, with the other servers' answers so far", async () => {
    const { request: req, doneCalls } = request(['a', 'b', 'c']);
    req.respond('a', 'a');
    req.failed('b', 'no such room');
    const error = await rejectionOf(req.promise, RoomsError);
    assert.equal(error.message, REQUEST_FAILED('no such room'));
    assert.deepEqual(error.responses, ['a']);
    assert.equal(doneCalls(), 1);
    req.respond('c', 'c');
    assert.equal(doneCalls(), 1);
  });

  it('ignores a failure from a server it did not ask or that has answered', async () => {
    const { request: req } = request(['a', 'b']);
    req.respond('a', 'a');
    req.failed('a', 'too late');
    req.failed('stranger', 'not asked');
    req.respond('b', 'b');
    assert.deepEqual(await req.promise, ['a', 'b']);
  });

  it('abort rejects at once with the given message and the answers so far', async () => {
    const { request: req, doneCalls } = request(['a', 'b']);
    req.respond('b', 'b');
    req.abort('the broker is down');
    const error = await rejectionOf(req.promise, RoomsError);
    assert.equal(error.message, 'the broker is down');
    assert.deepEqual(error.responses, ['b']);
    assert.equal(doneCalls(), 1);
  });

  it('abort after it completed changes nothing', async () => {
    const { request: req, doneCalls } = request(['a']);
    req.respond('a', 'a');
    req.abort('the broker is down');
    assert.deepEqual(await req.promise, ['a']);
    assert.equal(doneCalls(), 1);
  });
});
