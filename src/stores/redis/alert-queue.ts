// The alert queue: a Redis Stream read through a consumer group. An alert stays pending until a handler
// acknowledges it; if the handler crashes, `reclaim` hands it to another consumer, so none is lost quietly.
import type { Redis } from 'ioredis';
import { parseAlert, type Alert, type AlertInput } from './alert-schema.ts';
import { execAll } from './exec.ts';
import { redisKeys } from './keys.ts';
import { luaScript } from './lua.ts';

/**
 * Default bound of the stream (XADD MAXLEN ~). At a few hundred bytes an alert, 10,000 entries are a few
 * MB. Trimming drops the oldest entries even when unacknowledged, so the bound only bites when alerts pile
 * up unhandled; `reclaim` then reports the dropped pending ids in `deletedIds`.
 */
export const DEFAULT_ALERT_STREAM_MAXLEN = 10_000;

export interface AlertQueueOptions {
  prefix?: string;
  /** The stream key. Default `<prefix>:alerts`. */
  stream?: string;
  /** The consumer group of the alert handlers. Default `alert-handlers`. */
  group?: string;
  /** Approximate maximum stream length. Default DEFAULT_ALERT_STREAM_MAXLEN. */
  maxLen?: number;
}

export interface ReceivedAlert {
  /** The stream entry id; pass it to `ack` once the alert is handled. */
  id: string;
  alert: Alert;
}

export interface ReclaimResult {
  alerts: ReceivedAlert[];
  /** Pending entries that no longer exist (trimmed by MAXLEN); Redis has dropped them from the group. */
  deletedIds: string[];
}

export interface AlertQueue {
  readonly stream: string;
  readonly deadLetterStream: string;
  readonly group: string;
  /** Validates and appends the alert; returns its entry id. Throws InvalidAlertError naming bad fields. */
  enqueueAlert(alert: AlertInput): Promise<string>;
  /**
   * Appends the alert once per `changeKey` (a fingerprint and the time of the change), however often it is
   * called: null when that change was queued already. What the alert handler uses, so a redelivered event
   * neither loses nor doubles an entry.
   */
  enqueueOnce(
    alert: AlertInput,
    changeKey: { fingerprint: string; changedAtMs: number },
  ): Promise<string | null>;
  /**
   * Up to `count` alerts never delivered to any consumer, waiting up to `blockMs` (0: do not wait) for one.
   * A blocking read holds its connection: give each reader its own (`redis.duplicate()`).
   * Entries that are not valid alerts go to `deadLetterStream` with the reason and are acknowledged.
   */
  readAlerts(consumer: string, count: number, blockMs: number): Promise<ReceivedAlert[]>;
  /** Marks alerts handled; returns how many were pending. */
  ack(ids: string[]): Promise<number>;
  /** Takes over up to `count` alerts that other consumers read but did not ack within `minIdleMs`. */
  reclaim(consumer: string, minIdleMs: number, count: number): Promise<ReclaimResult>;
  /** Alerts read but not yet acknowledged, across all consumers. */
  pendingCount(): Promise<number>;
}

type StreamEntry = [id: string, fields: string[] | null];

// How long a queued change is remembered: far longer than any redelivery of its event could take.
const queuedMarkerTtlMs = 7 * 24 * 3600_000;

// KEYS: queued marker, stream. ARGV: marker TTL, MAXLEN, alert JSON. The marker and the entry together or
// neither: returns the new entry id, or false when the change was queued before.
const enqueueOnceScript =
  luaScript(`if not redis.call('SET', KEYS[1], '1', 'NX', 'PX', ARGV[1]) then return false end
return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*', 'alert', ARGV[3])`);

function fieldValue(fields: string[] | null, name: string): string | undefined {
  for (let i = 0; fields && i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function checkCount(what: string, value: number, min: number): void {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new Error(`alert queue: ${what} ${value} is invalid; use a whole number >= ${min}`);
  }
}

export function createAlertQueue(redis: Redis, options: AlertQueueOptions = {}): AlertQueue {
  const keys = redisKeys(options.prefix);
  const stream = options.stream ?? keys.alerts();
  const deadLetterStream = keys.deadAlerts(stream);
  const group = options.group ?? 'alert-handlers';
  const maxLen = options.maxLen ?? DEFAULT_ALERT_STREAM_MAXLEN;
  checkCount('maxLen', maxLen, 1);

  let groupReady: Promise<void> | undefined;
  const ensureGroup = (): Promise<void> => {
    groupReady ??= (async () => {
      try {
        // From id 0, not $: alerts enqueued before the first handler started must be handled too.
        await redis.xgroup('CREATE', stream, group, '0', 'MKSTREAM');
      } catch (error) {
        if (!(error instanceof Error && error.message.startsWith('BUSYGROUP'))) throw error;
      }
    })().catch((error: unknown) => {
      groupReady = undefined;
      throw error;
    });
    return groupReady;
  };

  // The group vanishes when someone deletes the stream; create it again once instead of failing forever.
  const withGroup = async <T>(command: () => Promise<T>): Promise<T> => {
    await ensureGroup();
    try {
      return await command();
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith('NOGROUP'))) throw error;
      groupReady = undefined;
      await ensureGroup();
      return command();
    }
  };

  // Parses entries; moves those that are not alerts to the dead-letter stream so no reader chokes on them.
  const toAlerts = async (entries: StreamEntry[]): Promise<ReceivedAlert[]> => {
    const alerts: ReceivedAlert[] = [];
    for (const [id, fields] of entries) {
      try {
        const raw = fieldValue(fields, 'alert');
        if (raw === undefined) throw new Error('the entry has no "alert" field');
        alerts.push({ id, alert: parseAlert(JSON.parse(raw)) });
      } catch (error) {
        const reason = error instanceof Error ? error.message : String(error);
        const entry = JSON.stringify(fields);
        await execAll(
          redis
            .multi()
            .xadd(deadLetterStream, 'MAXLEN', '~', maxLen, '*', 'id', id, 'reason', reason, 'entry', entry)
            .xack(stream, group, id),
        );
      }
    }
    return alerts;
  };

  return {
    stream,
    deadLetterStream,
    group,

    async enqueueAlert(input) {
      const alert = parseAlert(input);
      const id = await redis.xadd(stream, 'MAXLEN', '~', maxLen, '*', 'alert', JSON.stringify(alert));
      if (id === null) throw new Error(`alert stream ${stream} refused the entry: check the stream key`);
      return id;
    },

    async enqueueOnce(input, { fingerprint, changedAtMs }) {
      const alert = parseAlert(input);
      const id = await enqueueOnceScript(
        redis,
        [keys.alertQueued(fingerprint, changedAtMs), stream],
        [queuedMarkerTtlMs, maxLen, JSON.stringify(alert)],
      );
      return typeof id === 'string' ? id : null;
    },

    async readAlerts(consumer, count, blockMs) {
      checkCount('count', count, 1);
      checkCount('blockMs', blockMs, 0);
      const block = blockMs > 0 ? ['BLOCK', blockMs] : [];
      const reply = (await withGroup(() =>
        redis.call('XREADGROUP', 'GROUP', group, consumer, 'COUNT', count, ...block, 'STREAMS', stream, '>'),
      )) as [stream: string, entries: StreamEntry[]][] | null;
      return toAlerts(reply?.[0]?.[1] ?? []);
    },

    async ack(ids) {
      if (ids.length === 0) return 0;
      return redis.xack(stream, group, ...ids);
    },

    async reclaim(consumer, minIdleMs, count) {
      checkCount('minIdleMs', minIdleMs, 0);
      checkCount('count', count, 1);
      const claimed: StreamEntry[] = [];
      const deletedIds: string[] = [];
      let cursor = '0-0';
      // XAUTOCLAIM scans the pending list in pages; follow its cursor until enough are claimed or it wraps.
      do {
        const [next, entries, deleted] = (await withGroup(() =>
          redis.xautoclaim(stream, group, consumer, minIdleMs, cursor, 'COUNT', count - claimed.length),
        )) as [string, StreamEntry[], string[]];
        claimed.push(...entries);
        deletedIds.push(...deleted);
        cursor = next;
      } while (cursor !== '0-0' && claimed.length < count);
      return { alerts: await toAlerts(claimed), deletedIds };
    },

    async pendingCount() {
      const [count] = (await withGroup(() => redis.xpending(stream, group))) as [number];
      return Number(count);
    },
  };
}
