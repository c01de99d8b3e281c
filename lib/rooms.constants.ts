/** Metadata keys and defaults shared by the module, the decorators and the adapter. */

export const ROOM_OPERATIONS_METADATA = 'nestjs-rooms:operations';
export const ON_DISCONNECTING_METADATA = 'nestjs-rooms:on-disconnecting';
export const ON_DISCONNECT_METADATA = 'nestjs-rooms:on-disconnect';
export const ON_SERVER_EVENT_METADATA = 'nestjs-rooms:on-server-event';

export const DEFAULT_MAX_ROOMS_PER_SOCKET = 1000;
export const DEFAULT_MAX_ROOM_NAME_LENGTH = 256;
/** How long a dropped socket's session waits for its client (recovery on). */
export const DEFAULT_MAX_DISCONNECTION = 120_000;
/** Frame bytes one server holds for recovery. */
export const DEFAULT_MAX_BUFFERED_BYTES = 64 * 2 ** 20;
/** Largest presence `meta`, in UTF-8 bytes of its JSON. */
export const DEFAULT_PRESENCE_MAX_META_BYTES = 1024;
/** Longest presence key, in characters. */
export const PRESENCE_MAX_KEY_LENGTH = 256;
export const DEFAULT_MAX_PAYLOAD = 1024 * 1024;
export const DEFAULT_HEARTBEAT_INTERVAL = 25_000;
export const DEFAULT_LOW_WATERMARK = 16 * 1024;
export const DEFAULT_HIGH_WATERMARK = 8 * 1024 * 1024;
export const DEFAULT_MAX_PENDING_FRAMES = 64;
/** Milliseconds a connection has, from connecting, to complete its WebSocket upgrade. */
export const DEFAULT_UPGRADE_TIMEOUT = 10_000;
export const DEFAULT_MAX_BAD_FRAMES = 100;
export const DEFAULT_BAD_FRAME_WINDOW = 10_000;
/** The longest `message` an exception frame carries, in characters. */
export const EXCEPTION_MESSAGE_LIMIT = 256;
/** Bytes of each heartbeat ping's random payload, which only the answering pong can echo. */
export const PING_PAYLOAD_BYTES = 8;
/** `ws`'s receive limits, set explicitly: fragments of one message, and chunks it buffers for one message (both close with 1008). */
export const MAX_FRAGMENTS = 16 * 1024;
export const MAX_BUFFERED_CHUNKS = 256 * 1024;
/** How long a slow consumer's close frame may wait behind its unread data before the connection is cut. */
export const SLOW_CONSUMER_GRACE = 1_000;
export const DEFAULT_REQUEST_TIMEOUT = 5_000;
export const DEFAULT_BROKER_HEARTBEAT = 5_000;
export const DEFAULT_HEARTBEAT_TIMEOUT = 10_000;
/** How long `app.close()` waits for clients to answer the 1001 close frame before cutting them off. */
export const SHUTDOWN_GRACE = 1_000;
