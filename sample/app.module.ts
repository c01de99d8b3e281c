import { Module, type DynamicModule } from '@nestjs/common';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { RoomsModule, type Broker } from '../lib/index.js';
import { ChatGateway } from './chat.gateway.js';
import { Directory } from './directory.js';
import { RoomsMetricsExporter } from './metrics.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsGateway } from './projects.gateway.js';
import { UsersController } from './users.controller.js';

@Module({
  // `GET /metrics` on prom-client's global registry. Registered once, here: a second
  // `PrometheusModule.register()` in one process throws (its default metrics are already there).
  imports: [PrometheusModule.register()],
  controllers: [ProjectsController, UsersController],
  providers: [ChatGateway, ProjectsGateway, Directory],
})
export class AppModule {
  /**
   * The app on a broker: in memory (one server) by default, or shared by several servers. With
   * `metrics` (the default), its rooms' metrics are on `GET /metrics`: one app per process may, as
   * prom-client's global registry holds one set of names.
   */
  static withBroker(broker?: Broker, metrics = true): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Clients join rooms (`join`, `follow`) only once they have a name; server code is not asked.
        // With recovery, a tab whose connection drops comes back with its name, rooms and missed messages.
        RoomsModule.forRoot({ broker, canJoin: (socket) => typeof socket.data.name === 'string', recovery: {} }),
      ],
      providers: metrics ? [RoomsMetricsExporter] : [],
    };
  }
}
