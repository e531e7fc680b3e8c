// Transcript signatures (issue 13 (5), docs/PROTOCOL.md §6.6): the browser twin of
// app/crypto/transcript.py, function for function (envelope_digest there is envelopeDigest).
// d = SHA-256(aad ‖ ct); T = SHA-256("vh/v1/transcript" ‖ conv ‖ u32 seg ‖ u32 n ‖ d_1 … d_n)
// over the envelopes sorted by (role byte, inst bytes, seq); the device signs
// "vh/v1/transcript-sig" ‖ conv ‖ u32 seg ‖ u32 n ‖ T. `covers` names the signed envelopes per
// stream as [first, last] seq ranges.

import { b64urlDecode, b64urlEncode, concat, u32, utf8 } from "./bytes.js";
import { CS, aad } from "./message.js";
import { sign, verify } from "./sign.js";

export const DIGEST_BYTES = 32;
export const MAX_STREAMS = 64;
export const MAX_RANGES = 1024;
export const MAX_COVERED = 100000;

async function sha256(bytes) {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
}

/** SHA-256(aad ‖ ct) of one envelope; conv, inst and ct are bytes. */
export function envelopeDigest(conv, seg, role, inst, seq, ct) {
  return sha256(concat(aad(CS, conv, seg, role, inst, seq), ct));
}

/** The digest of an envelope as it travels (base64url fields). */
export function digestOfEnvelope(envelope) {
  const [conv, inst, ct] = [envelope.conv, envelope.inst, envelope.ct].map(b64urlDecode);
  return envelopeDigest(conv, envelope.seg, envelope.role, inst, envelope.seq, ct);
}

function compareBytes(a, b) {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    if (a[i] !== b[i]) return a[i] - b[i];
  }
  return a.length - b.length;
}

/** The key of one envelope's place: "role|inst|seq" (inst base64url). */
export function idOf(role, inst, seq) {
  return `${role}|${inst}|${seq}`;
}

/**
 * T over `items` ({role, inst: bytes, seq, digest}), sorted here by (role, inst bytes, seq).
 */
export function transcriptDigest(conv, seg, items) {
  const ordered = [...items].sort(
    (a, b) =>
      (a.role < b.role ? -1 : a.role > b.role ? 1 : 0) ||
      compareBytes(a.inst, b.inst) ||
      a.seq - b.seq,
  );
  for (let i = 1; i < ordered.length; i++) {
    const [a, b] = [ordered[i - 1], ordered[i]];
    if (a.role === b.role && compareBytes(a.inst, b.inst) === 0 && a.seq === b.seq) {
      throw new TypeError("an envelope is listed twice");
    }
  }
  const head = concat(utf8("vh/v1/transcript"), conv, u32(seg), u32(ordered.length));
  return sha256(concat(head, ...ordered.map((item) => item.digest)));
}

/** "vh/v1/transcript-sig" ‖ conv ‖ u32 seg ‖ u32 n ‖ T. */
export function signatureMessage(conv, seg, n, digest) {
  if (digest.length !== DIGEST_BYTES) throw new TypeError("the transcript digest is 32 bytes");
  return concat(utf8("vh/v1/transcript-sig"), conv, u32(seg), u32(n), digest);
}

export function signTranscript(signingKey, conv, seg, n, digest) {
  return sign(signingKey, signatureMessage(conv, seg, n, digest));
}

export function verifyTranscript(sigPub, conv, seg, n, digest, signature) {
  return verify(sigPub, signatureMessage(conv, seg, n, digest), signature);
}

/** `covers` of held items ({role, inst: base64url, seq}): streams sorted, seqs as ranges. */
export function coversOf(items) {
  const streams = new Map();
  for (const { role, inst, seq } of items) {
    const key = `${role}|${inst}`;
    if (!streams.has(key)) streams.set(key, { role, inst, bytes: b64urlDecode(inst), seqs: [] });
    streams.get(key).seqs.push(seq);
  }
  const sorted = [...streams.values()].sort(
    (a, b) => (a.role < b.role ? -1 : a.role > b.role ? 1 : 0) || compareBytes(a.bytes, b.bytes),
  );
  return sorted.map(({ role, inst, seqs }) => {
    const ranges = [];
    for (const seq of [...new Set(seqs)].sort((a, b) => a - b)) {
      const last = ranges.at(-1);
      if (last && last[1] === seq - 1) last[1] = seq;
      else ranges.push([seq, seq]);
    }
    return { role, inst, seqs: ranges };
  });
}

/** The ids ("role|inst|seq") a `covers` list names; throws TypeError for another shape. */
export function parseCovers(raw) {
  if (!Array.isArray(raw) || raw.length > MAX_STREAMS) throw new TypeError("bad covers");
  const ids = new Set();
  const streams = new Set();
  let ranges = 0;
  for (const stream of raw) {
    const { role, inst, seqs } = stream ?? {};
    if ((role !== "Y" && role !== "C") || typeof inst !== "string" || inst.length !== 22) {
      throw new TypeError("bad covers stream");
    }
    b64urlDecode(inst);
    if (streams.has(`${role}|${inst}`) || !Array.isArray(seqs) || seqs.length === 0) {
      throw new TypeError("bad covers stream");
    }
    streams.add(`${role}|${inst}`);
    ranges += seqs.length;
    if (ranges > MAX_RANGES) throw new TypeError("too many ranges");
    let previous = 0;
    for (const pair of seqs) {
      const [first, last] = Array.isArray(pair) && pair.length === 2 ? pair : [];
      if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last)) {
        throw new TypeError("bad range");
      }
      if (!(previous < first && first <= last) || ids.size + last - first + 1 > MAX_COVERED) {
        throw new TypeError("bad range");
      }
      for (let seq = first; seq <= last; seq++) ids.add(idOf(role, inst, seq));
      previous = last + 1;
    }
  }
  return ids;
}

/**
 * The `transcript_sig` frame signing `held` (a Map id -> {role, inst, seq, digest}, inst
 * base64url) with the device's non-extractable ECDSA key.
 */
export async function makeSignature(signingKey, conv, seg, held) {
  const convBytes = b64urlDecode(conv);
  const items = [...held.values()];
  const digest = await transcriptDigest(
    convBytes,
    seg,
    items.map((item) => ({ ...item, inst: b64urlDecode(item.inst) })),
  );
  const sig = await signTranscript(signingKey, convBytes, seg, items.length, digest);
  return {
    type: "transcript_sig",
    conv,
    seg,
    n: items.length,
    digest: b64urlEncode(digest),
    sig: b64urlEncode(sig),
    covers: coversOf(items),
  };
}

/**
 * Check a `transcript_sig` frame against `held` (as for makeSignature) with the device's
 * certified `sigPub`: {status: "ok" | "mismatch" | "incomplete", missing: ids, uncovered: held
 * ids the signature does not name}. "incomplete": some signed envelope is not held (yet).
 */
export async function checkSignature(frame, held, sigPub) {
  let covered, digest, sig;
  try {
    covered = parseCovers(frame.covers);
    digest = b64urlDecode(frame.digest);
    sig = b64urlDecode(frame.sig);
  } catch {
    return { status: "mismatch", missing: [], uncovered: [] };
  }
  const convBytes = b64urlDecode(frame.conv);
  const signed =
    covered.size === frame.n &&
    digest.length === DIGEST_BYTES &&
    (await verifyTranscript(sigPub, convBytes, frame.seg, frame.n, digest, sig));
  const uncovered = [...held.keys()].filter((id) => !covered.has(id));
  if (!signed) return { status: "mismatch", missing: [], uncovered };
  const missing = [...covered].filter((id) => !held.has(id));
  if (missing.length > 0) return { status: "incomplete", missing, uncovered };
  const items = [...covered].map((id) => held.get(id));
  const mine = await transcriptDigest(
    convBytes,
    frame.seg,
    items.map((item) => ({ ...item, inst: b64urlDecode(item.inst) })),
  );
  const same = compareBytes(mine, digest) === 0;
  return { status: same ? "ok" : "mismatch", missing: [], uncovered };
}
