// One walk over a parsed JSON value for everything a body may not hold: too deep a nesting, a key
// that could poison prototypes, a NUL character (PostgreSQL refuses it in text, so both stores
// refuse it alike), and a number that a double did not keep as sent. Iterative, so that any input
// is safe; paths are built only for the problem found.
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

interface Frame {
  value: unknown;
  depth: number;
  parent: Frame | undefined;
  key: string | number | undefined;
}

function pathOf(frame: Frame | undefined, root: string, lastKey?: string): string {
  const parts: string[] = [];
  if (lastKey !== undefined) parts.push(`.${lastKey}`);
  for (let f = frame; f?.parent !== undefined; f = f.parent) {
    parts.push(typeof f.key === 'number' ? `[${f.key}]` : `.${String(f.key)}`);
  }
  return root + parts.reverse().join('');
}

const showKey = (key: string) => JSON.stringify(key).slice(1, -1);

/** The first thing in `value` a body may not hold, or undefined. */
export function findJsonProblem(
  value: unknown,
  maxDepth: number,
  root = '$',
): JsonProblem | undefined {
  const stack: Frame[] = [{ value, depth: 0, parent: undefined, key: undefined }];
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const node = frame.value;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) {
        const path = pathOf(frame, root);
        return { kind: 'nul', path, message: `${path} holds a NUL character` };
      }
      continue;
    }
    if (typeof node === 'number') {
      if (!(Math.abs(node) <= maxJsonNumber)) {
        const path = pathOf(frame, root);
        return {
          kind: 'number',
          path,
          message: `${path} is beyond ±${maxJsonNumber}, which a double cannot hold exactly; send it as a string`,
        };
      }
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (frame.depth >= maxDepth) {
      const path = pathOf(frame, root);
      return { kind: 'depth', path, message: `The body nests deeper than ${maxDepth} levels` };
    }
    const depth = frame.depth + 1;
    if (Array.isArray(node)) {
      for (let i = node.length - 1; i >= 0; i--) {
        stack.push({ value: node[i], depth, parent: frame, key: i });
      }
      continue;
    }
    const keys = Object.keys(node);
    for (const key of keys) {
      if (forbiddenKeys.has(key)) {
        const path = pathOf(frame, root, key);
        return { kind: 'forbidden-key', path, message: `Forbidden key at ${path}` };
      }
      if (key.includes('\u0000')) {
        const path = pathOf(frame, root, showKey(key));
        return { kind: 'nul', path, message: `The key at ${path} holds a NUL character` };
      }
    }
    for (let i = keys.length - 1; i >= 0; i--) {
      const key = keys[i] as string;
      stack.push({ value: (node as Record<string, unknown>)[key], depth, parent: frame, key });
    }
  }
  return undefined;
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
