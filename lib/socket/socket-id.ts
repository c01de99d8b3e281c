import { randomBytes } from 'node:crypto';

/** 128 bits from the CSPRNG as 22 base64url characters; nothing the client sent goes into it. */
export function createSocketId(): string {
  return randomBytes(16).toString('base64url');
}
