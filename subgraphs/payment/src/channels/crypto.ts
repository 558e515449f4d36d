/** The providers' signature and encryption primitives, on node:crypto only. */
import {
  createCipheriv,
  createDecipheriv,
  createPrivateKey,
  createPublicKey,
  createSign,
  createVerify,
  randomBytes,
  type KeyObject,
} from "node:crypto";

function wrap(pem: string, label: string): string {
  const body = pem.replace(/\s+/g, "");
  return `-----BEGIN ${label}-----\n${(body.match(/.{1,64}/g) ?? []).join("\n")}\n-----END ${label}-----\n`;
}

/** A private key from PEM, or from the bare base64 Alipay's tools print (PKCS#8, or PKCS#1). */
export function privateKey(pem: string): KeyObject {
  if (pem.includes("-----BEGIN")) return createPrivateKey(pem);
  try {
    return createPrivateKey(wrap(pem, "PRIVATE KEY"));
  } catch {
    return createPrivateKey(wrap(pem, "RSA PRIVATE KEY"));
  }
}

/** A public key from PEM (SPKI or certificate), or from bare base64 SPKI (Alipay's public key). */
export function publicKey(pem: string): KeyObject {
  if (pem.includes("-----BEGIN")) return createPublicKey(pem);
  return createPublicKey(wrap(pem, "PUBLIC KEY"));
}

/** SHA256withRSA (PKCS#1 v1.5), base64 — Alipay RSA2 and WeChat Pay v3. */
export function rsaSha256Sign(data: string, key: string | KeyObject): string {
  return createSign("RSA-SHA256")
    .update(data, "utf8")
    .sign(typeof key === "string" ? privateKey(key) : key, "base64");
}

export function rsaSha256Verify(data: string, signature: string, key: string | KeyObject): boolean {
  try {
    return createVerify("RSA-SHA256")
      .update(data, "utf8")
      .verify(typeof key === "string" ? publicKey(key) : key, signature, "base64");
  } catch {
    return false;
  }
}

/**
 * Alipay's content to sign: parameters sorted by name (ASCII), empty values and the excluded keys
 * left out, joined as `k=v&k=v` with raw (not URL-encoded) values.
 */
export function alipaySignContent(params: Record<string, string | undefined | null>, exclude: string[] = ["sign"]): string {
  return Object.keys(params)
    .filter((k) => !exclude.includes(k) && params[k] !== undefined && params[k] !== null && params[k] !== "")
    .sort()
    .map((k) => `${k}=${params[k]}`)
    .join("&");
}

/** WeChat Pay APIv3 AEAD_AES_256_GCM: ciphertext is base64 of encrypted bytes followed by the 16-byte tag. */
export function aesGcmDecrypt(apiV3Key: string, nonce: string, associatedData: string, ciphertext: string): string {
  const key = Buffer.from(apiV3Key, "utf8");
  if (key.length !== 32) throw new Error("APIv3 key must be 32 bytes");
  const data = Buffer.from(ciphertext, "base64");
  if (data.length < 17) throw new Error("ciphertext too short");
  const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(nonce, "utf8"));
  decipher.setAuthTag(data.subarray(data.length - 16));
  decipher.setAAD(Buffer.from(associatedData ?? "", "utf8"));
  return Buffer.concat([decipher.update(data.subarray(0, data.length - 16)), decipher.final()]).toString("utf8");
}

export function aesGcmEncrypt(apiV3Key: string, nonce: string, associatedData: string, plaintext: string): string {
  const cipher = createCipheriv("aes-256-gcm", Buffer.from(apiV3Key, "utf8"), Buffer.from(nonce, "utf8"));
  cipher.setAAD(Buffer.from(associatedData, "utf8"));
  const enc = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
  return Buffer.concat([enc, cipher.getAuthTag()]).toString("base64");
}

export function nonceStr(n = 16): string {
  return randomBytes(n)
    .toString("hex")
    .slice(0, n * 2 > 32 ? 32 : n * 2);
}

/** "yyyy-MM-dd HH:mm:ss" in China time (Alipay's timestamp format). */
export function chinaTimestamp(d = new Date()): string {
  const t = new Date(d.getTime() + 8 * 3600_000).toISOString();
  return `${t.slice(0, 10)} ${t.slice(11, 19)}`;
}

/** Parses "yyyy-MM-dd HH:mm:ss" (China time) or an RFC 3339 string. */
export function parseProviderTime(s: string | undefined): Date | undefined {
  if (!s) return undefined;
  if (/^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}$/.test(s)) return new Date(`${s.replace(" ", "T")}+08:00`);
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/**
 * The raw JSON text of `key`'s value in a provider response (Alipay signs the exact text of the
 * `<method>_response` object, so it must be cut out, not re-serialised).
 */
export function rawJsonValue(text: string, key: string): string | undefined {
  const at = text.indexOf(`"${key}"`);
  if (at < 0) return undefined;
  let i = text.indexOf(":", at + key.length + 2) + 1;
  while (/\s/.test(text[i] ?? "")) i++;
  if (text[i] !== "{") return undefined;
  let depth = 0;
  let inStr = false;
  for (let j = i; j < text.length; j++) {
    const c = text[j];
    if (inStr) {
      if (c === "\\") j++;
      else if (c === '"') inStr = false;
    } else if (c === '"') inStr = true;
    else if (c === "{") depth++;
    else if (c === "}" && --depth === 0) return text.slice(i, j + 1);
  }
  return undefined;
}
