import { BadRequestException, Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { RoomService } from '../lib/index.js';
import { label, LABEL_RULE, projectRoom } from './room-names.js';

/** `POST /projects/:id/notify` `{"text"}` reaches every page that follows that project. */
@Controller('projects')
export class ProjectsController {
  constructor(private readonly rooms: RoomService) {}

  @Post(':id/notify')
  @HttpCode(202)
  async notify(@Param('id') param: string, @Body() body: { text?: unknown } = {}) {
    const id = label(param);
    if (id === undefined) throw new BadRequestException(`A project id is ${LABEL_RULE}.`);
    const text = typeof body.text === 'string' && body.text.trim() !== '' ? body.text.trim() : 'updated';
    const followers = this.rooms.to(projectRoom(id));
    followers.emit('project updated', { id, text });
    return { delivered: await followers.count() };
  }
}
