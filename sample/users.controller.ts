import { BadRequestException, Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RoomService } from '../lib/index.js';
import { label, LABEL_RULE, userRoom } from './room-names.js';

/** `POST /users/:name/notify` `{"text"}` reaches every tab of that person, once each. */
@Controller('users')
export class UsersController {
  constructor(private readonly rooms: RoomService) {}

  @Post(':name/notify')
  @HttpCode(202)
  async notify(@Param('name') param: string, @Body() body: { text?: unknown } = {}) {
    const name = label(param);
    if (name === undefined) throw new BadRequestException(`A name is ${LABEL_RULE}.`);
    const text = typeof body.text === 'string' && body.text.trim() !== '' ? body.text.trim() : 'ping';
    const tabs = this.rooms.to(userRoom(name));
    tabs.emit('notification', { text });
    return { delivered: await tabs.count() };
  }
}
