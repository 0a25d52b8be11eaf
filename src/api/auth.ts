// API keys: `Authorization: Bearer <key>` or `x-api-key: <key>`, resolved to a user and the permissions of
// their roles in PostgreSQL. Checked when the request arrives, before its body is read or validated, so an
// unauthenticated caller learns nothing about the route's input.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { PrismaClient } from '../db/prisma.ts';
import { verifyApiKey, type Principal } from '../stores/postgres/auth.ts';
import { PrismError } from '../errors.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** The caller, on routes that need a permission. */
    principal: Principal | null;
  }
}

export function apiKeyOf(request: FastifyRequest): string | undefined {
  const authorization = request.headers.authorization;
  if (authorization) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
    return m ? m[1] : undefined;
  }
  const header = request.headers['x-api-key'];
  return (Array.isArray(header) ? header[0] : header)?.trim() || undefined;
}

/** The caller of a route that needs a permission (the auth hook has set it before any handler runs). */
export function principalOf(request: FastifyRequest): Principal {
  if (!request.principal) throw new Error(`route ${request.url} declares no permission but needs the caller`);
  return request.principal;
}

/**
 * One hook, three steps, in this order: find the caller (the key's row, when the route needs a permission
 * and a key was sent), count the request against the caller's rate limit (`limit`, from limits.ts: the key's
 * own count, or the client address's for anything without a valid key, so that guessing keys is limited
 * too), then refuse it with 401 or 403 — before its body is read.
 */
export function registerAuth(
  app: FastifyInstance,
  prisma: PrismaClient,
  limit: (request: FastifyRequest, reply: FastifyReply) => Promise<void> = async () => {},
): void {
  app.decorateRequest('principal', null);
  app.addHook('onRequest', async (request, reply) => {
    const permission = request.routeOptions.config.permission;
    const key = permission ? apiKeyOf(request) : undefined;
    const principal = key ? await verifyApiKey(prisma, key) : null;
    request.principal = principal;
    await limit(request, reply);
    if (!permission) return;
    if (!key) {
      throw new PrismError(
        'UNAUTHENTICATED',
        'missing API key: send `Authorization: Bearer <key>` or `x-api-key: <key>` ' +
          '(an administrator creates keys with `prism apikey create --user <name> --role <role>`)',
      );
    }
    if (!principal) {
      throw new PrismError(
        'UNAUTHENTICATED',
        'invalid API key: it is unknown, revoked or expired, or its user is disabled; ask for a new key',
      );
    }
    if (!principal.permissions.has(permission)) {
      throw new PrismError(
        'FORBIDDEN',
        `the API key of user "${principal.username}" (roles: ${principal.roles.join(', ') || 'none'}) lacks the ` +
          `permission "${permission}": ask an administrator for a role that grants it`,
      );
    }
  });
}

/**
 * The user a request acts for: the caller, or the `userId` it names when that is someone else and the
 * caller may manage users (a service submitting on behalf of a person).
 */
export function actingUserId(principal: Principal, requested: string | undefined): string {
  if (!requested || requested === principal.userId) return principal.userId;
  if (principal.permissions.has('users:manage')) return requested;
  throw new PrismError(
    'FORBIDDEN',
    `body.userId names another user: only a key with the permission "users:manage" may act for someone else; omit userId`,
  );
}
