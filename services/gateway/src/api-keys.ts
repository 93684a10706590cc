import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';
import type { RateLimit } from './rate-limiter.js';

/**
 * API keys look like `<keyId>.<secret>`. The id is public and selects the entry, so verification costs one
 * hash, not one per configured key. Entries store only a salted hash of the secret:
 *   sha256:<salt b64url>:<sha256(salt ‖ secret) b64url>            (keys are 32 random bytes: a fast hash suffices)
 *   scrypt:<N>:<r>:<p>:<salt b64url>:<scrypt(secret, salt) b64url>  (for operators who want a slow KDF)
 * Successful verifications are remembered by sha256(token) so scrypt runs once per key, not once per request.
 */
export interface ApiKeyEntry {
  id: string;
  hash: string;
  /** `source` values this key may publish for; a trailing `*` matches a prefix. */
  sources: string[];
  /** Unit codes (`data.unitCode`) this key may publish for; a trailing `*` matches a prefix. */
  units: string[];
  /** Overrides the default rate limit for this key. */
  rate?: RateLimit | undefined;
}

export interface Principal {
  keyId: string;
  rate: RateLimit | undefined;
  mayPublishSource(source: string): boolean;
  mayPublishUnit(unitCode: string): boolean;
}

const KEY_ID = /^[A-Za-z0-9_-]{1,64}$/;

type ParsedHash =
  | { kind: 'sha256'; salt: Buffer; hash: Buffer }
  | { kind: 'scrypt'; salt: Buffer; hash: Buffer; options: ScryptOptions };

/** Parses a stored hash; returns a problem message instead of throwing so config loading can list them all. */
export function parseKeyHash(text: string): ParsedHash | string {
  const parts = text.split(':');
  if (parts[0] === 'sha256' && parts.length === 3) {
    const salt = Buffer.from(parts[1] as string, 'base64url');
    const hash = Buffer.from(parts[2] as string, 'base64url');
    if (salt.length < 8) return 'sha256 salt must be at least 8 bytes';
    if (hash.length !== 32) return 'sha256 hash must be 32 bytes';
    return { kind: 'sha256', salt, hash };
  }
  if (parts[0] === 'scrypt' && parts.length === 6) {
    const [N, r, p] = parts.slice(1, 4).map(Number) as [number, number, number];
    if (![N, r, p].every((n) => Number.isInteger(n) && n > 0)) return 'scrypt parameters must be positive integers';
    const salt = Buffer.from(parts[4] as string, 'base64url');
    const hash = Buffer.from(parts[5] as string, 'base64url');
    if (salt.length < 8) return 'scrypt salt must be at least 8 bytes';
    if (hash.length < 16) return 'scrypt hash must be at least 16 bytes';
    return { kind: 'scrypt', salt, hash, options: { N, r, p, maxmem: 256 * N * r + 1024 * 1024 } };
  }
  return 'hash must be "sha256:<salt>:<hash>" or "scrypt:<N>:<r>:<p>:<salt>:<hash>" (base64url)';
}

function scrypt(secret: string, salt: Buffer, length: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scryptCb(secret, salt, length, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

function sha256Salted(salt: Buffer, secret: string): Buffer {
  return createHash('sha256').update(salt).update(secret).digest();
}

function matcher(patterns: readonly string[]): (value: string) => boolean {
  const exact = new Set(patterns.filter((p) => !p.endsWith('*')));
  const prefixes = patterns.filter((p) => p.endsWith('*')).map((p) => p.slice(0, -1));
  // The events of a batch mostly share their source and unit (equal strings, not the same ones: each
  // is parsed from the body): the last answer is kept, sparing the Set's hashing of every event's copy.
  let last: string | undefined;
  let lastAnswer = false;
  return (value) => {
    if (value === last) return lastAnswer;
    let answer = exact.has(value);
    for (let i = 0; !answer && i < prefixes.length; i++) answer = value.startsWith(prefixes[i] as string);
    last = value;
    lastAnswer = answer;
    return answer;
  };
}

interface StoredKey {
  entry: ApiKeyEntry;
  hash: ParsedHash;
  principal: Principal;
}

export class ApiKeyStore {
  private readonly byId = new Map<string, StoredKey>();
  private readonly verified = new Map<string, Principal>();

  constructor(
    entries: readonly ApiKeyEntry[],
    private readonly maxCachedVerifications = 10_000,
  ) {
    for (const entry of entries) {
      const hash = parseKeyHash(entry.hash);
      if (typeof hash === 'string') throw new TypeError(`api key ${entry.id}: ${hash}`);
      const mayPublishSource = matcher(entry.sources);
      const mayPublishUnit = matcher(entry.units);
      this.byId.set(entry.id, {
        entry,
        hash,
        principal: { keyId: entry.id, rate: entry.rate, mayPublishSource, mayPublishUnit },
      });
    }
  }

  /** The principal for a presented token, or undefined for a missing, unknown or wrong key. */
  async authenticate(token: string | undefined): Promise<Principal | undefined> {
    if (token === undefined || token.length === 0 || token.length > 512) return undefined;
    const fingerprint = createHash('sha256').update(token).digest('base64url');
    const cached = this.verified.get(fingerprint);
    if (cached !== undefined) return cached;
    const dot = token.indexOf('.');
    if (dot <= 0) return undefined;
    const stored = this.byId.get(token.slice(0, dot));
    if (stored === undefined) return undefined;
    const secret = token.slice(dot + 1);
    const { hash } = stored;
    const derived =
      hash.kind === 'sha256' ? sha256Salted(hash.salt, secret) : await scrypt(secret, hash.salt, hash.hash.length, hash.options);
    if (derived.length !== hash.hash.length || !timingSafeEqual(derived, hash.hash)) return undefined;
    if (this.verified.size >= this.maxCachedVerifications) this.verified.clear();
    this.verified.set(fingerprint, stored.principal);
    return stored.principal;
  }
}

/** Reads `Authorization: Bearer <key>`; anything else counts as no credential. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  return match?.[1];
}

export function isValidKeyId(id: string): boolean {
  return KEY_ID.test(id);
}

/** A new random key and the hash to store for it; the key itself is shown once and never stored. */
export async function generateApiKey(
  id: string,
  scheme: 'sha256' | 'scrypt' = 'sha256',
): Promise<{ key: string; hash: string }> {
  if (!isValidKeyId(id)) throw new TypeError(`key id must match ${KEY_ID}`);
  const secret = randomBytes(32).toString('base64url');
  const salt = randomBytes(16);
  const hash =
    scheme === 'sha256'
      ? `sha256:${salt.toString('base64url')}:${sha256Salted(salt, secret).toString('base64url')}`
      : `scrypt:16384:8:1:${salt.toString('base64url')}:${(
          await scrypt(secret, salt, 32, { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 })
        ).toString('base64url')}`;
  return { key: `${id}.${secret}`, hash };
}
