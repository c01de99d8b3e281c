import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ON_DISCONNECT_METADATA, ON_DISCONNECTING_METADATA, ON_SERVER_EVENT_METADATA } from '../rooms.constants.js';
import { RoomsServer } from '../rooms.server.js';
import type { DisconnectHook, ScopedDisconnectHook } from '../socket/disconnect-hooks.js';

type Method = (...args: unknown[]) => unknown;

/**
 * Finds `@OnDisconnecting`, `@OnDisconnect` and `@OnServerEvent` methods on every provider and
 * controller and registers them with this app's rooms. A method of a request-scoped provider runs
 * on an instance resolved for the socket (or, for server events, for that one event).
 */
@Injectable()
export class RoomsExplorer implements OnModuleInit {
  constructor(
    private readonly discovery: DiscoveryService,
    private readonly scanner: MetadataScanner,
    private readonly moduleRef: ModuleRef,
    private readonly server: RoomsServer,
  ) {}

  onModuleInit(): void {
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const prototype = wrapper.metatype?.prototype as Record<string, unknown> | undefined;
      if (!prototype || !wrapper.instance) continue;
      for (const name of this.scanner.getAllMethodNames(prototype)) {
        const method = prototype[name] as Method;
        if (Reflect.getMetadata(ON_DISCONNECTING_METADATA, method)) {
          this.server.hooks.onDisconnecting(this.disconnectHook(wrapper, name));
        }
        if (Reflect.getMetadata(ON_DISCONNECT_METADATA, method)) {
          this.server.hooks.onDisconnect(this.disconnectHook(wrapper, name));
        }
        const event = Reflect.getMetadata(ON_SERVER_EVENT_METADATA, method) as string | undefined;
        if (event !== undefined) this.server.serverEvents.on(event, this.serverEventHandler(wrapper, name));
      }
    }
  }

  /**
   * A disconnect hook calling `wrapper`'s method `name`: directly, or, for a request-scoped
   * provider, on the instance resolved for the socket's request context before the hooks run.
   */
  private disconnectHook(wrapper: InstanceWrapper, name: string): DisconnectHook | ScopedDisconnectHook {
    if (wrapper.isDependencyTreeStatic()) return bound(wrapper.instance, name);
    return { resolve: async (socket) => bound(await this.scopedInstance(wrapper, socket), name) };
  }

  /** A server event handler; a request-scoped provider gets a fresh context for each event. */
  private serverEventHandler(wrapper: InstanceWrapper, name: string): (...args: unknown[]) => unknown {
    if (wrapper.isDependencyTreeStatic()) return bound(wrapper.instance, name);
    return async (...args) => bound(await this.scopedInstance(wrapper), name)(...args);
  }

  private scopedInstance(wrapper: InstanceWrapper, request?: object): Promise<unknown> {
    const contextId = request ? ContextIdFactory.getByRequest(request) : ContextIdFactory.create();
    if (request) this.moduleRef.registerRequestByContextId(request, contextId);
    return this.moduleRef.resolve(wrapper.token, contextId, { strict: false });
  }
}

function bound(instance: unknown, name: string): Method {
  const target = instance as Record<string, Method>;
  return (...args) => target[name](...args);
}
