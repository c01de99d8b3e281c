/** Every message a user or a client can read, in one place so that they stay consistent. */

export const MISSING_MODULE =
  'RoomsAdapter needs RoomsModule: add RoomsModule.forRoot() (or forRootAsync()) to the imports of your root module.';

export const INVALID_ALLOWED_ORIGIN = (entry: unknown) =>
  `allowedOrigins: ${JSON.stringify(entry)} is not an origin; write scheme://host[:port], such as "https://example.com".`;

export const INVALID_UPGRADE_TIMEOUT =
  'upgradeTimeout is a positive number of milliseconds (Infinity: connections may take as long as they like).';

export const INVALID_COALESCE_WRITES = 'coalesceWrites is true (the default) or false.';

export const INVALID_RECOVERY =
  'recovery: maxDisconnection and maxBufferedBytes are positive finite numbers (milliseconds, bytes).';

export const INVALID_ROOM_NAME = (max: number) => `Room names must be non-empty strings of at most ${max} characters.`;
export const INVALID_TARGET_ROOM = 'Target rooms must be non-empty strings.';
export const INVALID_TIMEOUT = 'timeout() takes a non-negative number of milliseconds.';
export const ROOM_LIMIT = (max: number) => `A socket can be in at most ${max} rooms (its own id room aside).`;
export const PRIVATE_ROOM = 'Socket id rooms are private: a client cannot join or leave one.';
export const INVALID_PRESENCE_KEY = (max: number) => `A presence key must be a string of 1 to ${max} characters.`;
export const PRESENCE_META_TOO_LARGE = (max: number) => `Presence meta must be at most ${max} bytes of JSON.`;
export const UNSERIALISABLE_PRESENCE_META = (cause: unknown) =>
  `Presence meta cannot be serialised to JSON: ${cause instanceof Error ? cause.message : String(cause)}`;
export const PRIVATE_PRESENCE_ROOM = 'Socket id rooms are private: presence cannot be tracked in one.';
export const JOIN_REFUSED = (room: string) => `Joining room "${room}" was refused.`;
export const INVALID_EVENT_NAME = 'An event name must be a non-empty string.';
export const UNSERIALISABLE = (event: string, cause: unknown) =>
  `The payload of "${event}" cannot be serialised to JSON: ${cause instanceof Error ? cause.message : String(cause)}`;
export const ACK_TIMEOUT = (ms: number, got: number, expected: number) =>
  `Timed out after ${ms} ms waiting for acknowledgements: ${got} of ${expected} answered.`;

export const REQUEST_TIMEOUT = (ms: number, missing: number) =>
  `Timed out after ${ms} ms waiting for ${missing} other server(s) to answer.`;
export const REQUEST_FAILED = (message: string) => `Another server could not apply the request: ${message}`;
export const BROKER_DOWN = 'The broker is not connected: cluster requests cannot reach the other servers.';
export const REQUEST_REFUSED = (cause: string) =>
  `The broker refused the cluster request, so it cannot reach the other servers: ${cause}`;
export const ACK_REFUSED = (cause: string) =>
  `The broker refused the event, so the other servers' acknowledgements cannot come: ${cause}`;
export const PUBLISH_REFUSED = (cause: string, more: number) =>
  `the broker refused a message to the other servers (it is connected): ${cause}` +
  (more > 0 ? ` (${more} more refused since the last such warning)` : '');
export const NATS_DOWN = 'NATS is not connected: the message was not published.';
export const NATS_TOO_LARGE = (size: number, max: number) =>
  `NATS: a cluster message of ${size} bytes is over the server's max_payload of ${max} bytes; it was not published (raise max_payload in the NATS server's configuration).`;
export const INVALID_SUBJECT_PREFIX = (prefix: string) =>
  `NatsBroker subjectPrefix ${JSON.stringify(prefix)} is not a subject prefix: write dot-separated, non-empty tokens of at most 128 characters in all, without whitespace, "*", ">" or a leading "$".`;

// What RoomsEmitter throws or rejects with.
export const EMITTER_ROOM_LIST = 'Rooms to join or leave must be non-empty strings.';
export const EMITTER_CALLBACK = 'An emitter gets no answers: serverSideEmit takes no callback.';
export const EMITTER_CLOSED = 'The emitter is closed: nothing more can be published through it.';
export const EMITTER_NOT_CONNECTED = (ms: number) =>
  `The broker was not connected within ${ms} ms: the message was not published.`;

// Answers to bad inbound frames (the README's bad-input table lists them).
export const BINARY_FRAME = 'Binary frames are not supported: send UTF-8 JSON text.';
export const NOT_JSON = 'The frame is not valid JSON.';
export const NOT_AN_OBJECT = 'The frame must be a JSON object.';
export const NO_EVENT = 'The frame needs an "event" string.';
export const BAD_ID = 'A frame\'s "id" must be a string or a finite number.';
export const UNKNOWN_EVENT = (event: string) => `No handler for event "${event}".`;
export const TOO_MANY_PENDING = (max: number) =>
  `Too many frames in flight: at most ${max} of a socket's frames are handled at once; this one was dropped.`;
export const UNSERIALISABLE_REPLY = (event: string) =>
  `The reply to "${event.slice(0, 100)}" cannot be serialised to JSON.`;
export const HANDLER_FAILED = 'Internal server error';
export const PARSER_FAILED = 'The frame could not be parsed.';
export const PARSED_NOTHING = 'The frame holds no event this server handles.';
export const PARSED_NOT_AN_EVENT = 'The frame was not read as an event: expected { event, data } or { ack, data }.';
export const STRAY_ACK = 'The "ack" does not answer any pending request.';

// Close reasons (at most 123 bytes each).
export const SLOW_CONSUMER = 'slow consumer';
export const TOO_MANY_BAD_FRAMES = 'too many bad frames';
/** What `socket.send`'s callback gets for a message to a socket that is closing or was shed. */
export const NOT_OPEN = 'The socket is closing: the message was not sent.';
