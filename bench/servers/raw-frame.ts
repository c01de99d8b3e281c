import { runServer } from './harness.js';
import { rawPeer } from './raw-ws.js';

/**
 * One pre-built frame buffer written to each socket's TCP socket: the practical limit of Node's
 * fan-out. It answers each join, as every library peer does: a connection its server has never
 * written to costs the kernel less per later write (measured: the native write's self time 11 %
 * lower at low load), which would be the TCP stack's doing, not the library's.
 */
await runServer(rawPeer({ write: 'frame', replyOnJoin: true }));
