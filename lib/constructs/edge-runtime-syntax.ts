/**
 * The syntax CloudFront Functions' JavaScript runtime 2.0 says it parses, and the built-ins it lists (below),
 * checked on the code as uploaded.
 * Its page ("JavaScript runtime 2.0 features for CloudFront Functions", CloudFront Developer Guide,
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-javascript-runtime-20.html)
 * "list[s] all supported features": ES 5.1 types, operators and statements (break, catch, continue,
 * do-while, else, finally, for, for-in, if, label, return, switch, throw, try, var, while), the ES 7
 * exponentiation operator, `const` and `let`, `async` and `await` ("async arguments and closures are not
 * supported"), ES 6 template literals ("multiline strings, expression interpolation, and nesting
 * templates"), arrow functions and rest parameters, and the module imports of its helper pages
 * (`import cf from 'cloudfront'`, `import crypto from 'crypto'`).
 *
 * Anything newer is refused here, whether or not CloudFront would take it: the page is what is promised,
 * and a construct it does not list is found out on a deployed stack only (a function that does not parse
 * fails every request it runs on with CloudFront's 503). Node's `vm`, which runs the function locally,
 * parses all of modern JavaScript and would let it through; so does esbuild, which prints `{ token: token }`
 * as `{ token }` unless told not to (`edge/build.ts`).
 */
import ts from 'typescript';

export interface UnsupportedSyntax {
  /** 1-based line in the code as checked. */
  readonly line: number;
  readonly construct: string;
  /** The code that is (the start of it). */
  readonly code: string;
}

/** Throws, naming what, when this code (built from `file`) is not all in the syntax runtime 2.0 lists. */
export function assertRuntimeSyntax(code: string, file: string): string {
  const unsupported = unsupportedSyntax(code);
  if (unsupported.length > 0) {
    const listed = unsupported.map((found) => `${found.construct}: \`${found.code}\``).join('; ');
    throw new Error(`${file} builds to syntax CloudFront Functions' JavaScript runtime 2.0 does not list: ${listed}`);
  }
  return code;
}

/** What in this code runtime 2.0 does not list as supported, in source order; empty when it all is. */
export function unsupportedSyntax(code: string): UnsupportedSyntax[] {
  const file = ts.createSourceFile(FILE_NAME, code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: UnsupportedSyntax[] = [];
  const declared = namesIn(file);
  const visit = (node: ts.Node): void => {
    const construct = unsupported(node) ?? unlistedBuiltIn(node, declared);
    if (construct !== undefined) {
      const line = file.getLineAndCharacterOfPosition(node.getStart(file)).line + 1;
      found.push({ line, construct, code: node.getText(file).slice(0, 40) });
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  return found;
}

/** Why this node is not runtime 2.0's, if it is not. */
function unsupported(node: ts.Node): string | undefined {
  switch (node.kind) {
    case ts.SyntaxKind.ShorthandPropertyAssignment:
      return 'a shorthand property ({ name })';
    case ts.SyntaxKind.SpreadAssignment:
    case ts.SyntaxKind.SpreadElement:
      return 'spread (...value; only rest parameters are listed)';
    case ts.SyntaxKind.ObjectBindingPattern:
    case ts.SyntaxKind.ArrayBindingPattern:
      return 'destructuring';
    case ts.SyntaxKind.ComputedPropertyName:
      return 'a computed property name';
    case ts.SyntaxKind.MethodDeclaration:
      return 'a method definition ({ name() {} })';
    case ts.SyntaxKind.ClassDeclaration:
    case ts.SyntaxKind.ClassExpression:
      return 'a class';
    case ts.SyntaxKind.ForOfStatement:
      return 'for-of';
    case ts.SyntaxKind.YieldExpression:
      return 'a generator';
    case ts.SyntaxKind.TaggedTemplateExpression:
      return 'a tagged template';
    case ts.SyntaxKind.BigIntLiteral:
      return 'a BigInt literal';
    case ts.SyntaxKind.MetaProperty:
      return 'a meta property (new.target, import.meta)';
    case ts.SyntaxKind.NumericLiteral:
      return /^0[bBoO0-9]|_/.test(node.getText()) ? 'a binary, octal or separated number literal' : undefined;
    case ts.SyntaxKind.RegularExpressionLiteral:
      return regExp(node.getText());
    case ts.SyntaxKind.SuperKeyword:
      return 'super';
    case ts.SyntaxKind.AwaitExpression:
      return ts.findAncestor(node.parent, ts.isFunctionLike) === undefined ? 'a top-level await' : undefined;
    case ts.SyntaxKind.VariableDeclarationList:
      return (node.flags & ts.NodeFlags.Using) !== 0 ? 'a using declaration' : undefined;
    case ts.SyntaxKind.CatchClause:
      return (node as ts.CatchClause).variableDeclaration === undefined ? 'a catch without a binding' : undefined;
    case ts.SyntaxKind.Parameter:
      return (node as ts.ParameterDeclaration).initializer === undefined ? undefined : 'a default parameter';
    case ts.SyntaxKind.BinaryExpression:
      return binary(node as ts.BinaryExpression);
    case ts.SyntaxKind.ArrowFunction:
    case ts.SyntaxKind.FunctionExpression:
      return isAsync(node) ? 'an async closure (async arguments and closures are not supported)' : generator(node);
    case ts.SyntaxKind.FunctionDeclaration:
      // Only a top-level async function is not a closure.
      return isAsync(node) && !ts.isSourceFile(node.parent)
        ? 'an async closure (async arguments and closures are not supported)'
        : generator(node);
    case ts.SyntaxKind.CallExpression:
      if ((node as ts.CallExpression).expression.kind === ts.SyntaxKind.ImportKeyword) return 'a dynamic import';
      return (node as ts.CallExpression).questionDotToken === undefined ? undefined : 'optional chaining';
    case ts.SyntaxKind.PropertyAccessExpression:
    case ts.SyntaxKind.ElementAccessExpression:
      return (node as ts.PropertyAccessExpression).questionDotToken === undefined ? undefined : 'optional chaining';
    default:
      return undefined;
  }
}

function binary(node: ts.BinaryExpression): string | undefined {
  switch (node.operatorToken.kind) {
    case ts.SyntaxKind.QuestionQuestionToken:
    case ts.SyntaxKind.QuestionQuestionEqualsToken:
    case ts.SyntaxKind.AsteriskAsteriskEqualsToken:
    case ts.SyntaxKind.BarBarEqualsToken:
    case ts.SyntaxKind.AmpersandAmpersandEqualsToken:
      return `the ${node.operatorToken.getText()} operator`;
    case ts.SyntaxKind.EqualsToken:
      return ts.isObjectLiteralExpression(node.left) || ts.isArrayLiteralExpression(node.left)
        ? 'destructuring'
        : undefined;
    default:
      return undefined;
  }
}

/** ES 5.1's regular expressions: flags g, i and m; no named groups, no lookbehind. */
function regExp(literal: string): string | undefined {
  const flags = flagsPastEs51(literal.slice(literal.lastIndexOf('/') + 1));
  if (flags !== undefined) return flags;
  if (/\(\?<[=!]/.test(literal)) return 'a lookbehind in a regular expression';
  if (/\(\?<[A-Za-z_$]/.test(literal)) return 'a named group in a regular expression';
  return undefined;
}

function flagsPastEs51(flags: string): string | undefined {
  return /[^gim]/.test(flags) ? `a regular expression flag past ES 5.1 (${flags})` : undefined;
}

function isAsync(node: ts.Node): boolean {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
}

function generator(node: ts.Node): string | undefined {
  return (node as ts.FunctionLikeDeclarationBase).asteriskToken === undefined ? undefined : 'a generator';
}

/*
 * The built-ins the same page lists ("Primitive objects", "Built-in objects", "Globals", "Built-in
 * modules"), and the KeyValueStore helper's (`get`, `exists`, `meta`: "Helper methods for key value stores",
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/functions-custom-methods.html). A free
 * name or a method the pages do not list is refused as the syntax is: `Map`, `structuredClone`,
 * `Array.from`, `'a'.at(0)` and even ES 5.1's `charCodeAt` (the page lists `codePointAt`, not it) parse and
 * run in Node's vm, and may not on CloudFront. A member of a listed global or module is judged by that
 * global's list, read or called (`Array.from.call(…)`, `globalThis.Map`, `String.prototype.at`, `a['at']`);
 * a method on any other receiver by its name alone, its type not being known here: a name some listed
 * prototype has passes. A name is resolved by JavaScript's scopes (TypeScript's binder: `var` and function
 * declarations are the function's, `let` and `const` the block's): a parameter named `Map` hides the global
 * inside its function only, and a global `Map` used anywhere else is refused.
 */
// biome-ignore format: the pages' lists, kept dense
const MATH = [
  'abs', 'acos', 'acosh', 'asin', 'asinh', 'atan', 'atan2', 'atanh', 'cbrt', 'ceil', 'clz32', 'cos', 'cosh',
  'exp', 'expm1', 'floor', 'fround', 'hypot', 'imul', 'log', 'log1p', 'log2', 'log10', 'max', 'min', 'pow',
  'random', 'round', 'sign', 'sinh', 'sin', 'sqrt', 'tan', 'tanh', 'trunc',
];
// biome-ignore format: the pages' lists, kept dense
const TYPED_ARRAYS = [
  'Float32Array', 'Float64Array', 'Int8Array', 'Int16Array', 'Int32Array', 'Uint8Array', 'Uint8ClampedArray',
  'Uint16Array', 'Uint32Array',
];
/** Methods called on a listed global or module, by its name. */
// biome-ignore format: the pages' lists, kept dense
const STATIC: Readonly<Record<string, readonly string[]>> = {
  Object: [
    'create', 'defineProperties', 'defineProperty', 'freeze', 'getOwnPropertyDescriptor',
    'getOwnPropertyDescriptors', 'getOwnPropertyNames', 'getPrototypeOf', 'isExtensible', 'isFrozen',
    'isSealed', 'keys', 'preventExtensions', 'seal', 'assign', 'entries', 'values', 'is', 'setPrototypeOf',
  ],
  String: ['fromCharCode', 'fromCodePoint'],
  Number: ['isFinite', 'isInteger', 'isNaN', 'isSafeInteger', 'parseInt', 'parseFloat'],
  Math: MATH,
  // "All ES 5.1 Date features".
  Date: ['now', 'parse', 'UTC'],
  JSON: ['parse', 'stringify'],
  Array: ['isArray', 'of'],
  ArrayBuffer: ['isView'],
  Promise: ['all', 'allSettled', 'any', 'reject', 'resolve', 'race'],
  Symbol: ['for', 'keyFor'],
  Buffer: ['alloc', 'allocUnsafe', 'byteLength', 'compare', 'concat', 'from', 'isBuffer', 'isEncoding'],
  console: ['log'],
  crypto: ['createHash', 'createHmac'],
  querystring: ['escape', 'parse', 'decode', 'stringify', 'encode', 'unescape'],
  cf: ['kvs'],
  ...Object.fromEntries(TYPED_ARRAYS.map((name) => [name, ['from', 'of']])),
};
/** Every prototype method (and helper-object method) the pages list, of any type. */
// biome-ignore format: the pages' lists, kept dense
const METHODS = new Set([
  // Object, Function, RegExp, Number
  'hasOwnProperty', 'isPrototypeOf', 'propertyIsEnumerable', 'toString', 'valueOf', 'apply', 'bind', 'call',
  'exec', 'test', 'toExponential', 'toFixed', 'toPrecision',
  // String
  'charAt', 'concat', 'indexOf', 'lastIndexOf', 'match', 'replace', 'search', 'slice', 'split', 'substr',
  'substring', 'toLowerCase', 'trim', 'toUpperCase', 'codePointAt', 'endsWith', 'includes', 'repeat',
  'startsWith', 'padStart', 'padEnd', 'trimStart', 'trimEnd', 'replaceAll',
  // Array and typed arrays
  'every', 'filter', 'forEach', 'join', 'map', 'pop', 'push', 'reduce', 'reduceRight', 'reverse', 'shift',
  'some', 'sort', 'splice', 'unshift', 'copyWithin', 'fill', 'find', 'findIndex', 'set', 'subarray',
  // Date (ES 5.1)
  'getTime', 'getFullYear', 'getUTCFullYear', 'getMonth', 'getUTCMonth', 'getDate', 'getUTCDate', 'getDay',
  'getUTCDay', 'getHours', 'getUTCHours', 'getMinutes', 'getUTCMinutes', 'getSeconds', 'getUTCSeconds',
  'getMilliseconds', 'getUTCMilliseconds', 'getTimezoneOffset', 'setTime', 'setMilliseconds',
  'setUTCMilliseconds', 'setSeconds', 'setUTCSeconds', 'setMinutes', 'setUTCMinutes', 'setHours',
  'setUTCHours', 'setDate', 'setUTCDate', 'setMonth', 'setUTCMonth', 'setFullYear', 'setUTCFullYear',
  'toDateString', 'toTimeString', 'toLocaleString', 'toLocaleDateString', 'toLocaleTimeString', 'toUTCString',
  'toISOString', 'toJSON',
  // Promise, DataView, TextDecoder, TextEncoder
  'catch', 'finally', 'then', 'decode', 'encode', 'encodeInto',
  ...['Float32', 'Float64', 'Int16', 'Int32', 'Int8', 'Uint16', 'Uint32', 'Uint8'].flatMap((type) => [
    `get${type}`,
    `set${type}`,
  ]),
  // Buffer
  'compare', 'copy', 'equals', 'swap16', 'swap32', 'swap64', 'write',
  ...['Int8', 'IntBE', 'Int16BE', 'Int32BE', 'IntLE', 'Int16LE', 'Int32LE', 'UInt8', 'UIntBE', 'UInt16BE',
    'UInt32BE', 'UIntLE', 'UInt16LE', 'UInt32LE', 'DoubleBE', 'DoubleLE', 'FloatBE', 'FloatLE'].flatMap(
    (type) => [`read${type}`, `write${type}`],
  ),
  // crypto's hash and HMAC objects; the KeyValueStore handle
  'update', 'digest', 'get', 'exists', 'meta',
]);
/** Free names the pages list: globals, constructors, the error types; `require` loads a listed module. */
// biome-ignore format: the pages' lists, kept dense
const GLOBALS = new Set([
  ...Object.keys(STATIC).filter((name) => name !== 'crypto' && name !== 'querystring' && name !== 'cf'),
  'Boolean', 'RegExp', 'DataView', 'TextDecoder', 'TextEncoder', 'Error', 'EvalError', 'InternalError',
  'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'globalThis', 'decodeURI',
  'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'isFinite', 'isNaN', 'parseFloat', 'parseInt', 'atob',
  'btoa', 'NaN', 'Infinity', 'undefined', 'arguments', 'require',
]);

/** The code's names as its scopes resolve them. */
interface Declared {
  /** Whether this identifier names something the code declares, in scope where it is used. */
  local(name: ts.Identifier): boolean;
  /** The listed module this identifier holds, when it names an import or a `require` of one. */
  module(name: ts.Identifier): string | undefined;
}

const MODULES: Readonly<Record<string, string>> = { crypto: 'crypto', querystring: 'querystring', cloudfront: 'cf' };

const FILE_NAME = '/function.js';

/**
 * Resolves the names in `file` with TypeScript's binder and checker over that file alone (no lib, nothing
 * imported resolved): a name the code declares resolves to its declaration in the scope it is used in; a
 * global resolves to nothing.
 */
function namesIn(file: ts.SourceFile): Declared {
  const options: ts.CompilerOptions = { allowJs: true, noLib: true, noResolve: true, types: [] };
  const host: ts.CompilerHost = {
    getSourceFile: (name) => (name === FILE_NAME ? file : undefined),
    fileExists: (name) => name === FILE_NAME,
    readFile: () => undefined,
    writeFile: () => {},
    getDefaultLibFileName: () => '/lib.d.ts',
    getCurrentDirectory: () => '/',
    getCanonicalFileName: (name) => name,
    useCaseSensitiveFileNames: () => true,
    getNewLine: () => '\n',
  };
  const checker = ts.createProgram([FILE_NAME], options, host).getTypeChecker();
  // Only a declaration JavaScript has: in a JS file TypeScript also takes an assignment for one
  // (`Map.x = 1`, `globalThis.y = 1`, `exports.z = 1`), which would hide the global everywhere.
  const declaration = (name: ts.Identifier) =>
    checker
      .getSymbolAtLocation(name)
      ?.declarations?.find((found) => found.getSourceFile() === file && declaredName(found) !== undefined);
  return {
    local: (name) => declaration(name) !== undefined,
    module: (name) => {
      const found = declaration(name);
      return found === undefined ? undefined : listedModule(ts.isImportClause(found) ? found.parent : found);
    },
  };
}

/** The name this node declares: a variable, function, parameter or import's; undefined for anything else. */
function declaredName(node: ts.Node): ts.Identifier | undefined {
  const declaration =
    ts.isVariableDeclaration(node) ||
    ts.isFunctionDeclaration(node) ||
    ts.isFunctionExpression(node) ||
    ts.isParameter(node) ||
    ts.isImportClause(node) ||
    ts.isNamespaceImport(node) ||
    ts.isImportSpecifier(node);
  return declaration && node.name !== undefined && ts.isIdentifier(node.name) ? node.name : undefined;
}

/** The listed module an import or a `require` declares, if this node is one of a listed module. */
function listedModule(node: ts.Node): string | undefined {
  if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
    return node.importClause?.name === undefined ? undefined : MODULES[node.moduleSpecifier.text];
  }
  if (
    ts.isVariableDeclaration(node) &&
    ts.isIdentifier(node.name) &&
    node.initializer !== undefined &&
    ts.isCallExpression(node.initializer) &&
    ts.isIdentifier(node.initializer.expression) &&
    node.initializer.expression.text === 'require' &&
    node.initializer.arguments.length === 1 &&
    ts.isStringLiteral(node.initializer.arguments[0] as ts.Expression)
  ) {
    return MODULES[(node.initializer.arguments[0] as ts.StringLiteral).text];
  }
  return undefined;
}

/** Properties (not methods) the pages list on a global. */
// biome-ignore format: the pages' lists, kept dense
const PROPERTIES: Readonly<Record<string, readonly string[]>> = {
  Number: ['EPSILON', 'MAX_SAFE_INTEGER', 'MIN_SAFE_INTEGER', 'MAX_VALUE', 'MIN_VALUE', 'NaN', 'NEGATIVE_INFINITY', 'POSITIVE_INFINITY'],
  Math: ['E', 'LN10', 'LN2', 'LOG10E', 'LOG2E', 'PI', 'SQRT1_2', 'SQRT2'],
};

/** A member read as written: its object and its name, for `a.b` and `a['b']`; undefined for `a[b]`. */
function member(node: ts.Node): { readonly object: ts.Expression; readonly name: string } | undefined {
  if (ts.isPropertyAccessExpression(node)) return { object: node.expression, name: node.name.text };
  if (ts.isElementAccessExpression(node) && ts.isStringLiteralLike(node.argumentExpression)) {
    return { object: node.expression, name: node.argumentExpression.text };
  }
  return undefined;
}

/** The listed global or module an expression names, when it names one (`Array`, `globalThis.Array`, `c`). */
function ownerOf(node: ts.Expression, declared: Declared): string | undefined {
  if (ts.isIdentifier(node)) {
    const module = declared.module(node);
    if (module !== undefined) return module;
    return declared.local(node) || STATIC[node.text] === undefined ? undefined : node.text;
  }
  const read = member(node);
  if (read && ts.isIdentifier(read.object) && read.object.text === 'globalThis' && !declared.local(read.object)) {
    return STATIC[read.name] === undefined ? undefined : read.name;
  }
  return undefined;
}

/** Why this node uses a built-in the pages do not list, if it does. */
function unlistedBuiltIn(node: ts.Node, declared: Declared): string | undefined {
  const read = member(node);
  if (read !== undefined) {
    const { object, name } = read;
    // `globalThis.Map`: the global's own name must be listed.
    if (ts.isIdentifier(object) && object.text === 'globalThis' && !declared.local(object)) {
      return GLOBALS.has(name) ? undefined : `a global runtime 2.0 does not list (globalThis.${name})`;
    }
    // `String.prototype.at`: a prototype's methods are the listed ones.
    const prototype = member(object);
    if (prototype?.name === 'prototype' && ownerOf(prototype.object, declared) !== undefined) {
      return METHODS.has(name) ? undefined : `a method runtime 2.0 does not list (.${name}())`;
    }
    // `Array.from`, called or not (`Array.from.call(…)`, `const f = Array.from`).
    const owner = ownerOf(object, declared);
    if (owner !== undefined) {
      const listed = (STATIC[owner] ?? []).includes(name) || (PROPERTIES[owner] ?? []).includes(name);
      return listed || name === 'prototype' ? undefined : `a method runtime 2.0 does not list (${owner}.${name})`;
    }
    // Any other receiver's type is not known here: a method called by a name no listed prototype has.
    if (ts.isCallExpression(node.parent) && node.parent.expression === node && !METHODS.has(name)) {
      return `a method runtime 2.0 does not list (.${name}())`;
    }
    return undefined;
  }
  // `x[name](…)`: a method known only at run time.
  if (
    ts.isCallExpression(node) &&
    ts.isElementAccessExpression(node.expression) &&
    !ts.isStringLiteralLike(node.expression.argumentExpression)
  ) {
    return 'a method named only at run time (x[name]())';
  }
  const regExp =
    (ts.isNewExpression(node) || ts.isCallExpression(node)) &&
    ts.isIdentifier(node.expression) &&
    node.expression.text === 'RegExp' &&
    !declared.local(node.expression);
  if (regExp) {
    const flags = node.arguments?.[1];
    if (flags === undefined) return undefined;
    if (!ts.isStringLiteralLike(flags)) return 'RegExp flags not known until run time';
    return flagsPastEs51(flags.text);
  }
  if (ts.isIdentifier(node) && isReference(node) && !declared.local(node) && !GLOBALS.has(node.text)) {
    return `a global runtime 2.0 does not list (${node.text})`;
  }
  return undefined;
}

/** Whether this identifier names a value (not a property, a label or what a declaration declares). */
function isReference(node: ts.Identifier): boolean {
  const parent = node.parent;
  if (ts.isPropertyAccessExpression(parent) && parent.name === node) return false;
  const key =
    ts.isPropertyAssignment(parent) || ts.isGetAccessorDeclaration(parent) || ts.isSetAccessorDeclaration(parent);
  if ((key && parent.name === node) || declaredName(parent) === node) return false;
  return !ts.isLabeledStatement(parent) && !ts.isBreakOrContinueStatement(parent);
}
