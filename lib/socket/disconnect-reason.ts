/** Why a socket went away, as `@OnDisconnecting`, `@OnDisconnect` and `handleDisconnect` see it. */
export type DisconnectReason = 'transport close' | 'server disconnect' | 'server shutting down' | 'ping timeout';
