import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ON_DISCONNECT_METADATA, ON_DISCONNECTING_METADATA, ON_SERVER_EVENT_METADATA } from './rooms.constants.js';
import { RoomsServer } from './rooms.server.js';
import type { DisconnectHook, ScopedDisconnectHook } from './socket/disconnect-hooks.js';

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
    const seen = new Set<object>();
    for (const wrapper of [...this.discovery.getProviders(), ...this.discovery.getControllers()]) {
      const prototype = hookPrototype(wrapper, seen);
      if (!prototype) continue;
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

  /**
   * Resolves `wrapper`'s instance for a context in the module that declares it: tokens are local to
   * a module, so two modules may each have a provider under the same one.
   */
  private scopedInstance(wrapper: InstanceWrapper, request?: object): Promise<unknown> {
    const contextId = request ? ContextIdFactory.getByRequest(request) : ContextIdFactory.create();
    if (request) this.moduleRef.registerRequestByContextId(request, contextId);
    const hostRef = wrapper.host?.getProviderByKey(ModuleRef)?.instance as ModuleRef | undefined;
    if (hostRef) return hostRef.resolve(wrapper.token, contextId, { strict: true });
    return this.moduleRef.resolve(wrapper.token, contextId, { strict: false });
  }
}

/**
 * Where `wrapper`'s hook methods are: the prototype of its instance, whatever built it (a class,
 * `useClass`, `useFactory`, `useValue`). A request-scoped provider has no instance before a
 * request, so its class is read instead. An instance already seen under another token (a
 * `useExisting` alias, a factory returning an existing provider) gives nothing, so that its
 * methods are registered once.
 */
function hookPrototype(wrapper: InstanceWrapper, seen: Set<object>): Record<string, unknown> | undefined {
  if (!wrapper.isDependencyTreeStatic()) {
    return wrapper.instance ? (wrapper.metatype?.prototype as Record<string, unknown> | undefined) : undefined;
  }
  const instance: unknown = wrapper.instance;
  if (typeof instance !== 'object' || instance === null || seen.has(instance)) return undefined;
  seen.add(instance);
  return (Object.getPrototypeOf(instance) as Record<string, unknown> | null) ?? undefined;
}

function bound(instance: unknown, name: string): Method {
  const target = instance as Record<string, Method>;
  return (...args) => target[name](...args);
}
