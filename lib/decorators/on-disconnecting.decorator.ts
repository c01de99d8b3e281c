import { SetMetadata } from '@nestjs/common';
import { ON_DISCONNECTING_METADATA } from '../rooms.constants.js';

/**
 * Runs `(socket, rooms, reason)` when a socket is going, while it is still in its rooms. `rooms`
 * is a snapshot that stays intact for async work; the method is not awaited. Any provider.
 */
export const OnDisconnecting = (): MethodDecorator => SetMetadata(ON_DISCONNECTING_METADATA, true);
