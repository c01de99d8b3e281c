import { UseInterceptors } from '@nestjs/common';
import { INTERCEPTORS_METADATA } from '@nestjs/common/constants.js';
import { RoomsInterceptor } from '../rooms.interceptor.js';
import { ROOM_OPERATIONS_METADATA } from '../rooms.constants.js';
import type { RoomOperation } from './room-operation.types.js';

/**
 * Records one room operation on a handler and makes sure the one rooms interceptor runs it.
 * Operations run in the order the decorators are written, top to bottom.
 * @internal
 */
export function roomOperation(operation: RoomOperation): MethodDecorator {
  return (target, key, descriptor) => {
    const handler = descriptor.value as object;
    const operations = (Reflect.getMetadata(ROOM_OPERATIONS_METADATA, handler) as RoomOperation[] | undefined) ?? [];
    Reflect.defineMetadata(ROOM_OPERATIONS_METADATA, [operation, ...operations], handler);
    const interceptors = (Reflect.getMetadata(INTERCEPTORS_METADATA, handler) as unknown[] | undefined) ?? [];
    if (!interceptors.includes(RoomsInterceptor.instance)) {
      UseInterceptors(RoomsInterceptor.instance)(target, key, descriptor);
    }
  };
}
