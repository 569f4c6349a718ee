/**
 * Authentication of the WebRTC signalling exchange. The entry relay POSTs its offer (SDP with
 * every gathered candidate) to the exit relay's signalling endpoint; the endpoint answers with its
 * own description. Both bodies are JSON and carry an HMAC-SHA256 in the {@link AUTH_HEADER}
 * header, keyed with a key derived from the pre-shared key by HKDF, so only a holder of the key
 * can make the endpoint allocate a peer connection, and an answer cannot be forged.
 *
 * - The MAC covers a direction label and the exact body bytes: an offer cannot pass for an
 *   answer, and nothing in the body can change without the MAC failing.
 * - An offer carries its wall-clock time and a random nonce. The endpoint refuses offers more than
 *   {@link MAX_CLOCK_SKEW_MS} away from its clock and nonces it has seen within that window, so a
 *   recorded offer cannot be replayed.
 * - The answer echoes the offer's nonce under its own MAC: a recorded answer does not fit a new
 *   offer.
 *
 * The SDP itself needs no secrecy (DTLS and bering's own AEAD protect the data); the MACs only
 * keep strangers from costing the endpoint work and from steering the connection.
 */
import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';

/** The one URL path the endpoint serves; everything else is a bare 404. */
export const SIGNAL_PATH = '/bering/webrtc';
/** The header that carries a body's MAC (base64url). */
export const AUTH_HEADER = 'x-bering-auth';
/** Offers timestamped further than this from the endpoint's clock are refused. */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** A description with a dozen candidates is ~2 KB; anything far larger is not ours. */
export const MAX_BODY_BYTES = 64 * 1024;

const HKDF_SALT = 'bering';
const HKDF_INFO = 'bering webrtc signalling v1';
const NONCE = /^[0-9a-f]{32}$/;

/** The signalling MAC key for `psk` (32 bytes); derive once per relay. */
export function signallingKey(psk: Uint8Array): Buffer {
  return Buffer.from(hkdfSync('sha256', psk, HKDF_SALT, HKDF_INFO, 32));
}

/** A body ready to send, with the value of its {@link AUTH_HEADER}. */
export interface Sealed {
  body: string;
  auth: string;
}

/** An offer the endpoint accepted. */
export interface Offer {
  nonce: string;
  sdp: string;
}

function mac(key: Buffer, label: 'offer' | 'answer', body: Uint8Array | string): Buffer {
  return createHmac('sha256', key).update(`${label}\n`).update(body).digest();
}

function macMatches(key: Buffer, label: 'offer' | 'answer', body: Uint8Array, auth: string | undefined): boolean {
  if (auth === undefined) return false;
  const given = Buffer.from(auth, 'base64url');
  const expected = mac(key, label, body);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** JSON.parse that returns null instead of throwing, for bodies already authenticated. */
function parseObject(body: Uint8Array): Record<string, unknown> | null {
  try {
    const v: unknown = JSON.parse(Buffer.from(body).toString('utf8'));
    return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

/** The entry relay's offer body, timestamped `wallNow` with a fresh nonce. */
export function sealOffer(key: Buffer, sdp: string, wallNow: number, nonce = randomBytes(16).toString('hex')): Sealed & { nonce: string } {
  const body = JSON.stringify({ ts: wallNow, nonce, sdp });
  return { body, auth: mac(key, 'offer', body).toString('base64url'), nonce };
}

/**
 * Remembers the nonces of accepted offers until they could no longer pass the clock check, so
 * each offer is accepted once. Only authentic offers get here, so its size is bounded by what the
 * key's holders send in {@link MAX_CLOCK_SKEW_MS} twice over.
 */
export class NonceCache {
  private readonly expiries = new Map<string, number>();

  /** Records `nonce`; false if it was already there (a replay). */
  add(nonce: string, wallNow: number): boolean {
    for (const [n, expiry] of this.expiries) {
      // Insertion order is expiry order (every expiry is wallNow + a constant, give or take skew).
      if (expiry > wallNow) break;
      this.expiries.delete(n);
    }
    if (this.expiries.has(nonce)) return false;
    this.expiries.set(nonce, wallNow + 2 * MAX_CLOCK_SKEW_MS);
    return true;
  }
}

/**
 * Checks an offer as the endpoint received it: MAC, shape, timestamp, then nonce (last, so only
 * an otherwise valid offer uses up its nonce). Returns null for anything else; the caller answers
 * every null the same way, so a prober learns nothing from which check failed.
 */
export function openOffer(key: Buffer, body: Uint8Array, auth: string | undefined, wallNow: number, seen: NonceCache): Offer | null {
  if (!macMatches(key, 'offer', body, auth)) return null;
  const v = parseObject(body);
  if (v === null || typeof v.ts !== 'number' || typeof v.nonce !== 'string' || typeof v.sdp !== 'string') return null;
  if (!NONCE.test(v.nonce) || Math.abs(v.ts - wallNow) > MAX_CLOCK_SKEW_MS) return null;
  if (!seen.add(v.nonce, wallNow)) return null;
  return { nonce: v.nonce, sdp: v.sdp };
}

/** The endpoint's answer to the offer with `nonce`. */
export function sealAnswer(key: Buffer, nonce: string, sdp: string): Sealed {
  const body = JSON.stringify({ nonce, sdp });
  return { body, auth: mac(key, 'answer', body).toString('base64url') };
}

/** The answer's SDP if it is authentic and answers the offer with `nonce`; null otherwise. */
export function openAnswer(key: Buffer, body: Uint8Array, auth: string | undefined, nonce: string): string | null {
  if (!macMatches(key, 'answer', body, auth)) return null;
  const v = parseObject(body);
  if (v === null || v.nonce !== nonce || typeof v.sdp !== 'string') return null;
  return v.sdp;
}
