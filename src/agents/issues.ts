// zod issues as one line a person can act on: `parameters.machine: required; parameters.since: ...`.
interface Issue {
  path: PropertyKey[];
  message: string;
  code?: string;
  input?: unknown;
}

export function describeIssues(prefix: string, issues: readonly Issue[]): string {
  return issues
    .map((issue) => {
      const name = [prefix, ...issue.path.map(String)].filter(Boolean).join('.') || '(value)';
      const missing = issue.code === 'invalid_type' && issue.input === undefined;
      return `${name}: ${missing ? 'required' : issue.message.replace(/^Invalid input: /, '')}`;
    })
    .join('; ');
}
