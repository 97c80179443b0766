/**
 * The syntax CloudFront Functions' JavaScript runtime 2.0 says it parses, checked on the code as uploaded.
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
  const file = ts.createSourceFile('function.js', code, ts.ScriptTarget.Latest, true, ts.ScriptKind.JS);
  const found: UnsupportedSyntax[] = [];
  const visit = (node: ts.Node): void => {
    const construct = unsupported(node);
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
  const flags = literal.slice(literal.lastIndexOf('/') + 1);
  if (/[^gim]/.test(flags)) return `a regular expression flag past ES 5.1 (${flags})`;
  if (/\(\?<[=!]/.test(literal)) return 'a lookbehind in a regular expression';
  if (/\(\?<[A-Za-z_$]/.test(literal)) return 'a named group in a regular expression';
  return undefined;
}

function isAsync(node: ts.Node): boolean {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  return modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.AsyncKeyword) ?? false;
}

function generator(node: ts.Node): string | undefined {
  return (node as ts.FunctionLikeDeclarationBase).asteriskToken === undefined ? undefined : 'a generator';
}
