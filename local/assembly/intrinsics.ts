/**
 * CloudFormation's intrinsic functions, resolved against the local
 * resources: what `Ref`, `Fn::GetAtt`, `Fn::ImportValue` and the string
 * functions would yield once CloudFormation has created the stacks, with the
 * local resources' names, ARNs and URLs in place of the deployed ones
 * ("Intrinsic function reference", AWS CloudFormation Template Reference,
 * https://docs.aws.amazon.com/AWSCloudFormation/latest/TemplateReference/intrinsic-function-reference.html).
 */
import type { AssemblyStack, CloudAssembly } from './cloud-assembly';
import { AssemblyError } from './cloud-assembly';

/** What a resource answers to `Ref` and `Fn::GetAtt` once it exists. */
export interface ResourceValues {
  readonly ref: string;
  readonly attributes: Readonly<Record<string, string>>;
}

export type ResourceLookup = (stack: AssemblyStack, logicalId: string) => ResourceValues | undefined;

/** The account id the local runtime gives every ARN (LocalStack's too). */
export const LOCAL_ACCOUNT_ID = '000000000000';

/** CloudFormation's `AWS::NoValue`: the property is removed. */
export const NO_VALUE: unique symbol = Symbol('AWS::NoValue');

/** The resource CDK's cross-region references read in the consuming stack, and the one that writes them. */
export const CROSS_REGION_READER = 'Custom::CrossRegionExportReader';
export const CROSS_REGION_WRITER = 'Custom::CrossRegionExportWriter';

export class IntrinsicResolver {
  private readonly exports = new Map<string, { stack: AssemblyStack; value: unknown }>();
  /**
   * CDK's cross-region references (`crossRegionReferences` on a stack): the producing stack's writer puts
   * each value in an SSM parameter of the consuming stack's region (`WriterProps.region`, `.exports`: name →
   * value), and the consumer's reader answers `Fn::GetAtt [reader, name]` with it (aws-cdk-lib
   * core/lib/custom-resource-provider/cross-region-export-providers;
   * https://docs.aws.amazon.com/cdk/api/v2/docs/aws-cdk-lib.StackProps.html#crossregionreferences). Keyed
   * by region and parameter name; the value resolves in the writer's stack.
   */
  private readonly crossRegion = new Map<string, { stack: AssemblyStack; value: unknown }>();

  constructor(
    assembly: CloudAssembly,
    private readonly lookup: ResourceLookup,
  ) {
    for (const stack of assembly.stacks) {
      for (const [outputId, output] of Object.entries(stack.template.Outputs ?? {})) {
        if (output.Export === undefined) continue;
        const name = this.resolve(stack, output.Export.Name, `${stack.name}.Outputs.${outputId}.Export.Name`);
        if (typeof name !== 'string')
          throw new AssemblyError(`${stack.name}: output ${outputId} exports a non-string name`);
        this.exports.set(name, { stack, value: output.Value });
      }
      for (const [logicalId, resource] of Object.entries(stack.template.Resources)) {
        if (resource.Type !== CROSS_REGION_WRITER) continue;
        const at = `${stack.name}.${logicalId}.WriterProps`;
        const writer = (resource.Properties as { WriterProps?: { region?: unknown; exports?: unknown } } | undefined)
          ?.WriterProps;
        if (typeof writer?.region !== 'string' || writer.exports === null || typeof writer.exports !== 'object') {
          throw new AssemblyError(`${at}: expected a region and the exports it writes`);
        }
        for (const [name, value] of Object.entries(writer.exports)) {
          this.crossRegion.set(`${writer.region} ${name}`, { stack, value });
        }
      }
    }
  }

  /** Resolves every intrinsic in `value`; `path` names where it is, for the error when one cannot be. */
  resolve(stack: AssemblyStack, value: unknown, path: string): unknown {
    if (Array.isArray(value)) {
      return value
        .map((item, index) => this.resolve(stack, item, `${path}[${index}]`))
        .filter((item) => item !== NO_VALUE);
    }
    if (value === null || typeof value !== 'object') return value;
    const entries = Object.entries(value);
    const [first] = entries;
    if (entries.length === 1 && first && (first[0] === 'Ref' || first[0].startsWith('Fn::'))) {
      return this.intrinsic(stack, first[0], first[1], path);
    }
    const resolved: Record<string, unknown> = {};
    for (const [key, item] of entries) {
      const result = this.resolve(stack, item, `${path}.${key}`);
      if (result !== NO_VALUE) resolved[key] = result;
    }
    return resolved;
  }

  /** Resolves to a string, or says where and why it cannot be. */
  resolveString(stack: AssemblyStack, value: unknown, path: string): string {
    const resolved = this.resolve(stack, value, path);
    if (typeof resolved === 'number' || typeof resolved === 'boolean') return String(resolved);
    if (typeof resolved !== 'string')
      throw new AssemblyError(`${path}: expected a string, got ${JSON.stringify(resolved)}`);
    return resolved;
  }

  private intrinsic(stack: AssemblyStack, name: string, argument: unknown, path: string): unknown {
    const at = `${path} (${name})`;
    switch (name) {
      case 'Ref':
        return this.ref(stack, String(argument), at);
      case 'Fn::GetAtt': {
        const [logicalId, attribute] = Array.isArray(argument) ? argument : String(argument).split(/\.(.+)/);
        return this.getAtt(stack, String(logicalId), String(attribute), at);
      }
      case 'Fn::ImportValue': {
        const exportName = this.resolveString(stack, argument, at);
        const exported = this.exports.get(exportName);
        if (!exported) throw new AssemblyError(`${at}: no stack of the assembly exports ${exportName}`);
        return this.resolve(exported.stack, exported.value, `${exported.stack.name} export ${exportName}`);
      }
      case 'Fn::Join': {
        const [separator, items] = this.args(stack, argument, 2, at);
        if (!Array.isArray(items)) throw new AssemblyError(`${at}: Fn::Join needs a list`);
        return items.map((item) => String(item)).join(String(separator));
      }
      case 'Fn::Select': {
        const [index, items] = this.args(stack, argument, 2, at);
        if (!Array.isArray(items) || items[Number(index)] === undefined) {
          throw new AssemblyError(`${at}: index ${String(index)} is outside the list`);
        }
        return items[Number(index)];
      }
      case 'Fn::Split': {
        const [separator, source] = this.args(stack, argument, 2, at);
        return String(source).split(String(separator));
      }
      case 'Fn::Sub':
        return this.sub(stack, argument, at);
      default:
        throw new AssemblyError(`${at}: the local runtime does not resolve ${name}`);
    }
  }

  private args(stack: AssemblyStack, argument: unknown, count: number, at: string): unknown[] {
    if (!Array.isArray(argument) || argument.length !== count)
      throw new AssemblyError(`${at}: expected ${count} arguments`);
    return argument.map((item, index) => this.resolve(stack, item, `${at}[${index}]`));
  }

  private sub(stack: AssemblyStack, argument: unknown, at: string): string {
    const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
    if (typeof text !== 'string') throw new AssemblyError(`${at}: Fn::Sub needs a string`);
    const given = (variables ?? {}) as Record<string, unknown>;
    return text.replace(/\$\{(!?)([^}]+)\}/g, (_, literal: string, name: string) => {
      if (literal) return `\${${name}}`;
      if (name in given) return this.resolveString(stack, given[name], `${at}.${name}`);
      const [logicalId, attribute] = name.split(/\.(.+)/);
      return attribute
        ? String(this.getAtt(stack, logicalId as string, attribute, at))
        : String(this.ref(stack, name, at));
    });
  }

  private ref(stack: AssemblyStack, name: string, at: string): unknown {
    switch (name) {
      case 'AWS::Region':
        return stack.region;
      case 'AWS::AccountId':
        return LOCAL_ACCOUNT_ID;
      case 'AWS::Partition':
        return 'aws';
      case 'AWS::URLSuffix':
        return 'amazonaws.com';
      case 'AWS::StackName':
        return stack.name;
      case 'AWS::NoValue':
        return NO_VALUE;
    }
    const parameter = (stack.template as { Parameters?: Record<string, { Default?: unknown }> }).Parameters?.[name];
    if (parameter) return parameter.Default;
    return this.valuesOf(stack, name, at).ref;
  }

  private getAtt(stack: AssemblyStack, logicalId: string, attribute: string, at: string): string {
    if (stack.template.Resources[logicalId]?.Type === CROSS_REGION_READER) {
      const written = this.crossRegion.get(`${stack.region} ${attribute}`);
      if (!written) {
        throw new AssemblyError(`${at}: no stack of the assembly writes ${attribute} for ${stack.region}`);
      }
      return this.resolveString(written.stack, written.value, `${written.stack.name} cross-region export ${attribute}`);
    }
    const value = this.valuesOf(stack, logicalId, at).attributes[attribute];
    if (value === undefined) {
      const type = stack.template.Resources[logicalId]?.Type;
      throw new AssemblyError(`${at}: the local ${type} ${logicalId} has no attribute ${attribute}`);
    }
    return value;
  }

  private valuesOf(stack: AssemblyStack, logicalId: string, at: string): ResourceValues {
    const resource = stack.template.Resources[logicalId];
    if (!resource) throw new AssemblyError(`${at}: ${stack.name} has no resource ${logicalId}`);
    const values = this.lookup(stack, logicalId);
    if (!values) {
      throw new AssemblyError(
        `${at}: refers to ${resource.Type} ${logicalId}, which the local runtime does not create`,
      );
    }
    return values;
  }
}
