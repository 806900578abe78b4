/**
 * `npm run -s user-token -- <userId>`: prints an identity token for that user, signed with
 * AUTH_JWT_SECRET from the environment (the development default when unset), with
 * AUTH_ISSUER/AUTH_AUDIENCE when set: what a login service would hand the user. Without a
 * userId, a new random user.
 */
import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { loadConfig } from '../src/config';
import { signDevIdentity } from '../src/identity';

async function main(): Promise<void> {
  const arg = process.argv[2];
  const userId = arg ?? randomUUID();
  if (!z.uuid().safeParse(userId).success) {
    console.error(`usage: npm run -s user-token -- <userId>   (a UUID; "${userId}" is not one)`);
    process.exit(2);
  }
  const config = loadConfig();
  if (!config.authJwtSecret) {
    console.error('AUTH_JWT_SECRET is not set (only AUTH_JWKS_URL): identity tokens come from the login service');
    process.exit(2);
  }
  const token = await signDevIdentity({ ...config, authJwtSecret: config.authJwtSecret }, userId.toLowerCase());
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
