import { Injectable, type OnModuleDestroy, type OnModuleInit } from '@nestjs/common';
import { register } from 'prom-client';
import { RoomService } from '../lib/index.js';
import { registerRoomsMetrics } from '../lib/prometheus/index.js';

/**
 * Puts the rooms' metrics on prom-client's global registry, the one `@willsoto/nestjs-prometheus`
 * serves at `GET /metrics`; they are read from `rooms.metrics()` at each scrape.
 */
@Injectable()
export class RoomsMetricsExporter implements OnModuleInit, OnModuleDestroy {
  private unregister: (() => void) | undefined;

  constructor(private readonly rooms: RoomService) {}

  onModuleInit(): void {
    this.unregister = registerRoomsMetrics(register, this.rooms);
  }

  onModuleDestroy(): void {
    this.unregister?.();
  }
}
