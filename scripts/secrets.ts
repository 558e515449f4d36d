/**
 * Prints fresh production secrets as `NAME=value` lines (a `.env` for docker compose, or the
 * Secret of a Kubernetes overlay): INTERNAL_SECRET, ADMIN_PASSWORD and an Ed25519 JWT_PRIVATE_JWK.
 *   npx tsx scripts/secrets.ts >> .env
 */
import { randomBytes } from "node:crypto";
import { generateSigningKey } from "../packages/platform/src/auth.ts";

export async function generateSecrets(): Promise<Record<"INTERNAL_SECRET" | "ADMIN_PASSWORD" | "JWT_PRIVATE_JWK", string>> {
  const { privateJwk } = await generateSigningKey();
  return {
    INTERNAL_SECRET: randomBytes(32).toString("base64url"),
    ADMIN_PASSWORD: randomBytes(18).toString("base64url"),
    JWT_PRIVATE_JWK: JSON.stringify(privateJwk),
  };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const [k, v] of Object.entries(await generateSecrets())) console.log(`${k}=${k === "JWT_PRIVATE_JWK" ? `'${v}'` : v}`);
}
