import { SetMetadata } from '@nestjs/common';
import { ON_DISCONNECT_METADATA } from '../rooms.constants.js';

/** Runs `(socket, rooms, reason)` after a socket has left every room; `rooms` is what it was in. Any provider. */
export const OnDisconnect = (): MethodDecorator => SetMetadata(ON_DISCONNECT_METADATA, true);
