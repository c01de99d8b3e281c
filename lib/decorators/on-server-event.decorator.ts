import { SetMetadata } from '@nestjs/common';
import { ON_SERVER_EVENT_METADATA } from '../rooms.constants.js';

/**
 * Handles `serverSideEmit(event, ...args)` from other servers with the sender's exact `args`; the
 * (awaited) return value answers `serverSideEmitWithAck`. Any provider.
 */
export const OnServerEvent = (event: string): MethodDecorator => SetMetadata(ON_SERVER_EVENT_METADATA, event);
