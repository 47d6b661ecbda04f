// Plain-text tables for the benchmark's report.

/** A table with a header, a rule under it, text columns left and number columns right. */
export function printTable(header: string[], rows: string[][], rightFrom: number) {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((cell, c) =>
        c >= rightFrom ? cell.padStart(widths[c] as number) : cell.padEnd(widths[c] as number),
      )
      .join('  ')
      .trimEnd();
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const row of rows) console.log(line(row));
}

export const thousands = (n: number) => Math.round(n).toLocaleString('en-US');
