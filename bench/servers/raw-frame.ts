import { runServer } from './harness.js';
import { rawPeer } from './raw-ws.js';

/** One pre-built frame buffer written to each socket's TCP socket: the practical limit of Node's fan-out. */
await runServer(rawPeer({ write: 'frame', replyOnJoin: false }));
