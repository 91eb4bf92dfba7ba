/** One problem in a lab's files, located precisely enough for an editor to jump to it. */
export interface LabProblem {
  readonly file: string;
  /** 1-based; 0 when the problem is about the file as a whole. */
  readonly line: number;
  /** Dotted path of the field, e.g. `steps[2].checks[0].scheduler`; empty when not about a field. */
  readonly field: string;
  readonly message: string;
}

export function formatProblem(p: LabProblem): string {
  const where = p.line > 0 ? `${p.file}:${p.line}` : p.file;
  return `${where}: ${p.field ? `${p.field}: ` : ''}${p.message}`;
}

/** A lab that cannot be used, with every problem found in it. */
export class LabError extends Error {
  override readonly name = 'LabError';
  constructor(readonly problems: readonly LabProblem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}
