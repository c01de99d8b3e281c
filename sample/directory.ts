import { Injectable, Logger, type OnModuleInit } from '@nestjs/common';
import { RoomService } from '../lib/index.js';
import type { Person } from './people.js';
import { DEFAULT_ROOMS, isPublicRoom, isUserRoom, publicName, publicRoom } from './room-names.js';

/** One person in a room: the name they picked, and how many of their tabs are in it. */
export interface RoomPerson {
  name: string;
  tabs: number;
}

export interface RoomCount {
  name: string;
  /** Tabs in the room. */
  members: number;
  /** Who is in it, one entry per person, by name. */
  people: RoomPerson[];
}

type List = 'rooms' | 'people';

/**
 * Keeps every page's lists live. The `rooms` list (public rooms, with who is in each) comes from
 * presence: a tab that joins a chat room is tracked there under its person's name, and every
 * server hears of every change anywhere, so each one sends the new list to its own tabs, from
 * memory. The `people` list (named sockets) follows the user rooms' lifecycle events and goes to
 * everyone. Either goes out once per turn of the event loop however many changes it saw.
 */
@Injectable()
export class Directory implements OnModuleInit {
  private readonly logger = new Logger(Directory.name);
  private readonly stale = new Set<List>();
  /** Public rooms somebody is tracked in, anywhere in the cluster. */
  private readonly occupied = new Set<string>();
  private publishing = Promise.resolve();

  constructor(private readonly rooms: RoomService) {}

  onModuleInit(): void {
    const changed = (room: string) => {
      if (isUserRoom(room)) this.markStale('people');
    };
    this.rooms.on('join-room', changed).on('leave-room', changed);
    this.rooms.on('presence', (room) => {
      if (!isPublicRoom(room)) return;
      if (Object.keys(this.rooms.presence(room)).length > 0) this.occupied.add(room);
      else this.occupied.delete(room);
      this.markStale('rooms');
    });
  }

  /** The public rooms (the default ones and every other that has people), by name, with who is in each. */
  publicRooms(): RoomCount[] {
    const rooms = new Set([...DEFAULT_ROOMS.map(publicRoom), ...this.occupied]);
    return [...rooms]
      .map((room) => {
        const present = this.rooms.presence(room);
        const people = Object.keys(present)
          .sort()
          .map((name) => ({ name, tabs: present[name].length }));
        const members = people.reduce((sum, person) => sum + person.tabs, 0);
        return { name: publicName(room), members, people };
      })
      .sort((a, b) => a.name.localeCompare(b.name));
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
      // Every server hears every presence change and tells its own tabs.
      if (lists.includes('rooms')) this.rooms.local.emit('rooms', this.publicRooms());
      if (lists.includes('people')) this.rooms.emit('people', await this.people());
    } catch (error) {
      this.logger.error(error);
    }
  }
}
