// Issuing and revoking API keys for people and services (`prism apikey ...`).
import type { PrismaClient } from '../db/prisma.ts';
import {
  createApiKey,
  findApiKey,
  grantRole,
  listApiKeys,
  provisionAccessControl,
  revokeApiKey,
  rolePermissions,
} from '../stores/postgres/auth.ts';

export interface IssuedKey {
  keyId: string;
  /** The key in clear text: shown once, stored nowhere (only its hash is). */
  key: string;
  prefix: string;
  userId: string;
  username: string;
  role: string;
  createdUser: boolean;
}

/** Creates the user if missing, grants the role, and returns a new key for the user. */
export async function issueApiKey(
  prisma: PrismaClient,
  input: { username: string; role: string; name?: string; expiresAt?: Date },
): Promise<IssuedKey> {
  if (!rolePermissions[input.role]) {
    throw new Error(`unknown role "${input.role}": use one of ${Object.keys(rolePermissions).join(', ')}`);
  }
  await provisionAccessControl(prisma);
  const { user, role, createdUser } = await grantRole(prisma, input);
  const { id, key, prefix } = await createApiKey(prisma, {
    userId: user.id,
    name: input.name ?? `${input.role} key`,
    ...(input.expiresAt ? { expiresAt: input.expiresAt } : {}),
  });
  return {
    keyId: id,
    key,
    prefix,
    userId: user.id,
    username: user.username,
    role: role.name,
    createdUser,
  };
}

/** Revokes a key by its id; requests with it get 401 from then on. */
export async function revokeKey(
  prisma: PrismaClient,
  keyId: string,
): Promise<{ keyId: string; username: string }> {
  const row = /^[0-9a-f-]{36}$/i.test(keyId) ? await findApiKey(prisma, keyId) : null;
  if (!row) throw new Error(`no API key with id "${keyId}": \`prism apikey list\` shows the ids`);
  await revokeApiKey(prisma, row.id);
  return { keyId: row.id, username: row.user.username };
}

export async function listKeys(prisma: PrismaClient, username?: string) {
  const rows = await listApiKeys(prisma, username);
  return rows.map((r) => ({
    keyId: r.id,
    prefix: r.prefix,
    name: r.name,
    username: r.user.username,
    roles: r.user.roles.map((ur) => ur.role.name),
    createdAt: r.createdAt,
    lastUsedAt: r.lastUsedAt,
    expiresAt: r.expiresAt,
    revokedAt: r.revokedAt,
  }));
}
