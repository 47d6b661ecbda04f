// One walk over a parsed JSON value for everything a body may not hold: too deep a nesting, a key
// that could poison prototypes, a NUL character (PostgreSQL refuses it in text, so both stores
// refuse it alike), and a number that a double did not keep as sent. Paths are built only for the
// problem found, and the walk never goes deeper than the depth it allows, so any input is safe.
import { forbiddenKeys } from './canonical-json.js';

export type JsonProblemKind = 'depth' | 'forbidden-key' | 'nul' | 'number';

export interface JsonProblem {
  kind: JsonProblemKind;
  /** Where, as `$.changes[0].payload.name`. */
  path: string;
  message: string;
}

/**
 * The largest magnitude a number may have: beyond it a double cannot hold every integer, so the
 * value parsed may not be the value sent (9007199254740993 parses as …992), and overflow (1e400)
 * parses as Infinity, which JSON cannot even write back.
 */
export const maxJsonNumber = Number.MAX_SAFE_INTEGER;

/** A problem found deep in a value: the keys from it up to the root are added as the walk returns. */
interface Found {
  kind: JsonProblemKind;
  /** From the problem up: each level adds its key on the way back. */
  keys: Array<string | number>;
  /** For a problem in a key: the key itself, shown escaped. */
  badKey?: string;
}

function check(node: unknown, depth: number, maxDepth: number): Found | undefined {
  if (typeof node === 'string') {
    return node.includes('\u0000') ? { kind: 'nul', keys: [] } : undefined;
  }
  if (typeof node === 'number') {
    return Math.abs(node) <= maxJsonNumber ? undefined : { kind: 'number', keys: [] };
  }
  if (node === null || typeof node !== 'object') return undefined;
  // Checked before going down: the recursion is never deeper than maxDepth.
  if (depth >= maxDepth) return { kind: 'depth', keys: [] };
  if (Array.isArray(node)) {
    for (let i = 0; i < node.length; i++) {
      const found = check(node[i], depth + 1, maxDepth);
      if (found) {
        found.keys.push(i);
        return found;
      }
    }
    return undefined;
  }
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    if (forbiddenKeys.has(key)) return { kind: 'forbidden-key', keys: [key] };
    if (key.includes('\u0000')) return { kind: 'nul', keys: [], badKey: key };
    const found = check((node as Record<string, unknown>)[key], depth + 1, maxDepth);
    if (found) {
      found.keys.push(key);
      return found;
    }
  }
  return undefined;
}

const showKey = (key: string) => JSON.stringify(key).slice(1, -1);

/** The first thing in `value` a body may not hold, or undefined. */
export function findJsonProblem(
  value: unknown,
  maxDepth: number,
  root = '$',
): JsonProblem | undefined {
  const found = check(value, 0, maxDepth);
  if (!found) return undefined;
  const keys = found.keys.reverse();
  if (found.badKey !== undefined) keys.push(showKey(found.badKey));
  const path = root + keys.map((k) => (typeof k === 'number' ? `[${k}]` : `.${k}`)).join('');
  const messages: Record<JsonProblemKind, string> = {
    depth: `The body nests deeper than ${maxDepth} levels`,
    'forbidden-key': `Forbidden key at ${path}`,
    nul:
      found.badKey !== undefined
        ? `The key at ${path} holds a NUL character`
        : `${path} holds a NUL character`,
    number: `${path} is beyond ±${maxJsonNumber}, which a double cannot hold exactly; send it as a string`,
  };
  return { kind: found.kind, path, message: messages[found.kind] };
}

// Underflow: a literal such as 1e-400 parses as 0, and a parsed 0 cannot tell. Such literals need
// an exponent of three digits or hundreds of digits after the point, so a cheap test of the text
// picks the rare bodies that might hold one, and only those are tokenized.
const mayUnderflow = /[eE]-0*[1-9]\d{2}|\.0{300}/;
// Unrolled (no alternation under a star), so a string of megabytes does not exhaust the regex stack.
const stringToken = /"[^"\\]*(?:\\.[^"\\]*)*"/y;
const numberToken = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const keyFollows = /\s*:/y;

/**
 * The path of the first number literal in `text` (valid JSON) that is not zero but parses as zero,
 * or undefined. Subnormal results keep their magnitude and count as rounding, like 0.1 does.
 */
export function findUnderflow(text: string, root = '$'): string | undefined {
  if (!mayUnderflow.test(text)) return undefined;
  // One entry per open container: its key (object) or index (array) of the current member.
  const stack: Array<{ array: boolean; key: string | number | undefined }> = [];
  const path = () =>
    root + stack.map((s) => (s.array ? `[${String(s.key)}]` : `.${String(s.key)}`)).join('');
  let i = 0;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      stringToken.lastIndex = i;
      const token = (stringToken.exec(text) as RegExpExecArray)[0];
      i += token.length;
      keyFollows.lastIndex = i;
      const top = stack.at(-1);
      if (top && !top.array && keyFollows.test(text)) top.key = JSON.parse(token) as string;
      continue;
    }
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      numberToken.lastIndex = i;
      const token = (numberToken.exec(text) as RegExpExecArray)[0];
      i += token.length;
      const mantissa = token.split(/[eE]/)[0] as string;
      if (Number(token) === 0 && /[1-9]/.test(mantissa)) return path();
      continue;
    }
    if (c === 0x7b /* { */) stack.push({ array: false, key: undefined });
    else if (c === 0x5b /* [ */) stack.push({ array: true, key: 0 });
    else if (c === 0x7d /* } */ || c === 0x5d /* ] */) stack.pop();
    else if (c === 0x2c /* , */) {
      const top = stack.at(-1);
      if (top?.array) top.key = (top.key as number) + 1;
    }
    i++;
  }
  return undefined;
}
