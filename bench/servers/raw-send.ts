import { runServer } from './harness.js';
import { rawPeer } from './raw-ws.js';

/** `ws`, `JSON.stringify` once, `ws.send(text)` per socket; nothing sent before the first broadcast. */
await runServer(rawPeer({ write: 'send', replyOnJoin: false }));
