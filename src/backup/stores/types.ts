import type { Env } from '../../config.ts';
import type { BackupStore, StoreBackup } from '../manifest.ts';

export interface StoreContext {
  env: Env;
  /** A directory of this store's own, for its files (the caller creates and removes it). */
  workDir: string;
  /** Reports progress; an activity heartbeats it, the CLI prints it. Cheap to call often. */
  progress(message: string): void;
  /** A suffix that names this run's scratch targets (database, collections, ...). */
  scratchSuffix: string;
  /**
   * Replacing Temporal's persistence needs its server stopped and started again, which only the stack
   * that runs it can do (`prism backup restore` passes this in). Without it, a Temporal restore stops at
   * the verified scratch copy.
   */
  temporalServer?: { stop(): Promise<void>; start(): Promise<void> };
}

/** What a store's backup produced: its files (in workDir) and what it held. */
export type TakenStore = Omit<StoreBackup, 'store' | 'startedAt' | 'durationMs' | 'files'> & {
  files: string[];
};

/** A backup restored into a scratch target, next to the live data. */
export interface ScratchRestore {
  /** Where, for people: `database prism_restore_3fa9`. */
  description: string;
  counts: Record<string, number>;
  digests: Record<string, string>;
  /** Replaces the live data with the restored one; says what became of the old data. */
  promote(): Promise<string>;
  /** Removes the scratch target (idempotent). */
  drop(): Promise<void>;
}

export interface StoreModule {
  store: BackupStore;
  take(ctx: StoreContext): Promise<TakenStore>;
  /** Restores this store's files (in `ctx.workDir`, as `take` wrote them) into a scratch target. */
  restoreToScratch(ctx: StoreContext, backup: StoreBackup): Promise<ScratchRestore>;
}
