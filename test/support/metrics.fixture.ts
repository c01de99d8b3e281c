import { Module } from '@nestjs/common';
import { MessageBody, SubscribeMessage, WebSocketGateway, type OnGatewayConnection } from '@nestjs/websockets';
import { JoinRoom, LeaveRoom, RoomsModule, type Broker, type RoomSocket } from '../../lib/index.js';
import type { RoomsMetricsSnapshot } from '../../lib/index.js';

/**
 * The gateway of the metrics tests: joins and leaves, an echo, a reply JSON cannot write, and a
 * handler that holds its frame until released (frames in flight).
 */
@WebSocketGateway({ path: '/m' })
export class MetricsGateway implements OnGatewayConnection {
  private readonly held: Array<() => void> = [];

  handleConnection(socket: RoomSocket): void {
    socket.sendEvent('welcome', { id: socket.id });
  }

  @SubscribeMessage('join')
  @JoinRoom((data: { room: string }) => data.room)
  join(@MessageBody() data: { room: string }) {
    return { event: 'joined', data: data.room };
  }

  @SubscribeMessage('leave')
  @LeaveRoom((data: { room: string }) => data.room)
  leave(@MessageBody() data: { room: string }) {
    return { event: 'left', data: data.room };
  }

  @SubscribeMessage('echo')
  echo(@MessageBody() data: unknown) {
    return { event: 'echo', data };
  }

  @SubscribeMessage('cyclic')
  cyclic() {
    const data: Record<string, unknown> = {};
    data.self = data;
    return { event: 'cyclic', data };
  }

  @SubscribeMessage('hold')
  hold() {
    return new Promise<{ event: string }>((resolve) => this.held.push(() => resolve({ event: 'released' })));
  }

  release(): void {
    for (const resolve of this.held.splice(0)) resolve();
  }
}

@Module({ imports: [RoomsModule.forRoot()], providers: [MetricsGateway] })
export class MetricsModule {}

/** The metrics module on a broker of the test's (a cluster). */
export function metricsModuleOn(broker: Broker) {
  @Module({ imports: [RoomsModule.forRoot({ broker })], providers: [MetricsGateway] })
  class MetricsOnBrokerModule {}
  return MetricsOnBrokerModule;
}

type Counts = Record<string, number>;

/** What changed between two snapshots, flattened to `name` / `name.label` keys; unchanged figures left out. */
export function metricsDelta(before: RoomsMetricsSnapshot, after: RoomsMetricsSnapshot): Counts {
  const delta: Counts = {};
  for (const [name, value] of Object.entries(after)) {
    if (name === 'clusterRequestSeconds') continue;
    const was = (before as unknown as Record<string, unknown>)[name];
    if (typeof value === 'number') {
      if (value !== was) delta[name] = value - (was as number);
      continue;
    }
    for (const [label, count] of Object.entries(value as Counts)) {
      const previous = (was as Counts)[label];
      if (count !== previous) delta[`${name}.${label}`] = count - previous;
    }
  }
  return delta;
}
