import { Module } from '@nestjs/common';
import { RoomsModule } from '../lib/index.js';
import { ChatGateway } from './chat.gateway.js';
import { NotifyController } from './notify.controller.js';

@Module({
  imports: [RoomsModule.forRoot()],
  controllers: [NotifyController],
  providers: [ChatGateway],
})
export class AppModule {}
