// The PostgreSQL client of the product (Prisma 7 over the `pg` driver): how it is built, pinged and closed.
import { PrismaPg } from '@prisma/adapter-pg';
import { pgPoolConfig, type PgEnv } from '../clients/postgres.ts';
import { PrismaClient } from '../generated/prisma/client.ts';

// Only the client's type leaves this module: the generated models and their types are the store's
// (src/stores/postgres), which re-exports the row types other modules need.
export type { PrismaClient };

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
  // The same pool configuration as createPgPool's: with several servers, connections go to the primary.
  const adapter = new PrismaPg({ ...pgPoolConfig(env), max: options.poolSize ?? 10 });
  return new PrismaClient({ adapter });
}
