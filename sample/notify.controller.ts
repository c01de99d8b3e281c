import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RoomService } from '../lib/index.js';

/** Rooms from HTTP: `POST /rooms/:room/notify` with a JSON body reaches that chat room. */
@Controller('rooms')
export class NotifyController {
  constructor(private readonly rooms: RoomService) {}

  @Post(':room/notify')
  @HttpCode(202)
  async notify(@Param('room') room: string, @Body() body: unknown) {
    const target = this.rooms.to(`chat:${room}`);
    target.emit('notice', body);
    return { delivered: await target.count() };
  }
}
