// Durations as the configuration writes them ('30s', '5m', '1h', '7d'): shared by the rate limits,
// the connection timeouts and the jobs' schedules, so that every setting reads them alike.

const unitMs = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** '30s', '5m', '1h', '7d' (or a bare unit: 'm' is one minute) → milliseconds. */
export function parseDuration(text: string): number {
  const match = /^\s*(\d+)?\s*(ms|s|m|h|d)\s*$/.exec(text);
  if (!match) throw new Error(`"${text}" is not a duration like 30s, 5m, 1h or 7d`);
  const count = match[1] === undefined ? 1 : Number(match[1]);
  const ms = count * unitMs[match[2] as keyof typeof unitMs];
  if (!Number.isSafeInteger(ms) || ms <= 0) throw new Error(`"${text}" is not a positive duration`);
  return ms;
}
