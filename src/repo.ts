// The repository's root: where the files the product ships live (Prisma schema and migrations, service
// configuration under stack/, docker-compose.yml).
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('..', import.meta.url)));
