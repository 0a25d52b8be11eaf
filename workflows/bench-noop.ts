// A workflow that does nothing: `prism bench` runs it to measure what one workflow costs the engine alone
// (start, one workflow task, completion, the result fetched) on this machine — the ceiling for any flow.
export async function benchNoop(): Promise<null> {
  return null;
}
