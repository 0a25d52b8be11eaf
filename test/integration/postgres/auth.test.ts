import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPrisma } from '../../../src/db/prisma.ts';
import {
  createApiKey,
  hashPassword,
  provisionAccessControl,
  revokeApiKey,
  verifyApiKey,
  verifyPassword,
} from '../../../src/stores/postgres/auth.ts';
import { env, testId } from '../../helpers.ts';

describe('users, roles and API keys', () => {
  const prisma = createPrisma(env);
  let userId: string;
  beforeAll(async () => {
    await provisionAccessControl(prisma);
    const operator = await prisma.role.findUniqueOrThrow({ where: { name: 'operator' } });
    const user = await prisma.user.create({
      data: {
        username: testId('user'),
        passwordHash: await hashPassword('correct horse battery'),
        roles: { create: { roleId: operator.id } },
      },
    });
    userId = user.id;
  });
  afterAll(async () => {
    await prisma.user.delete({ where: { id: userId } }); // keys and role grants cascade
    await prisma.$disconnect();
  });

  it('stores only a hash of the key and resolves the key to its user, roles and permissions', async () => {
    const { id, key } = await createApiKey(prisma, { userId, name: 'ci' });
    const row = await prisma.apiKey.findUniqueOrThrow({ where: { id } });
    expect(row.keyHash).toMatch(/^[0-9a-f]{64}$/);
    // The secret part, after `prism_<prefix>_` (base64url: it may itself contain '_').
    expect(JSON.stringify(row)).not.toContain(key.slice(`prism_${row.prefix}_`.length));
    const principal = await verifyApiKey(prisma, key);
    expect(principal).toMatchObject({ userId, roles: ['operator'] });
    expect(principal!.permissions.has('tasks:submit')).toBe(true);
    expect(principal!.permissions.has('users:manage')).toBe(false);
    expect((await prisma.apiKey.findUniqueOrThrow({ where: { id } })).lastUsedAt).toBeInstanceOf(Date);
  });

  it('rejects a wrong, malformed, revoked or expired key', async () => {
    const { id, key } = await createApiKey(prisma, { userId, name: 'to revoke' });
    const tampered = key.slice(0, -1) + (key.endsWith('A') ? 'B' : 'A');
    expect(await verifyApiKey(prisma, tampered)).toBeNull();
    expect(await verifyApiKey(prisma, 'not-a-key')).toBeNull();
    await revokeApiKey(prisma, id);
    expect(await verifyApiKey(prisma, key)).toBeNull();
    const expired = await createApiKey(prisma, {
      userId,
      name: 'expired',
      expiresAt: new Date(Date.now() - 1000),
    });
    expect(await verifyApiKey(prisma, expired.key)).toBeNull();
  });

  it('hashes passwords with a salt', async () => {
    const a = await hashPassword('s3cret-pass');
    const b = await hashPassword('s3cret-pass');
    expect(a).not.toBe(b);
    expect(await verifyPassword('s3cret-pass', a)).toBe(true);
    expect(await verifyPassword('wrong-pass', a)).toBe(false);
  });

  it('provisions roles idempotently', async () => {
    const before = await prisma.rolePermission.count();
    await provisionAccessControl(prisma);
    expect(await prisma.rolePermission.count()).toBe(before);
  });
});
