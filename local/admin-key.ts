/**
 * The key the local runtimes' admin routes demand (`x-api-key`), checked
 * before anything is provisioned, whichever runtime starts.
 */
import { randomBytes } from 'node:crypto';

/** Shortest admin key the local stack accepts: an empty or short key would leave the admin routes open to guessing. */
export const MIN_ADMIN_KEY_LENGTH = 16;

export class AdminKeyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AdminKeyError';
  }
}

/**
 * The key the admin routes will demand: the caller's, else `DROPLINE_ADMIN_KEY`,
 * else a generated one. A set but empty variable is refused, not replaced:
 * whoever set it meant a key, and the admin routes must never open to none.
 * Only visible ASCII can travel in an `x-api-key` header as written.
 */
export function resolveAdminKey(given?: string, env: NodeJS.ProcessEnv = process.env): string {
  const key = given ?? env.DROPLINE_ADMIN_KEY;
  if (key === undefined) return randomBytes(18).toString('base64url');
  const source = given === undefined ? 'DROPLINE_ADMIN_KEY' : 'The admin key (DROPLINE_ADMIN_KEY)';
  if (key.length < MIN_ADMIN_KEY_LENGTH) {
    throw new AdminKeyError(
      `${source} must be at least ${MIN_ADMIN_KEY_LENGTH} characters long, got ${key.length}; ` +
        'unset DROPLINE_ADMIN_KEY to have one generated',
    );
  }
  if (!/^[\x21-\x7e]+$/.test(key)) {
    throw new AdminKeyError(`${source} may hold only visible ASCII characters (no spaces or control characters)`);
  }
  return key;
}
