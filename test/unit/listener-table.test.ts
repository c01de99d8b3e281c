import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { describe, it } from 'node:test';
import { ListenerTable, useListenerTable } from '../../lib/socket/listener-table.js';

describe('listener table', () => {
  it('keeps the listeners an emitter had, symbol-named ones included, in their order', () => {
    const emitter = new EventEmitter();
    const kind = Symbol('kind');
    const calls: string[] = [];
    emitter.on('close', () => calls.push('close 1'));
    emitter.on(kind, () => calls.push('kind'));
    useListenerTable(emitter);
    assert.ok((emitter as unknown as { _events: object })._events instanceof ListenerTable);
    emitter.on('close', () => calls.push('close 2'));
    emitter.emit('close');
    emitter.emit(kind);
    assert.deepEqual(calls, ['close 1', 'close 2', 'kind']);
    assert.deepEqual(emitter.eventNames(), ['close', kind]);
  });

  it('knows no event by a name its prototype chain could hold', () => {
    const emitter = new EventEmitter();
    useListenerTable(emitter);
    for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      assert.equal(emitter.listenerCount(name), 0, name);
      assert.equal(emitter.emit(name), false, name);
    }
    const heard: unknown[] = [];
    emitter.on('__proto__', (value) => heard.push(value));
    emitter.on('toString', (value) => heard.push(value));
    emitter.emit('__proto__', 1);
    emitter.emit('toString', 2);
    assert.deepEqual(heard, [1, 2]);
  });

  it('once, removal and removeAllListeners behave as on a plain emitter', () => {
    const emitter = new EventEmitter();
    useListenerTable(emitter);
    let count = 0;
    const listener = () => count++;
    emitter.once('ping', listener);
    emitter.emit('ping');
    emitter.emit('ping');
    assert.equal(count, 1);
    emitter.on('ping', listener);
    emitter.on('pong', listener);
    emitter.off('ping', listener);
    emitter.emit('ping');
    emitter.emit('pong');
    assert.equal(count, 2);
    emitter.removeAllListeners();
    assert.deepEqual(emitter.eventNames(), []);
    assert.equal(emitter.emit('pong'), false);
    // An unhandled 'error' still throws.
    assert.throws(() => emitter.emit('error', new Error('boom')), /boom/);
  });

  it('moving twice changes nothing', () => {
    const emitter = new EventEmitter();
    emitter.on('a', () => undefined);
    useListenerTable(emitter);
    const table = (emitter as unknown as { _events: object })._events;
    useListenerTable(emitter);
    assert.equal((emitter as unknown as { _events: object })._events, table);
    assert.equal(emitter.listenerCount('a'), 1);
  });
});
