// One stop for a running agent, however it is asked for (stop(), a signal, a fatal error), and a `done`
// promise that settles when the agent has stopped.
export interface AgentLifetime {
  /** Runs the shutdown once; later calls wait for the same one. `fatal` makes `done` reject with it. */
  stop(fatal?: Error): Promise<void>;
  readonly done: Promise<void>;
}

export function agentLifetime(shutdown: () => Promise<void>): AgentLifetime {
  let resolve!: () => void;
  let reject!: (err: Error) => void;
  const done = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  // A caller that never awaits `done` must not get an unhandled rejection; one that does still sees it.
  done.catch(() => undefined);
  let stopping: Promise<void> | undefined;
  return {
    done,
    stop(fatal) {
      stopping ??= shutdown().then(
        () => (fatal ? reject(fatal) : resolve()),
        (err: unknown) => reject(fatal ?? (err as Error)),
      );
      return stopping;
    },
  };
}
