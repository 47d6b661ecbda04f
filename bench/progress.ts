// Progress for the benchmarks: one in-place bar on stderr when it is a terminal, a line per phase
// otherwise.
import { performance } from 'node:perf_hooks';

export const progress = {
  label: '',
  done: 0,
  total: 0,
  lastDraw: 0,
  start(label: string, total: number) {
    Object.assign(this, { label, done: 0, total, lastDraw: 0 });
    this.draw(true);
  },
  tick(count: number) {
    this.done += count;
    this.draw(this.done >= this.total);
  },
  draw(force: boolean) {
    const now = performance.now();
    if (!process.stderr.isTTY) {
      if (this.done === 0) process.stderr.write(`  ${this.label} …\n`);
      return;
    }
    if (!force && now - this.lastDraw < 50) return;
    this.lastDraw = now;
    const width = 30;
    const share = this.total === 0 ? 1 : Math.min(1, this.done / this.total);
    const filled = Math.round(share * width);
    const bar = '█'.repeat(filled) + '░'.repeat(width - filled);
    process.stderr.write(
      `\r  ${bar} ${String(Math.round(share * 100)).padStart(3)}%  ${this.label.padEnd(44)}`,
    );
    if (this.done >= this.total) process.stderr.write('\n');
  },
};
