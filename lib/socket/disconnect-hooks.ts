import { Logger } from '@nestjs/common';
import type { DisconnectReason, RoomSocket } from './room-socket.js';

export type DisconnectHook = (socket: RoomSocket, rooms: ReadonlySet<string>, reason: DisconnectReason) => unknown;
/** A hook on a request-scoped provider: its method is resolved for each socket before the hooks run. */
export interface ScopedDisconnectHook {
  readonly resolve: (socket: RoomSocket) => Promise<DisconnectHook>;
}
export type AnyDisconnectHook = DisconnectHook | ScopedDisconnectHook;

/**
 * `@OnDisconnecting` and `@OnDisconnect` of one app, run in the disconnecting -> leave every
 * room -> disconnect order. Hooks get a snapshot of the rooms that stays intact for their async
 * work; they are not awaited and their failures are logged.
 */
export class DisconnectHooks {
  private readonly disconnecting: AnyDisconnectHook[] = [];
  private readonly disconnect: AnyDisconnectHook[] = [];
  private hasScoped = false;
  private readonly logger = new Logger('RoomsDisconnectHooks');

  onDisconnecting(hook: AnyDisconnectHook): void {
    this.disconnecting.push(hook);
    this.hasScoped ||= typeof hook !== 'function';
  }

  onDisconnect(hook: AnyDisconnectHook): void {
    this.disconnect.push(hook);
    this.hasScoped ||= typeof hook !== 'function';
  }

  /**
   * Runs the hooks around `leave` (which takes the socket out of every room), then `done`. When
   * some hook lives on a request-scoped provider, its instance is resolved for the socket first,
   * so that it too runs while `socket.rooms` is intact.
   */
  run(socket: RoomSocket, reason: DisconnectReason, leave: () => void, done?: () => void): void {
    if (!this.hasScoped) return this.runResolved(socket, reason, this.disconnecting, this.disconnect, leave, done);
    void Promise.all([this.resolve(this.disconnecting, socket), this.resolve(this.disconnect, socket)]).then(
      ([disconnecting, disconnect]) => this.runResolved(socket, reason, disconnecting, disconnect, leave, done),
    );
  }

  private runResolved(
    socket: RoomSocket,
    reason: DisconnectReason,
    disconnecting: ReadonlyArray<AnyDisconnectHook | undefined>,
    disconnect: ReadonlyArray<AnyDisconnectHook | undefined>,
    leave: () => void,
    done: (() => void) | undefined,
  ): void {
    const rooms: ReadonlySet<string> = new Set(socket.rooms);
    this.call(disconnecting, socket, rooms, reason);
    leave();
    this.call(disconnect, socket, rooms, reason);
    done?.();
  }

  /** Every hook as a plain function for this socket; one that cannot be resolved is logged and left out. */
  private resolve(hooks: readonly AnyDisconnectHook[], socket: RoomSocket) {
    return Promise.all(
      hooks.map((hook) =>
        typeof hook === 'function'
          ? hook
          : hook.resolve(socket).catch((error: unknown) => void this.logger.error(error)),
      ),
    );
  }

  /** Calls plain hooks; `run` resolves scoped ones before it gets here. */
  private call(
    hooks: ReadonlyArray<AnyDisconnectHook | undefined>,
    socket: RoomSocket,
    rooms: ReadonlySet<string>,
    reason: DisconnectReason,
  ): void {
    for (const hook of hooks) {
      if (typeof hook !== 'function') continue;
      try {
        const result = hook(socket, rooms, reason);
        if (result instanceof Promise) result.catch((error: unknown) => this.logger.error(error));
      } catch (error) {
        this.logger.error(error);
      }
    }
  }
}
