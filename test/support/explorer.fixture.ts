import { Global, Injectable, Module, Scope, type Type } from '@nestjs/common';
import {
  OnDisconnect,
  OnDisconnecting,
  OnServerEvent,
  RoomsModule,
  type Broker,
  type RoomSocket,
} from '../../lib/index.js';
import { HooksGateway } from './decorators.fixture.js';
import { HookRecorder } from './hook-recorder.js';

// ---- explorer-providers.test.ts ----------------------------------------------------------------

/** Every `@OnServerEvent('explorer:ping')` call of one app: which provider kind got which arguments. */
export class PingLog {
  readonly pings: Array<{ kind: string; args: unknown[] }> = [];
}

/** Records `<kind>-disconnecting` and `<kind>-disconnect` in the app's HookRecorder. */
@Injectable()
abstract class KindDisconnectHooks {
  protected abstract readonly kind: string;

  constructor(private readonly log: HookRecorder) {}

  @OnDisconnecting()
  disconnecting(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    this.log.record(`${this.kind}-disconnecting`, socket, { rooms, reason, arity: arguments.length });
  }

  @OnDisconnect()
  disconnect(socket: RoomSocket, rooms: ReadonlySet<string>, reason: string) {
    this.log.record(`${this.kind}-disconnect`, socket, { rooms, reason, arity: arguments.length });
  }
}

/** The disconnect hooks plus a server event handler that answers with its kind. */
@Injectable()
abstract class KindHooks extends KindDisconnectHooks {
  constructor(
    log: HookRecorder,
    private readonly pingLog: PingLog,
  ) {
    super(log);
  }

  @OnServerEvent('explorer:ping')
  ping(...args: unknown[]): string {
    this.pingLog.pings.push({ kind: this.kind, args });
    return this.kind;
  }
}

/** Built by a `useFactory`: the provider's metatype is the factory, not this class. */
class FactoryHooks extends KindHooks {
  protected readonly kind = 'factory';
}

/** Given as a `useValue`: the provider has no metatype at all. */
class ValueHooks extends KindHooks {
  protected readonly kind = 'value';
}

/** A `useClass` provider under a token that is not the class. */
@Injectable()
class ClassHooks extends KindHooks {
  protected readonly kind = 'class';
}

/** Request-scoped `useClass` providers of two modules that use the same token. */
@Injectable()
class ScopedHooksA extends KindDisconnectHooks {
  protected readonly kind = 'scoped-a';
}

@Injectable()
class ScopedHooksB extends KindDisconnectHooks {
  protected readonly kind = 'scoped-b';
}

/** The hook phases one disconnect records in an explorer app, each exactly once. */
export const EXPLORER_PHASES = ['factory', 'value', 'class', 'scoped-a', 'scoped-b'].flatMap((kind) => [
  `${kind}-disconnecting`,
  `${kind}-disconnect`,
]);

/**
 * An app whose hooks live on providers of every shape: `useFactory`, `useValue`, `useClass` (token
 * != class), request-scoped `useClass` under one token in two modules, and two second tokens for
 * one instance (a `useExisting` alias and a factory that returns an existing instance).
 */
export function explorerModule(broker: Broker): Type {
  const log = new HookRecorder();
  const pingLog = new PingLog();

  @Global()
  @Module({
    providers: [
      { provide: HookRecorder, useValue: log },
      { provide: PingLog, useValue: pingLog },
    ],
    exports: [HookRecorder, PingLog],
  })
  class LogsModule {}

  @Module({ providers: [{ provide: 'SCOPED_HOOKS', useClass: ScopedHooksA, scope: Scope.REQUEST }] })
  class FeatureA {}

  @Module({ providers: [{ provide: 'SCOPED_HOOKS', useClass: ScopedHooksB, scope: Scope.REQUEST }] })
  class FeatureB {}

  @Module({
    imports: [RoomsModule.forRoot({ broker }), LogsModule, FeatureA, FeatureB],
    providers: [
      HooksGateway,
      {
        provide: 'FACTORY_HOOKS',
        useFactory: (hookLog: HookRecorder, pings: PingLog) => new FactoryHooks(hookLog, pings),
        inject: [HookRecorder, PingLog],
      },
      { provide: 'VALUE_HOOKS', useValue: new ValueHooks(log, pingLog) },
      { provide: 'CLASS_HOOKS', useClass: ClassHooks },
      { provide: 'CLASS_ALIAS', useExisting: 'CLASS_HOOKS' },
      { provide: 'VALUE_AGAIN', useFactory: (hooks: ValueHooks) => hooks, inject: ['VALUE_HOOKS'] },
    ],
  })
  class ExplorerModule {}
  return ExplorerModule;
}
