// Reads a Prometheus text exposition in tests: the value of one series.

/** The value of one sample line, e.g. `syncline_changes_applied_total{api="sync"}`; 0 if absent. */
export function sample(text: string, series: string): number {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line ? Number(line.slice(series.length + 1)) : 0;
}
