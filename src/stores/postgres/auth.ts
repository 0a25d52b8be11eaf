// Users, roles and API keys. API keys are 256-bit random strings: only their SHA-256 is stored (a slow hash
// adds nothing for keys of that entropy and would slow every request). Passwords use scrypt.
import { createHash, randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import type { PrismaClient } from '../../db/prisma.ts';

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number) => Promise<Buffer>;

export function hashApiKey(key: string): string {
  return createHash('sha256').update(key).digest('hex');
}

/** `prism_<prefix>_<secret>`: the prefix finds the row and is safe to show; the whole key is the secret. */
export function generateApiKey(): { key: string; prefix: string; hash: string } {
  const prefix = randomBytes(6).toString('hex');
  const key = `prism_${prefix}_${randomBytes(32).toString('base64url')}`;
  return { key, prefix, hash: hashApiKey(key) };
}

/** Stores a new key for the user and returns it in clear text — the only time it exists outside the caller. */
export async function createApiKey(
  prisma: PrismaClient,
  input: { userId: string; name: string; expiresAt?: Date },
) {
  const { key, prefix, hash } = generateApiKey();
  const row = await prisma.apiKey.create({
    data: {
      userId: input.userId,
      name: input.name,
      prefix,
      keyHash: hash,
      expiresAt: input.expiresAt ?? null,
    },
  });
  return { id: row.id, key, prefix };
}

export interface Principal {
  /** The API key's id (never the key): what the API's rate limit counts per. */
  keyId: string;
  userId: string;
  username: string;
  roles: string[];
  permissions: Set<string>;
}

/** The user behind an API key with their roles and permissions, or null for an unknown, revoked or expired key. */
export async function verifyApiKey(prisma: PrismaClient, key: string): Promise<Principal | null> {
  const m = /^prism_([0-9a-f]{12})_[A-Za-z0-9_-]{43}$/.exec(key);
  if (!m) return null;
  const row = await prisma.apiKey.findUnique({
    where: { prefix: m[1] },
    include: {
      user: {
        include: {
          roles: { include: { role: { include: { permissions: { include: { permission: true } } } } } },
        },
      },
    },
  });
  if (!row) return null;
  const expected = Buffer.from(row.keyHash, 'hex');
  const actual = Buffer.from(hashApiKey(key), 'hex');
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) return null;
  const now = new Date();
  if (row.revokedAt || (row.expiresAt && row.expiresAt <= now) || !row.user.isActive) return null;
  await prisma.apiKey.update({ where: { id: row.id }, data: { lastUsedAt: now } });
  const roles = row.user.roles.map((ur) => ur.role);
  return {
    keyId: row.id,
    userId: row.user.id,
    username: row.user.username,
    roles: roles.map((r) => r.name),
    permissions: new Set(roles.flatMap((r) => r.permissions.map((rp) => rp.permission.action))),
  };
}

export async function revokeApiKey(prisma: PrismaClient, id: string): Promise<void> {
  await prisma.apiKey.update({ where: { id }, data: { revokedAt: new Date() } });
}

const scryptKeyLength = 64;

export async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, scryptKeyLength);
  return `scrypt$${salt.toString('base64url')}$${hash.toString('base64url')}`;
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [scheme, salt, hash] = stored.split('$');
  if (scheme !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64url');
  const actual = await scrypt(password, Buffer.from(salt, 'base64url'), expected.length);
  return timingSafeEqual(expected, actual);
}

/** The product's roles and what each may do. `prism provision` keeps the database in step with this. */
export const rolePermissions: Record<string, { description: string; permissions: string[] }> = {
  admin: {
    description: 'everything, including users, keys and agent registration',
    permissions: [
      'tasks:submit',
      'tasks:read',
      'tasks:cancel',
      'tasks:feedback',
      'tasks:retry',
      'tasks:approve',
      'agents:register',
      'agents:read',
      'knowledge:ingest',
      'knowledge:search',
      'memory:read',
      'memory:write',
      'users:manage',
      'alerts:read',
      'alerts:manage',
    ],
  },
  operator: {
    description: 'submits and steers tasks, reads agents and knowledge, acknowledges and resolves alerts',
    permissions: [
      'tasks:submit',
      'tasks:read',
      'tasks:cancel',
      'tasks:feedback',
      'tasks:retry',
      'tasks:approve',
      'agents:read',
      'knowledge:search',
      'memory:read',
      'alerts:read',
      'alerts:manage',
    ],
  },
  agent: {
    description: 'an agent process: registers itself, reads and writes knowledge and memory',
    permissions: [
      'agents:register',
      'agents:read',
      'tasks:read',
      'knowledge:ingest',
      'knowledge:search',
      'memory:read',
      'memory:write',
    ],
  },
  viewer: {
    description: 'reads tasks, agents, knowledge and alerts',
    permissions: ['tasks:read', 'agents:read', 'knowledge:search', 'alerts:read'],
  },
};

/** Creates the roles and permissions above, adding what is missing; never removes a grant. */
export async function provisionAccessControl(
  prisma: PrismaClient,
): Promise<{ roles: number; permissions: number }> {
  const actions = [...new Set(Object.values(rolePermissions).flatMap((r) => r.permissions))];
  for (const action of actions) {
    await prisma.permission.upsert({ where: { action }, create: { action }, update: {} });
  }
  for (const [name, { description, permissions }] of Object.entries(rolePermissions)) {
    const role = await prisma.role.upsert({
      where: { name },
      create: { name, description },
      update: { description },
    });
    const perms = await prisma.permission.findMany({ where: { action: { in: permissions } } });
    await prisma.rolePermission.createMany({
      data: perms.map((p) => ({ roleId: role.id, permissionId: p.id })),
      skipDuplicates: true,
    });
  }
  return { roles: Object.keys(rolePermissions).length, permissions: actions.length };
}

/** Creates the user if missing and grants it the role (both once); the role must exist. */
export async function grantRole(prisma: PrismaClient, input: { username: string; role: string }) {
  const role = await prisma.role.findUniqueOrThrow({ where: { name: input.role } });
  const existing = await prisma.user.findUnique({ where: { username: input.username } });
  const user = existing ?? (await prisma.user.create({ data: { username: input.username } }));
  await prisma.userRole.createMany({ data: [{ userId: user.id, roleId: role.id }], skipDuplicates: true });
  return { user, role, createdUser: !existing };
}

/** The key with this id and its user, or null. */
export async function findApiKey(prisma: PrismaClient, keyId: string) {
  return prisma.apiKey.findUnique({ where: { id: keyId }, include: { user: true } });
}

/** Every key (of one user, if named), oldest first, with its user's roles. */
export async function listApiKeys(prisma: PrismaClient, username?: string) {
  return prisma.apiKey.findMany({
    where: username ? { user: { username } } : {},
    include: { user: { include: { roles: { include: { role: true } } } } },
    orderBy: { createdAt: 'asc' },
  });
}
