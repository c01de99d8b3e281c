import { Module } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway } from '@nestjs/websockets';
import { RoomsModule } from '../../lib/index.js';

/**
 * A gateway that behaves the same on RoomsAdapter and on Nest's own WsAdapter: it uses no rooms
 * and answers with `WsResponse`s (which both adapters send as `{event, data}`).
 */
@WebSocketGateway({ path: '/parse' })
export class ParserGateway {
  @SubscribeMessage('say')
  say(@MessageBody() data: unknown) {
    return { event: 'said', data };
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }
}

/** The gateway for Nest's WsAdapter. */
@Module({ providers: [ParserGateway] })
export class PlainParserModule {}

/** The gateway for RoomsAdapter, which needs RoomsModule. */
@Module({ imports: [RoomsModule.forRoot()], providers: [ParserGateway] })
export class RoomsParserModule {}
