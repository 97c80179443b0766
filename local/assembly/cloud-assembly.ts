/**
 * A synthesized cloud assembly (`cdk.out`), read as CloudFormation would get
 * it: each stack's template, its region, and the exports other stacks import.
 * Nothing here knows dropline's constructs; everything comes from the files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CloudFormation template, as far as the local runtime reads one. */
export interface Template {
  readonly Resources: Readonly<Record<string, TemplateResource>>;
  readonly Outputs?: Readonly<
    Record<string, { readonly Value: unknown; readonly Export?: { readonly Name: unknown } }>
  >;
  readonly Conditions?: Readonly<Record<string, unknown>>;
}

export interface TemplateResource {
  readonly Type: string;
  readonly Properties?: Readonly<Record<string, unknown>>;
  readonly Metadata?: Readonly<Record<string, unknown>>;
  readonly Condition?: string;
  readonly DependsOn?: string | readonly string[];
}

export interface AssemblyStack {
  /** The stack name CloudFormation gets (`Dropline-Stateless`). */
  readonly name: string;
  readonly region: string;
  readonly template: Template;
}

export interface CloudAssembly {
  readonly dir: string;
  /** In the order `cdk deploy --all` deploys them: each after the stacks it depends on. */
  readonly stacks: readonly AssemblyStack[];
}

export class AssemblyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AssemblyError';
  }
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly dependencies?: readonly string[];
  readonly displayName?: string;
  readonly properties?: { readonly templateFile?: string; readonly stackName?: string };
}

const STACK_ARTIFACT = 'aws:cloudformation:stack';

/** Reads `dir/manifest.json` and every stack template it lists; a missing or malformed file is an AssemblyError naming it. */
export function readCloudAssembly(dir: string): CloudAssembly {
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    throw new AssemblyError(
      `${dir} is not a cloud assembly: it has no manifest.json (synthesize one with npx cdk synth)`,
    );
  }
  const manifest = readJson(manifestPath) as { artifacts?: Record<string, ManifestArtifact> };
  const artifacts = Object.entries(manifest.artifacts ?? {}).filter(([, artifact]) => artifact.type === STACK_ARTIFACT);
  if (artifacts.length === 0) throw new AssemblyError(`${manifestPath} lists no CloudFormation stack`);

  const byId = new Map(artifacts);
  const ordered: string[] = [];
  const visit = (id: string, path: readonly string[]) => {
    if (ordered.includes(id)) return;
    if (path.includes(id))
      throw new AssemblyError(`stacks depend on each other in a cycle: ${[...path, id].join(' → ')}`);
    for (const dependency of byId.get(id)?.dependencies ?? []) {
      if (byId.has(dependency)) visit(dependency, [...path, id]);
    }
    ordered.push(id);
  };
  for (const [id] of artifacts) visit(id, []);

  const stacks = ordered.map((id) => {
    const artifact = byId.get(id) as ManifestArtifact;
    const templateFile = artifact.properties?.templateFile;
    if (!templateFile) throw new AssemblyError(`${manifestPath}: stack ${id} names no templateFile`);
    const template = readJson(join(dir, templateFile)) as Template;
    if (typeof template.Resources !== 'object' || template.Resources === null) {
      throw new AssemblyError(`${join(dir, templateFile)} has no Resources`);
    }
    return { name: artifact.properties?.stackName ?? id, region: regionOf(artifact, id), template };
  });
  return { dir, stacks };
}

/** `aws://account/region`; an environment-agnostic stack (`unknown-region`) runs in the local region. */
function regionOf(artifact: ManifestArtifact, id: string): string {
  const match = /^aws:\/\/[^/]+\/(.+)$/.exec(artifact.environment ?? '');
  if (!match) throw new AssemblyError(`stack ${id} has no environment in the manifest`);
  return match[1] === 'unknown-region' ? 'us-east-1' : (match[1] as string);
}

function readJson(path: string): unknown {
  if (!existsSync(path)) throw new AssemblyError(`${path} is missing from the assembly`);
  try {
    return JSON.parse(readFileSync(path, 'utf8'));
  } catch (error) {
    throw new AssemblyError(`${path} is not JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Every resource of the assembly with the stack it is in. */
export function resourcesOf(
  assembly: CloudAssembly,
): Array<{ stack: AssemblyStack; logicalId: string; resource: TemplateResource }> {
  return assembly.stacks.flatMap((stack) =>
    Object.entries(stack.template.Resources).map(([logicalId, resource]) => ({ stack, logicalId, resource })),
  );
}
