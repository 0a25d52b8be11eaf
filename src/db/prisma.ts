import { PrismaPg } from '@prisma/adapter-pg';
import { postgresUrl, type PgEnv } from '../clients/postgres.ts';
import { PrismaClient } from '../generated/prisma/client.ts';

export type { PrismaClient };
export * as db from '../generated/prisma/client.ts';

/** Runs `work` with a client of its own (a small pool), disconnected afterwards: for one-off commands. */
export async function withPrisma<T>(env: PgEnv, work: (prisma: PrismaClient) => Promise<T>): Promise<T> {
  const prisma = createPrisma(env, { poolSize: 2 });
  try {
    return await work(prisma);
  } finally {
    await prisma.$disconnect();
  }
}

/** Whether PostgreSQL answers (readiness). */
export async function pingPostgres(prisma: PrismaClient): Promise<void> {
  await prisma.$queryRaw`SELECT 1`;
}

/** The typed PostgreSQL client of the product (Prisma 7 over the `pg` driver). Close it with `$disconnect()`. */
export function createPrisma(env: PgEnv, options: { poolSize?: number } = {}): PrismaClient {
  const adapter = new PrismaPg({ connectionString: postgresUrl(env), max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
