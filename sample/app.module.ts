import { Module, type DynamicModule } from '@nestjs/common';
import { RoomsModule, type Broker } from '../lib/index.js';
import { ChatGateway } from './chat.gateway.js';
import { Directory } from './directory.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsGateway } from './projects.gateway.js';
import { UsersController } from './users.controller.js';

@Module({
  controllers: [ProjectsController, UsersController],
  providers: [ChatGateway, ProjectsGateway, Directory],
})
export class AppModule {
  /** The app on a broker: in memory (one server) by default, or shared by several servers. */
  static withBroker(broker?: Broker): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // Clients join rooms (`join`, `follow`) only once they have a name; server code is not asked.
        RoomsModule.forRoot({ broker, canJoin: (socket) => typeof socket.data.name === 'string' }),
      ],
    };
  }
}
