import type { INestApplicationContext } from '@nestjs/common';
import { ModuleRef, ModulesContainer } from '@nestjs/core';
import { GATEWAY_METADATA } from '@nestjs/websockets/constants.js';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { WebSocket } from 'ws';
import { RoomSocket } from '../socket/room-socket.js';
import { writeMessage } from '../socket/write-path.js';
import { exceptionFrame, exceptionMessage } from '../socket/exception-frame.js';
import { answeredId } from '../socket/inbound-frame.js';

/*
 * NestJS 11 compatibility: what `@nestjs/websockets` 11 does differently from 12, made up for here
 * so that apps and their clients see the same behaviour on both.
 *
 * 1. Exception frames. Nest 12's `BaseWsExceptionFilter` writes `{"event":"exception",...}` to a
 *    native WebSocket with `client.send`; Nest 11's calls `client.emit('exception', payload)`,
 *    which on a `ws` socket only dispatches locally, so the client never hears of the error. On
 *    Nest 11 each socket gets an `emit` that also sends that frame, in the one bounded shape
 *    (socket/exception-frame.ts) with the inbound frame's `id`. Nest 12 sockets keep `ws`'s `emit` untouched.
 *
 * 2. `handleDisconnect(socket, reason)`. Nest 12's WebSocketsController hands
 *    `bindClientDisconnect` a callback that takes the reason and calls
 *    `handleDisconnect(client, reason)`. Nest 11's callback is `() => disconnect.next(client)`: it
 *    drops the reason, and each gateway's `handleDisconnect` is bound once at start-up and called
 *    with the client alone. On Nest 11 the adapter wraps the `handleDisconnect` of every gateway
 *    instance before Nest binds it (the adapter's first `create()` comes before any gateway is
 *    subscribed), adding the socket's reason when the argument is missing.
 *
 * Both shims are harmless where Nest already does the right thing, so when the version cannot be
 * read they are applied.
 */

/** The major of the `@nestjs/websockets` the app (and so this library, a peer) runs on, if known. */
function websocketsMajor(): number | undefined {
  try {
    const entry = createRequire(import.meta.url).resolve('@nestjs/websockets');
    const manifest = JSON.parse(readFileSync(join(dirname(entry), 'package.json'), 'utf8')) as { version?: string };
    const major = Number.parseInt(manifest.version ?? '', 10);
    return Number.isNaN(major) ? undefined : major;
  } catch {
    return undefined;
  }
}

let nest11: boolean | undefined;

/** Whether the app runs on `@nestjs/websockets` 11 (or one whose version cannot be read). */
export function isNest11(): boolean {
  return (nest11 ??= (websocketsMajor() ?? 11) < 12);
}

/** A socket's `emit` on Nest 11 (`this` is the socket): `ws`'s own, and Nest's exception answers go out. */
export function emitWithExceptionFrames(this: WebSocket, event: string | symbol, ...args: unknown[]): boolean {
  if (event === 'exception' && this.readyState === WebSocket.OPEN) {
    writeMessage(this as RoomSocket, exceptionFrame(exceptionMessage(args[0]), answeredId(this)));
  }
  return WebSocket.prototype.emit.call(this, event, ...args);
}

const WRAPPED = Symbol('nestjs-rooms:handleDisconnect');

type DisconnectHandler = (this: unknown, client: unknown, reason?: unknown, ...rest: unknown[]) => unknown;

/**
 * On Nest 11, makes every gateway's `handleDisconnect` receive `(socket, reason)` as on Nest 12.
 * Call it before Nest subscribes the gateways (from the adapter's first `create()`); idempotent.
 */
export function supplyDisconnectReason(app: INestApplicationContext): void {
  if (!isNest11()) return;
  const modules = app.get(ModuleRef).get(ModulesContainer, { strict: false });
  for (const module of modules.values()) {
    for (const { instance, metatype } of module.providers.values()) {
      // The providers Nest 11's SocketModule connects as gateways.
      if (instance === null || typeof instance !== 'object' || typeof metatype !== 'function') continue;
      if (!Reflect.getMetadata(GATEWAY_METADATA, metatype)) continue;
      const gateway = instance as { handleDisconnect?: DisconnectHandler; [WRAPPED]?: true };
      const handleDisconnect = gateway.handleDisconnect;
      if (typeof handleDisconnect !== 'function' || gateway[WRAPPED]) continue;
      Object.defineProperty(gateway, WRAPPED, { value: true });
      Object.defineProperty(gateway, 'handleDisconnect', {
        configurable: true,
        writable: true,
        // `closeReason` holds the reason once the socket has closed (set by the adapter's close listener).
        value: function handleDisconnectWithReason(
          this: unknown,
          client: unknown,
          reason?: unknown,
          ...rest: unknown[]
        ) {
          if (reason === undefined && client instanceof RoomSocket) reason = client.closeReason;
          return handleDisconnect.call(this, client, reason, ...rest);
        },
      });
    }
  }
}
