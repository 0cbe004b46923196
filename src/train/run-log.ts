/**
 * A training run's log: one JSON object per line (JSON Lines), each a record with a `type`
 * ('train', 'val', ...) and the `step` it belongs to. Pure text in, records out: the run folder
 * (run-folder.ts) reads and writes the file.
 *
 * Two rules keep the log consistent with the checkpoint a run resumes from:
 *   - a record is identified by (type, step): writing one again replaces it, so a step that is
 *     replayed (a resumed run validating its last step again) never appears twice;
 *   - on resume, records of steps after the checkpoint are dropped: they will be made again.
 * A process killed in the middle of an append leaves a torn last line; it is dropped with a
 * warning. A bad line anywhere else is an error naming the file and the line.
 */

export interface LogRecord {
  type: string;
  step: number;
  [field: string]: unknown;
}

export interface ParsedLog {
  records: LogRecord[];
  /** The torn last line, if the file ended in the middle of a record (a killed write). */
  tornTail: string | null;
}

function parseRecord(line: string): LogRecord | null {
  let v: unknown;
  try {
    v = JSON.parse(line);
  } catch {
    return null;
  }
  const r = v as LogRecord;
  return r && typeof r === 'object' && typeof r.type === 'string' && Number.isSafeInteger(r.step) ? r : null;
}

/** Parses a log's text; `source` (the file) names errors, e.g. "run/log.jsonl:7: not a log record: ...". */
export function parseRunLog(text: string, source: string): ParsedLog {
  const lines = text.split('\n');
  // a complete file ends with '\n', so its last piece is empty; anything else is a torn write
  const last = lines.pop()!;
  const records: LogRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    const r = parseRecord(line);
    if (!r) {
      const shown = line.length > 80 ? `${line.slice(0, 80)}...` : line;
      throw new Error(`${source}:${i + 1}: not a log record (JSON with a type and a step): ${shown}`);
    }
    records.push(r);
  });
  if (!last.trim()) return { records, tornTail: null };
  const r = parseRecord(last);
  // a last line that parses is complete but lost its newline; keep it
  if (r) records.push(r);
  return { records, tornTail: r ? null : last };
}

/** The log's text: one line per record. */
export function formatRunLog(records: readonly LogRecord[]): string {
  return records.map((r) => JSON.stringify(r) + '\n').join('');
}

/** The records a run resumed at `step` keeps: those of steps up to and including it. */
export function recordsUpTo(records: readonly LogRecord[], step: number): LogRecord[] {
  return records.filter((r) => r.step <= step);
}

/** Index of the record with the same type and step as `r`, or -1. */
export function sameRecordIndex(records: readonly LogRecord[], r: LogRecord): number {
  return records.findIndex((q) => q.type === r.type && q.step === r.step);
}
