import { Injectable, type OnModuleInit } from '@nestjs/common';
import { ContextIdFactory, DiscoveryService, MetadataScanner, ModuleRef } from '@nestjs/core';
import type { InstanceWrapper } from '@nestjs/core/injector/instance-wrapper.js';
import { ON_DISCONNECT_METADATA, ON_DISCONNECTING_METADATA, ON_SERVER_EVENT_METADATA } from '../rooms.constants.js';
import { RoomsServer } from '../rooms.server.js';

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
          this.server.onDisconnecting(this.invoker(wrapper, name, (args) => args[0]));
        }
        if (Reflect.getMetadata(ON_DISCONNECT_METADATA, method)) {
          this.server.onDisconnect(this.invoker(wrapper, name, (args) => args[0]));
        }
        const event = Reflect.getMetadata(ON_SERVER_EVENT_METADATA, method) as string | undefined;
        if (event !== undefined)
          this.server.serverEvents.on(
            event,
            this.invoker(wrapper, name, () => undefined),
          );
      }
    }
  }

  /**
   * A function calling `wrapper`'s method `name`. Request-scoped providers get an instance for
   * the context of `requestOf(args)` (the socket), or a fresh context when there is none.
   */
  private invoker<A extends unknown[]>(
    wrapper: InstanceWrapper,
    name: string,
    requestOf: (args: A) => object | undefined,
  ): (...args: A) => unknown {
    if (wrapper.isDependencyTreeStatic()) {
      const instance = wrapper.instance as Record<string, Method>;
      return (...args) => instance[name](...args);
    }
    return async (...args) => {
      const request = requestOf(args);
      const contextId = request ? ContextIdFactory.getByRequest(request) : ContextIdFactory.create();
      if (request) this.moduleRef.registerRequestByContextId(request, contextId);
      const instance = (await this.moduleRef.resolve(wrapper.token, contextId, { strict: false })) as Record<
        string,
        Method
      >;
      return instance[name](...args);
    };
  }
}
