import { Module } from '@nestjs/common';
import { RoomsModule } from '../lib/index.js';
import { ChatGateway } from './chat.gateway.js';
import { Directory } from './directory.js';
import { ProjectsController } from './projects.controller.js';
import { ProjectsGateway } from './projects.gateway.js';
import { UsersController } from './users.controller.js';

@Module({
  imports: [
    // Clients join rooms (`join`, `follow`) only once they have a name; server code is not asked.
    RoomsModule.forRoot({ canJoin: (socket) => typeof socket.data.name === 'string' }),
  ],
  controllers: [ProjectsController, UsersController],
  providers: [ChatGateway, ProjectsGateway, Directory],
})
export class AppModule {}
