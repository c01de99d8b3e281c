import { MessageBody, SubscribeMessage, WebSocketGateway, WsException } from '@nestjs/websockets';
import { JoinRoom, LeaveRoom } from '../lib/index.js';
import { label, LABEL_RULE, projectRoom } from './room-names.js';

interface ProjectMessage {
  project?: unknown;
}

function projectOf(data: ProjectMessage): string {
  const id = label(data?.project);
  if (id === undefined) throw new WsException(`A project id is ${LABEL_RULE}.`);
  return id;
}

/**
 * Entity rooms: following a project is being in `project:<id>`, which `POST /projects/:id/notify`
 * reaches. It shares `/chat` (and its sockets) with the chat gateway.
 */
@WebSocketGateway({ path: '/chat' })
export class ProjectsGateway {
  @SubscribeMessage('follow')
  @JoinRoom((data: ProjectMessage) => projectRoom(projectOf(data)))
  follow(@MessageBody() data: ProjectMessage) {
    return { event: 'following', data: projectOf(data) };
  }

  @SubscribeMessage('unfollow')
  @LeaveRoom((data: ProjectMessage) => projectRoom(projectOf(data)))
  unfollow(@MessageBody() data: ProjectMessage) {
    return { event: 'unfollowed', data: projectOf(data) };
  }
}
