/**
 * Finds plain JavaScript branching on values only known when the flow runs. A traced flow cannot
 * see it (a symbolic value is always truthy, and `===` on one is always false), so the compiler reads
 * the flow's source: inside its `run`, values derived from the parameters or from an `await` are
 * "runtime values", and an `if`, `?:`, `&&`, `||`, `??`, `!`, `===`, loop condition or `switch` on one
 * is refused with its line.
 *
 * It needs the TypeScript compiler (a dev dependency of every TypeScript project); without it the
 * check is skipped with a warning.
 */
import { readFile } from "node:fs/promises";
import type * as TS from "typescript";
import type { AnyFlow } from "../definitions/flow.js";
import type { SourceLocation } from "../definitions/sourceFile.js";
import { FIX_WHEN } from "./symbolic.js";

/** What the check found: a plain JS branch on a runtime value, or a default the state machine cannot apply. */
export interface BranchFinding {
  location: SourceLocation;
  /** What the flow does, after `flow "<name>" `. */
  problem: string;
  fix: string;
}

/** What the check found: the first offending branch, the run function's line, or why it could not look. */
export interface BranchCheck {
  finding: BranchFinding | undefined;
  runLocation: SourceLocation | undefined;
  skipped: string | undefined;
}

/** Parsed files, reused while their text is unchanged (a file often defines several flows). */
const parsed = new Map<string, TS.SourceFile>();

type Taint = "the flow's parameters" | "a task's result";

/**
 * Reads the flow's source file and checks its `run` function.
 *
 * @example
 * ```ts
 * const { finding } = await checkBranches(etl);
 * if (finding) console.log(finding.location.line, finding.problem);
 * ```
 */
export async function checkBranches(flow: AnyFlow): Promise<BranchCheck> {
  const file = flow.sourceFile;
  if (file === undefined) return { finding: undefined, runLocation: undefined, skipped: "its source file is unknown" };
  let ts: typeof TS;
  try {
    ts = ((await import("typescript")) as unknown as { default: typeof TS }).default;
  } catch {
    return { finding: undefined, runLocation: undefined, skipped: "the typescript package is not installed" };
  }
  const text = await readFile(file, "utf8").catch(() => undefined);
  if (text === undefined) return { finding: undefined, runLocation: undefined, skipped: `${file} cannot be read` };
  let source = parsed.get(file);
  if (source?.text !== text) {
    source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true, file.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS);
    parsed.set(file, source);
  }
  const run = findRunFunction(ts, source, flow.name);
  if (!run) return { finding: undefined, runLocation: undefined, skipped: `its run function was not found in ${file}` };
  const at = (node: TS.Node): SourceLocation => ({ file, line: source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1 });
  return { finding: findBranch(ts, run, at), runLocation: at(run), skipped: undefined };
}

/** The `run` of the `flow({ name: "<name>", run })` call in the file. */
function findRunFunction(ts: typeof TS, source: TS.SourceFile, name: string): TS.FunctionLikeDeclaration | undefined {
  let found: TS.FunctionLikeDeclaration | undefined;
  const visit = (node: TS.Node): void => {
    if (found) return;
    if (ts.isCallExpression(node) && calleeName(ts, node.expression) === "flow") {
      const [options] = node.arguments;
      if (options && ts.isObjectLiteralExpression(options) && stringProperty(ts, options, "name") === name) {
        for (const property of options.properties) {
          if (propertyName(ts, property) !== "run") continue;
          if (ts.isMethodDeclaration(property)) found = property;
          else if (ts.isPropertyAssignment(property) && (ts.isArrowFunction(property.initializer) || ts.isFunctionExpression(property.initializer))) {
            found = property.initializer;
          }
        }
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function findBranch(ts: typeof TS, run: TS.FunctionLikeDeclaration, at: (node: TS.Node) => SourceLocation): BranchFinding | undefined {
  const tainted = new Map<string, Taint>();
  const callbackTaint = new Map<TS.Node, Taint>();
  const [params] = run.parameters;
  if (params) bindNames(ts, params.name, "the flow's parameters", tainted);

  /** What runtime value an expression reads, if any. */
  const taintOf = (node: TS.Node | undefined): Taint | undefined => {
    if (!node) return undefined;
    let found: Taint | undefined;
    const visit = (child: TS.Node): void => {
      if (found) return;
      if (ts.isAwaitExpression(child)) found = "a task's result";
      else if (ts.isIdentifier(child) && !isPropertyNameUse(ts, child)) found = tainted.get(child.text);
      // A nested function's body runs later (or never); only what it captures matters, via its caller.
      if (!found && !ts.isFunctionLike(child)) ts.forEachChild(child, visit);
    };
    visit(node);
    return found;
  };

  let finding: BranchFinding | undefined;
  const flag = (construct: string, node: TS.Node, taint: Taint | undefined) => {
    if (!finding && taint) finding = { location: at(node), problem: `branches on ${taint} with plain JavaScript (${construct})`, fix: FIX_WHEN };
  };
  // A default in the run's destructuring is never applied by the state machine, which reads the input as given.
  if (params && !ts.isIdentifier(params.name)) {
    for (const element of params.name.elements) {
      if (ts.isOmittedExpression(element) || !element.initializer) continue;
      return {
        location: at(element),
        problem: `gives the parameter "${element.name.getText()}" a default in its run function, which the state machine cannot apply`,
        fix: `give the default in the params schema (.default(${element.initializer.getText()}))`,
      };
    }
  }

  const visit = (node: TS.Node): void => {
    if (finding) return;
    // Conditions built for when() are data, not branches.
    if (ts.isCallExpression(node) && ["when", "eq", "gt", "lt", "isPresent", "and", "or", "not"].includes(calleeName(ts, node.expression) ?? "")) {
      node.arguments.forEach((argument) => (ts.isFunctionLike(argument) ? visit(argument) : visitNested(argument)));
      return;
    }
    if (ts.isFunctionLike(node) && node !== run) {
      // Its parameters shadow outer names: runtime values only when it is a callback of a runtime value.
      const taint = callbackTaint.get(node);
      const saved = new Map<string, Taint | undefined>();
      for (const parameter of node.parameters) {
        for (const name of namesOf(ts, parameter.name)) {
          if (!saved.has(name)) saved.set(name, tainted.get(name));
          if (taint) tainted.set(name, taint);
          else tainted.delete(name);
        }
      }
      ts.forEachChild(node, visit);
      for (const [name, value] of saved) {
        if (value === undefined) tainted.delete(name);
        else tainted.set(name, value);
      }
      return;
    }
    if (ts.isVariableDeclaration(node) && node.initializer) {
      visit(node.initializer);
      const taint = taintOf(node.initializer);
      for (const name of namesOf(ts, node.name)) {
        if (taint) tainted.set(name, taint);
        else tainted.delete(name);
      }
      return;
    }
    if (ts.isBinaryExpression(node) && node.operatorToken.kind === ts.SyntaxKind.EqualsToken && ts.isIdentifier(node.left)) {
      visit(node.right);
      const taint = taintOf(node.right);
      if (taint) tainted.set(node.left.text, taint);
      return;
    }
    if (ts.isCallExpression(node)) {
      // A callback handed to a method of a runtime value gets runtime values.
      const taint = ts.isPropertyAccessExpression(node.expression) ? taintOf(node.expression.expression) : undefined;
      if (taint) {
        for (const argument of node.arguments) if (ts.isArrowFunction(argument) || ts.isFunctionExpression(argument)) callbackTaint.set(argument, taint);
      }
    }
    if (ts.isForOfStatement(node) || ts.isForInStatement(node)) {
      const taint = taintOf(node.expression);
      if (taint && ts.isVariableDeclarationList(node.initializer)) node.initializer.declarations.forEach((d) => bindNames(ts, d.name, taint, tainted));
    }
    if (ts.isTryStatement(node) && !finding && containsAwait(ts, node.tryBlock)) {
      // The trace never fails, so the catch (or finally) path would never be compiled.
      finding = {
        location: at(node),
        problem: `handles a failure with try/${node.catchClause ? "catch" : "finally"} around an await`,
        fix: "give the task an onFailure hook, or run the flow in durable mode",
      };
      return;
    }
    if (ts.isIfStatement(node)) flag("an if statement", node.expression, taintOf(node.expression));
    else if (ts.isConditionalExpression(node)) flag("a ?: conditional", node.condition, taintOf(node.condition));
    else if (ts.isWhileStatement(node) || ts.isDoStatement(node)) flag("a loop condition", node.expression, taintOf(node.expression));
    else if (ts.isForStatement(node)) flag("a loop condition", node.condition ?? node, taintOf(node.condition));
    else if (ts.isSwitchStatement(node)) flag("a switch", node.expression, taintOf(node.expression));
    else if (ts.isPrefixUnaryExpression(node) && node.operator === ts.SyntaxKind.ExclamationToken) flag("a ! negation", node, taintOf(node.operand));
    else if (ts.isBinaryExpression(node)) {
      const operator = node.operatorToken.kind;
      const logical = [ts.SyntaxKind.AmpersandAmpersandToken, ts.SyntaxKind.BarBarToken, ts.SyntaxKind.QuestionQuestionToken].includes(operator);
      const equality = [
        ts.SyntaxKind.EqualsEqualsEqualsToken,
        ts.SyntaxKind.ExclamationEqualsEqualsToken,
        ts.SyntaxKind.EqualsEqualsToken,
        ts.SyntaxKind.ExclamationEqualsToken,
      ].includes(operator);
      if (logical) flag(`a ${node.operatorToken.getText()} operator`, node, taintOf(node.left));
      else if (equality) flag(`a ${node.operatorToken.getText()} comparison`, node, taintOf(node.left) ?? taintOf(node.right));
    }
    ts.forEachChild(node, visit);
  };
  const visitNested = (node: TS.Node): void => ts.forEachChild(node, visit);
  if (run.body) visit(run.body);
  return finding;
}

function containsAwait(ts: typeof TS, node: TS.Node): boolean {
  if (ts.isAwaitExpression(node)) return true;
  if (ts.isFunctionLike(node)) return false;
  return ts.forEachChild(node, (child) => containsAwait(ts, child) || undefined) ?? false;
}

function bindNames(ts: typeof TS, name: TS.BindingName, taint: Taint, tainted: Map<string, Taint>): void {
  for (const bound of namesOf(ts, name)) tainted.set(bound, taint);
}

/** The variable names a binding (an identifier or a destructuring pattern) declares. */
function namesOf(ts: typeof TS, name: TS.BindingName): string[] {
  if (ts.isIdentifier(name)) return [name.text];
  return name.elements.flatMap((element) => (ts.isOmittedExpression(element) ? [] : namesOf(ts, element.name)));
}

/** `x` in `a.x` or `{ x: 1 }` names a property, not a variable. */
function isPropertyNameUse(ts: typeof TS, node: TS.Identifier): boolean {
  const parent = node.parent;
  return (ts.isPropertyAccessExpression(parent) && parent.name === node) || (ts.isPropertyAssignment(parent) && parent.name === node);
}

function calleeName(ts: typeof TS, callee: TS.Expression): string | undefined {
  if (ts.isIdentifier(callee)) return callee.text;
  if (ts.isPropertyAccessExpression(callee)) return callee.name.text;
  return undefined;
}

function propertyName(ts: typeof TS, property: TS.ObjectLiteralElementLike): string | undefined {
  const name = property.name;
  return name && (ts.isIdentifier(name) || ts.isStringLiteral(name)) ? name.text : undefined;
}

function stringProperty(ts: typeof TS, object: TS.ObjectLiteralExpression, key: string): string | undefined {
  for (const property of object.properties) {
    if (propertyName(ts, property) === key && ts.isPropertyAssignment(property) && ts.isStringLiteralLike(property.initializer)) return property.initializer.text;
  }
  return undefined;
}
