import { runServer } from './harness.js';
import { rawPeer } from './raw-ws.js';

/** raw-send after every join was answered with a `ws.send`: the fair raw figure for a library that replies. */
await runServer(rawPeer({ write: 'send', replyOnJoin: true }));
