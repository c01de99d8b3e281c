import { Global, Module, type DynamicModule } from '@nestjs/common';
import { DiscoveryModule } from '@nestjs/core';
import { RoomsExplorer } from './rooms.explorer.js';
import { ASYNC_OPTIONS_TYPE, ConfigurableModuleClass, ROOMS_MODULE_OPTIONS } from './rooms.module-definition.js';
import type { RoomsModuleOptions } from './rooms.options.js';
import { RoomsServer } from './rooms.server.js';
import { RoomService } from './rooms.service.js';

/**
 * Rooms for the whole app: import `RoomsModule.forRoot()` once (it is global), then use
 * `new RoomsAdapter(app)` as the WebSocket adapter.
 */
@Global()
@Module({
  imports: [DiscoveryModule],
  providers: [
    {
      provide: RoomsServer,
      useFactory: (options: RoomsModuleOptions | undefined) => new RoomsServer(options ?? {}),
      inject: [ROOMS_MODULE_OPTIONS],
    },
    RoomService,
    RoomsExplorer,
  ],
  exports: [RoomService, RoomsServer],
})
export class RoomsModule extends ConfigurableModuleClass {
  /** Rooms with these options (all optional); global. */
  static override forRoot(options: RoomsModuleOptions = {}): DynamicModule {
    return super.forRoot(options);
  }

  /**
   * Rooms with options from a factory (`useFactory` + `inject`), a class (`useClass`) or an
   * existing provider (`useExisting`) implementing `RoomsOptionsFactory`; global.
   */
  static override forRootAsync(options: typeof ASYNC_OPTIONS_TYPE): DynamicModule {
    return super.forRootAsync(options);
  }
}
