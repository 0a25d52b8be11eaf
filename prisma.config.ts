// For users who have Prisma's native engines: `npx prisma migrate deploy` applies the same migrations as
// `prism migrate` (which needs no native engine). The URL is built from the same variables as the app.
import { defineConfig } from 'prisma/config';

const e = process.env;
const url =
  e.DATABASE_URL ??
  `postgresql://${encodeURIComponent(e.POSTGRES_USER ?? 'prism_user')}:${encodeURIComponent(e.POSTGRES_PASSWORD ?? '')}` +
    `@${e.POSTGRES_HOST ?? '127.0.0.1'}:${e.POSTGRES_PORT ?? '15432'}/${e.POSTGRES_DB ?? 'prism_orchestration'}`;

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  datasource: { url },
});
