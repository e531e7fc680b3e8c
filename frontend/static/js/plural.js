// The plural rule of a gettext catalog ("Plural-Forms: plural=(n != 1)", Arabic's six forms),
// read without eval (the pages' CSP forbids it): a small parser for the C expression gettext
// uses — n, integers, ! % * / + - < <= > >= == != && || ?: and parentheses. Pure, no DOM.
// `pluralRule(expr)` gives n -> form index; an expression it cannot read falls back to the
// Germanic rule (n != 1), which at worst shows a wrong form, never a wrong number.

const TOKEN = /\s*(\d+|n|\|\||&&|==|!=|<=|>=|[!%*/+\-<>?:()])/y;

function tokens(expr) {
  const found = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < expr.length) {
    const at = TOKEN.lastIndex;
    const match = TOKEN.exec(expr);
    if (!match) {
      if (/^\s*$/.test(expr.slice(at))) break;
      throw new SyntaxError(`plural: cannot read ${expr.slice(at)}`);
    }
    found.push(match[1]);
  }
  return found;
}

const BINARY = [
  ["||"],
  ["&&"],
  ["==", "!="],
  ["<", "<=", ">", ">="],
  ["+", "-"],
  ["*", "/", "%"],
];

function apply(op, a, b) {
  switch (op) {
    case "||":
      return a || b ? 1 : 0;
    case "&&":
      return a && b ? 1 : 0;
    case "==":
      return a === b ? 1 : 0;
    case "!=":
      return a !== b ? 1 : 0;
    case "<":
      return a < b ? 1 : 0;
    case "<=":
      return a <= b ? 1 : 0;
    case ">":
      return a > b ? 1 : 0;
    case ">=":
      return a >= b ? 1 : 0;
    case "+":
      return a + b;
    case "-":
      return a - b;
    case "*":
      return a * b;
    case "/":
      return b === 0 ? 0 : Math.trunc(a / b);
    default: // "%"
      return b === 0 ? 0 : a % b;
  }
}

/** The expression as a tree of closures n -> number. */
function parse(list) {
  let at = 0;
  const peek = () => list[at];
  const take = (want) => {
    if (want !== undefined && list[at] !== want) throw new SyntaxError(`plural: expected ${want}`);
    return list[at++];
  };
  const primary = () => {
    const token = take();
    if (token === "n") return (n) => n;
    if (token === "(") {
      const inner = ternary();
      take(")");
      return inner;
    }
    if (token === "!") {
      const operand = primary();
      return (n) => (operand(n) ? 0 : 1);
    }
    if (token === "-") {
      const operand = primary();
      return (n) => -operand(n);
    }
    if (token !== undefined && /^\d+$/.test(token)) {
      const value = Number(token);
      return () => value;
    }
    throw new SyntaxError(`plural: unexpected ${token}`);
  };
  const binary = (level) => {
    if (level === BINARY.length) return primary();
    let left = binary(level + 1);
    while (BINARY[level].includes(peek())) {
      const op = take();
      const a = left;
      const b = binary(level + 1);
      left = (n) => apply(op, a(n), b(n));
    }
    return left;
  };
  const ternary = () => {
    const test = binary(0);
    if (peek() !== "?") return test;
    take("?");
    const yes = ternary();
    take(":");
    const no = ternary();
    return (n) => (test(n) ? yes(n) : no(n));
  };
  const whole = ternary();
  if (at !== list.length) throw new SyntaxError("plural: trailing tokens");
  return whole;
}

/** n -> the index of the plural form, from a catalog's `plural=` expression. */
export function pluralRule(expr) {
  try {
    const rule = parse(tokens(String(expr ?? "")));
    return (n) => Math.max(0, Math.trunc(Number(rule(Math.abs(Math.trunc(n)))) || 0));
  } catch {
    return (n) => (n !== 1 ? 1 : 0);
  }
}
