import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { RoomService } from '../lib/index.js';
import type { Person } from './people.js';
import { DEFAULT_ROOMS, isPublicRoom, isUserRoom, publicName, publicRoom } from './room-names.js';

export interface RoomCount {
  name: string;
  members: number;
}

type List = 'rooms' | 'people';

/**
 * Keeps every page's lists live. The rooms' lifecycle events say when a public room or a user
 * room gained or lost a member; then everyone gets the new `rooms` (public rooms with member
 * counts) or `people` (named sockets) list, once per turn of the event loop however many joins
 * and leaves it saw.
 */
@Injectable()
export class Directory implements OnModuleInit {
  private readonly logger = new Logger(Directory.name);
  private readonly stale = new Set<List>();
  private publishing = Promise.resolve();

  constructor(private readonly rooms: RoomService) {}

  onModuleInit(): void {
    const changed = (room: string) => {
      if (isPublicRoom(room)) this.markStale('rooms');
      else if (isUserRoom(room)) this.markStale('people');
    };
    this.rooms.on('join-room', changed).on('leave-room', changed);
  }

  /** The public rooms (the default ones and every other that has members), by name. */
  async publicRooms(): Promise<RoomCount[]> {
    const rooms = new Set(DEFAULT_ROOMS.map(publicRoom));
    for (const room of await this.rooms.allRooms()) if (isPublicRoom(room)) rooms.add(room);
    const counts = await Promise.all(
      [...rooms].map(async (room) => ({ name: publicName(room), members: await this.rooms.in(room).count() })),
    );
    return counts.sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Every socket that has a name, one entry per tab. */
  async people(): Promise<Person[]> {
    const sockets = await this.rooms.fetchSockets();
    return sockets
      .filter((socket) => typeof socket.data.name === 'string')
      .map((socket) => ({ id: socket.id, name: socket.data.name as string }))
      .sort((a, b) => a.name.localeCompare(b.name) || a.id.localeCompare(b.id));
  }

  private markStale(list: List): void {
    if (this.stale.size === 0) setImmediate(() => (this.publishing = this.publishing.then(() => this.publish())));
    this.stale.add(list);
  }

  /** Chained, so that lists go out in the order their changes happened. */
  private async publish(): Promise<void> {
    const lists = [...this.stale];
    this.stale.clear();
    try {
      if (lists.includes('rooms')) this.rooms.emit('rooms', await this.publicRooms());
      if (lists.includes('people')) this.rooms.emit('people', await this.people());
    } catch (error) {
      this.logger.error(error);
    }
  }
}
