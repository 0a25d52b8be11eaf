// Which backups the retention job keeps: the newest complete backup of each of the last `keepDaily` days
// (UTC, today included) and of each of the last `keepWeekly` ISO weeks (this week included), and always the
// newest complete backup, whatever its age. Incomplete backups (no manifest) are deleted once older than a
// day: a younger one may still be being taken.
import { backupTime } from './manifest.ts';

export interface RetentionPolicy {
  keepDaily: number;
  keepWeekly: number;
}

export interface RetentionCandidate {
  id: string;
  complete: boolean;
}

export interface RetentionDecision {
  keep: { id: string; why: string[] }[];
  remove: { id: string; why: string }[];
}

const dayMs = 86_400_000;

/** Days since 1970-01-01 (UTC). */
const dayOf = (t: Date) => Math.floor(t.getTime() / dayMs);

/** The ISO week's Monday, as a day number: weeks start on Monday. 1970-01-01 was a Thursday. */
const weekOf = (t: Date) => {
  const day = dayOf(t);
  return day - ((day + 3) % 7);
};

export function decideRetention(
  backups: readonly RetentionCandidate[],
  policy: RetentionPolicy,
  now: Date,
): RetentionDecision {
  const complete = backups
    .filter((b) => b.complete)
    .map((b) => ({ id: b.id, at: backupTime(b.id) }))
    .sort((a, b) => b.at.getTime() - a.at.getTime() || (a.id < b.id ? 1 : -1));
  const reasons = new Map<string, string[]>();
  const keep = (id: string, why: string) => reasons.set(id, [...(reasons.get(id) ?? []), why]);

  if (complete[0]) keep(complete[0].id, 'newest');
  const today = dayOf(now);
  const thisWeek = weekOf(now);
  const seenDays = new Set<number>();
  const seenWeeks = new Set<number>();
  for (const b of complete) {
    const day = dayOf(b.at);
    if (today - day < policy.keepDaily && !seenDays.has(day)) {
      seenDays.add(day);
      keep(b.id, `daily ${new Date(day * dayMs).toISOString().slice(0, 10)}`);
    }
    const week = weekOf(b.at);
    if ((thisWeek - week) / 7 < policy.keepWeekly && !seenWeeks.has(week)) {
      seenWeeks.add(week);
      keep(b.id, `weekly from ${new Date(week * dayMs).toISOString().slice(0, 10)}`);
    }
  }

  const decision: RetentionDecision = { keep: [], remove: [] };
  for (const b of backups) {
    const why = reasons.get(b.id);
    if (why) {
      decision.keep.push({ id: b.id, why });
    } else if (b.complete) {
      decision.remove.push({ id: b.id, why: 'older than the retention policy keeps' });
    } else if (now.getTime() - backupTime(b.id).getTime() > dayMs) {
      decision.remove.push({ id: b.id, why: 'incomplete (no manifest) and older than a day' });
    } else {
      decision.keep.push({ id: b.id, why: ['incomplete, may still be being taken'] });
    }
  }
  return decision;
}
