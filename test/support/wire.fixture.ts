import {
  Injectable,
  Module,
  ParseIntPipe,
  UseGuards,
  UseInterceptors,
  type CallHandler,
  type CanActivate,
  type ExecutionContext,
  type NestInterceptor,
  type PipeTransform,
} from '@nestjs/common';
import {
  ConnectedSocket,
  MessageBody,
  SubscribeMessage,
  WebSocketGateway,
  WsException,
  type OnGatewayConnection,
} from '@nestjs/websockets';
import { map, Observable } from 'rxjs';
import { RoomService, RoomsModule, type RoomSocket } from '../../lib/index.js';
import { nextTurn } from './timing.js';

/** Lets a frame through only when its data says `{ "pass": true }`. */
@Injectable()
export class PassGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const data = context.switchToWs().getData<{ pass?: unknown } | undefined>();
    return data?.pass === true;
  }
}

/** Upper-cases a string body. */
@Injectable()
export class UpperPipe implements PipeTransform<string, string> {
  transform(value: string): string {
    return String(value).toUpperCase();
  }
}

/** Wraps whatever the handler returns in a `wrapped` WsResponse. */
@Injectable()
export class WrapInterceptor implements NestInterceptor {
  intercept(_context: ExecutionContext, next: CallHandler): Observable<unknown> {
    return next.handle().pipe(map((value) => ({ event: 'wrapped', data: { original: value } })));
  }
}

/** A body this long (and very compressible) makes `ws` deflate it, which makes its sender busy. */
export const BIG_TEXT = 'x'.repeat(64 * 1024);

/**
 * The gateway of the wire-protocol tests: one handler per shape of return value, plus guards,
 * pipes, interceptors, exceptions and ordering. Sends `welcome` with the socket id on connect.
 */
@WebSocketGateway({ path: '/wire' })
export class WireGateway implements OnGatewayConnection {
  constructor(private readonly rooms: RoomService) {}

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  /** A marker: the next frame a client reads after it proves that nothing came before it. */
  @SubscribeMessage('marker')
  marker() {
    return { event: 'marker' };
  }

  @SubscribeMessage('respond')
  respond(@MessageBody() data: unknown) {
    return { event: 'responded', data };
  }

  /** Returns its body as is: any value that is not a WsResponse. */
  @SubscribeMessage('plain')
  plain(@MessageBody() data: unknown) {
    return data;
  }

  @SubscribeMessage('nothing')
  nothing(): undefined {
    return undefined;
  }

  @SubscribeMessage('null')
  returnsNull(): null {
    return null;
  }

  @SubscribeMessage('promise')
  async promise(@MessageBody() data: unknown) {
    await nextTurn();
    return { event: 'promised', data };
  }

  @SubscribeMessage('promise-plain')
  async promisePlain(@MessageBody() data: unknown) {
    await Promise.resolve();
    return data;
  }

  /** Several values, some at once and some later; `null` in between is skipped. */
  @SubscribeMessage('stream')
  stream(): Observable<unknown> {
    return new Observable((subscriber) => {
      subscriber.next({ event: 'tick', data: 1 });
      subscriber.next('two');
      subscriber.next(null);
      const timer = setImmediate(() => {
        subscriber.next({ event: 'tick', data: 3 });
        subscriber.next(undefined);
        subscriber.next({ event: 'tick', data: 4 });
        subscriber.complete();
      });
      return () => clearImmediate(timer);
    });
  }

  @SubscribeMessage('ws-exception')
  wsException(): never {
    throw new WsException('nope');
  }

  @SubscribeMessage('object-exception')
  objectException(): never {
    throw new WsException({ status: 'error', message: 'custom failure', code: 42 });
  }

  @SubscribeMessage('plain-error')
  plainError(): never {
    throw new Error('boom: this text must not reach the client');
  }

  @SubscribeMessage('async-error')
  async asyncError(): Promise<never> {
    await Promise.resolve();
    throw new WsException('late nope');
  }

  @SubscribeMessage('guarded')
  @UseGuards(PassGuard)
  guarded(@MessageBody() data: { pass: boolean }) {
    return { event: 'passed', data };
  }

  @SubscribeMessage('upper')
  upper(@MessageBody(UpperPipe) data: string) {
    return data;
  }

  @SubscribeMessage('double')
  double(@MessageBody(new ParseIntPipe({ exceptionFactory: (error) => new WsException(error) })) n: number) {
    return { event: 'doubled', data: n * 2 };
  }

  /** `ParseIntPipe` as shipped throws an HTTP `BadRequestException`, which Nest's WS filter treats as unknown. */
  @SubscribeMessage('double-http')
  doubleHttp(@MessageBody(ParseIntPipe) n: number) {
    return { event: 'doubled', data: n * 2 };
  }

  @SubscribeMessage('wrapped')
  @UseInterceptors(WrapInterceptor)
  wrapped(@MessageBody() data: unknown) {
    return data;
  }

  /** a, b, c by three routes to the socket, then d as the reply. */
  @SubscribeMessage('order')
  order(@ConnectedSocket() socket: RoomSocket) {
    socket.sendEvent('a');
    this.rooms.to(socket.id).emit('b');
    socket.sendEvent('c');
    return { event: 'd' };
  }

  /** The same with payloads large enough for `ws` to deflate them (when negotiated), interleaving replies. */
  @SubscribeMessage('order-big')
  orderBig(@ConnectedSocket() socket: RoomSocket): Observable<unknown> {
    return new Observable((subscriber) => {
      subscriber.next({ event: 'r1', data: BIG_TEXT });
      this.rooms.to(socket.id).emit('b1', BIG_TEXT);
      this.rooms.to(socket.id).compress(false).emit('b2', 'small');
      socket.sendEvent('s1', BIG_TEXT);
      subscriber.next({ event: 'r2', data: 'small' });
      this.rooms.to(socket.id).emit('b3');
      socket.sendEvent('s2');
      subscriber.next({ event: 'r3', data: BIG_TEXT });
      subscriber.complete();
    });
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [WireGateway] })
export class WireModule {}
