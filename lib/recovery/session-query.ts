/** Bytes of a session token from the CSPRNG: 144 bits, as 24 base64url characters. */
const TOKEN_BYTES = 18;
const TOKEN_SHAPE = /^[A-Za-z0-9_-]{24}$/;
/** An offset as this server writes them: decimal digits, within the integers a double holds exactly. */
const OFFSET_SHAPE = /^\d{1,15}$/;

export { TOKEN_BYTES };

/** What a reconnecting client asked for: the `session` and `offset` query parameters, as sent. */
export interface SessionQuery {
  /** The token, when it has the shape of one this server issues; `null` when absent, `''` when malformed. */
  readonly token: string | null;
  /** The offset as a number, `undefined` when absent, `NaN` when malformed. */
  readonly offset: number | undefined;
}

/** Reads the two reserved query parameters of an upgrade's request target; nothing else. */
export function sessionQueryOf(url: string): SessionQuery {
  const query = url.indexOf('?');
  if (query === -1) return { token: null, offset: undefined };
  const params = new URLSearchParams(url.slice(query + 1));
  const token = params.get('session');
  const offset = params.get('offset');
  return {
    token: token === null ? null : TOKEN_SHAPE.test(token) ? token : '',
    offset: offset === null ? undefined : OFFSET_SHAPE.test(offset) ? Number(offset) : NaN,
  };
}
