// engine/ describes general behaviour: which seed uses a command is said in that seed's folder.
// No engine file (code, comments, tests) names a seed folder or a numbered seed.
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = fileURLToPath(new URL('../..', import.meta.url));
const engineDir = join(root, 'packages/server/src/engine');
const seedsDir = join(root, 'packages/server/src/seeds');

const seedFolders = readdirSync(seedsDir, { withFileTypes: true })
  .filter((entry) => entry.isDirectory())
  .map((entry) => entry.name);
const seedWords = new RegExp(
  `\\b(?:${seedFolders.join('|')})\\b|\\bseeds?/|\\bseed \\d{3}\\b|\\bseed-compat`,
  'i',
);

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? filesUnder(join(dir, entry.name)) : [join(dir, entry.name)],
  );
}

/** `path:line: text` of each line of engine/ that names a seed. */
function seedMentions(): string[] {
  return filesUnder(engineDir).flatMap((file) =>
    readFileSync(file, 'utf8')
      .split('\n')
      .flatMap((text, i) =>
        seedWords.test(text) ? [`${relative(root, file)}:${i + 1}: ${text.trim()}`] : [],
      ),
  );
}

describe('engine/ names no seed', () => {
  it('knows the seed folders and catches their names and numbered seeds', () => {
    expect(seedFolders).toEqual(expect.arrayContaining(['attendance', 'healthcare', 'payme']));
    for (const text of [
      '// Seed 000 (WOTI Attendance)',
      "import x from '../seeds/index.js';",
      '/** seed 001: the queue */',
      'the healthcare presets',
    ]) {
      expect(seedWords.test(text), text).toBe(true);
    }
    // A property test's random seed is no seed of the project.
    expect(seedWords.test('const seed = Number(process.env.FC_SEED);')).toBe(false);
  });

  it('finds none in engine/', () => {
    expect(seedMentions()).toEqual([]);
  });
});
